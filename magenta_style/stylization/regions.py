"""Different styles (or mixtures) in different regions of one photo, from masks.

A style of the multi-style network is nothing but the instance norms'
gamma/beta, so it can vary across the image. With one mask `m_r(x, y)` and
one style-weight row `w_r` per region, every normalised layer uses

    gamma(x, y) = sum_r n_r(x, y) (w_r @ gamma_table),  beta likewise,

with each mask brought to the layer's resolution (the network's maps are
1, 1/2 and 1/4 of the padded photo; masks are averaged over 2x2 / 4x4
blocks, which is exact area resampling there). The instance-norm statistics
stay whole-image, in one of two ways (`STATISTICS`, see `forward`):
"per_style" (default) normalises each pixel with its own style's
whole-image statistics, those of that style's single-style pass, mixed
like gamma and beta, so a region beyond the network's reach from a seam IS
its single-style pastiche; "shared" normalises with the mixed map's own
statistics (one pass, but every region then changes everywhere, since the
other regions' styles shape those statistics). docs/stylize.md, "Styles in
regions", measures both.

Masks, and what shows where (a choice; the docs say why):
- `n_r = m_r / sum_s m_s` wherever the masks cover a pixel: the network sees
  a partition of unity (overlapping masks mix their styles in proportion),
  so a pixel one mask alone covers gets that style at full strength.
- The photo shows through where the masks sum to less than 1: the output
  is `c * pastiche + (1 - c) * photo` with coverage `c = min(1, sum_r m_r)`,
  so a soft edge that fades to 0 fades into the untouched photo (as
  `strength` does for the whole image), instead of fading the style's
  gamma towards 0, which washes the pastiche out to grey.
- Where no mask covers a pixel the network uses the regions' area-weighted
  mean style (the convolutions of covered neighbours read those pixels, so
  they need some style); the output there is the photo.

Masks are arrays `[H, W]` (float in [0, 1], uint8, uint16 or bool) or
image files (grayscale; an image with transparency gives its alpha), or one
colour-label image with a palette (one colour per region). A mask of
another size is resized to the photo (Lanczos), saying so.

The network runs block by block (`block_walk.walk`, the one place that order
lives): on the whole image through `map_runner` (compiled, the same layers
as `runner`), or above the tile threshold through `tiling.stylize_tiled`
with `RegionStyle` as its gamma/beta source. The single-style path
(`runner`) is untouched.
"""

import ast
import dataclasses
import logging
import os
import re
import weakref

import numpy as np
from PIL import Image

from magenta_style.errors import UserError
from magenta_style.storage import image_io
from magenta_style.stylization import block_walk
from magenta_style.stylization import style_choice
from magenta_style.stylization import tiling

_log = logging.getLogger("magenta_style.stylization")

# How far (max over R, G, B, in 0..255 levels) a label image's pixel may be
# from its palette colour and still count: tolerates JPEG-saved label maps.
PALETTE_TOLERANCE = 24
# How regions are normalised (`forward`); the first is the default.
STATISTICS = ("per_style", "shared")


@dataclasses.dataclass(frozen=True)
class RegionSpec:
    """Parsed `which_styles` of a masked stylization: one row per region.

    Attributes:
        weights: `[num_regions, num_styles]` float32, region r's style weights.
        suffixes: one output-name suffix (`regions_0-3`, or
            `regions_0_500_3_500-7` for `[{0: .5, 3: .5}, 7]`).
    """

    weights: np.ndarray
    suffixes: tuple

    @property
    def num_outputs(self):
        return 1

    @property
    def num_regions(self):
        return len(self.weights)


def parse_region_styles(which_styles, num_styles, style_names=None, normalize=False):
    """Parses `which_styles` of a masked stylization: a style or mixture per region.

    Args:
        which_styles: a list, one entry per region (= per mask), each an
            index, a style name or a mixture dict (`[0, 3]`,
            `[{0: 0.5, 3: 0.5}, 7]`, `["starry", "wave"]`); a single entry
            for one region; a `[K, num_styles]` float array; or a string of
            any of these (`"0,3"`, `"[{0:0.5,3:0.5},7]"`).
        num_styles: int, the model's number of styles.
        style_names: optional names (as `style_choice.parse_which_styles`).
        normalize: rescale each mixture's weights to sum to 1.

    Returns:
        A `RegionSpec`.

    Raises:
        UserError: as `style_choice.parse_which_styles`, per region.
    """
    value = which_styles
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            # Names without quotes ("starry,wave"): a plain list of styles.
            spec = style_choice.parse_which_styles(value, num_styles, style_names, normalize)
            if spec.is_mixture:  # "0:0.5,3:0.5" is one region
                return RegionSpec(spec.weights, (f"regions_{spec.suffixes[0]}",))
            return RegionSpec(spec.weights, ("regions_" + "-".join(spec.suffixes),))
    if isinstance(value, np.ndarray) and value.ndim == 2:
        spec = style_choice.parse_which_styles(value, num_styles, style_names, normalize)
        return RegionSpec(spec.weights, ("regions_" + "-".join(spec.suffixes),))
    if not isinstance(value, (list, tuple)):
        value = [value]
    if not value:
        raise UserError("which_styles names no style; give one style or mixture per mask, "
                        "e.g. [0, 3] or [{0: 0.5, 3: 0.5}, 7].")
    rows, suffixes = [], []
    for entry in value:
        if isinstance(entry, (list, tuple, set)):
            raise UserError(
                f"Each region takes one style or one mixture dict, not a list. Received: "
                f"{entry!r} in which_styles={which_styles!r}")
        spec = style_choice.parse_which_styles(entry, num_styles, style_names, normalize)
        rows.append(spec.weights[0])
        suffixes.append(spec.suffixes[0])
    return RegionSpec(np.stack(rows).astype(np.float32), ("regions_" + "-".join(suffixes),))


# --------------------------------------------------------------------------
# Masks.

def _mask_from_file(path):
    """A mask file -> `[H, W]` float32 in [0, 1]: its alpha if it has any, else its gray."""
    if not os.path.isfile(path):
        raise UserError(f"Style mask not found: {path}")
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode == "P" and "transparency" in img.info:
                img = img.convert("RGBA")
            if img.mode in ("RGBA", "LA", "PA"):
                alpha = np.asarray(img.getchannel("A"), np.float32) / 255.0
                if alpha.min() < 1.0:  # painted on a transparent layer
                    return alpha
            if img.mode.startswith("I;16"):
                return np.asarray(img, np.float32) / 65535.0
            return np.asarray(img.convert("L"), np.float32) / 255.0
    except (OSError, ValueError, SyntaxError) as e:
        raise UserError(f"Cannot read style mask {path}: {e}") from None


def _mask_from_array(array, name):
    """A mask array -> `[H, W]` float32 in [0, 1] (UserError quoting what is wrong)."""
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2 or 0 in arr.shape:
        raise UserError(f"{name} must be a 2-D array [H, W] (one value per pixel). "
                        f"Received: shape={arr.shape}")
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise UserError(f"{name} has dtype {arr.dtype}; use float in [0, 1], uint8 or bool.")
    arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise UserError(f"{name} holds NaN or infinite values.")
    if arr.min() < 0:
        raise UserError(f"{name} has negative values (min {arr.min():.3g}); masks are "
                        "weights in [0, 1].")
    if arr.max() > 1:
        raise UserError(f"{name} has values above 1 (max {arr.max():.3g}); masks are "
                        "weights in [0, 1] (divide 0..255 masks by 255 or pass uint8).")
    return arr


def parse_palette(palette):
    """Palette colours -> `[K, 3]` float32 in 0..255.

    Args:
        palette: a list of colours, or a comma-separated string of them; a
            colour is `#rrggbb`, `rrggbb` or an `(r, g, b)` triple of 0..255.
    """
    items = palette.split(",") if isinstance(palette, str) else list(palette)
    colours = []
    for item in items:
        if isinstance(item, str):
            text = item.strip().lstrip("#")
            if not re.fullmatch(r"[0-9a-fA-F]{6}", text):
                raise UserError(f"Bad palette colour {item!r}; use #rrggbb. "
                                f"Received: mask_palette={palette!r}")
            colours.append([int(text[i:i + 2], 16) for i in (0, 2, 4)])
        else:
            rgb = list(np.asarray(item).reshape(-1))
            if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
                raise UserError(f"Bad palette colour {item!r}; use #rrggbb or (r, g, b) in "
                                f"0..255. Received: mask_palette={palette!r}")
            colours.append(rgb)
    if not colours:
        raise UserError(f"The mask palette is empty. Received: mask_palette={palette!r}")
    return np.asarray(colours, np.float32)


def _masks_from_labels(labels, palette):
    """One colour-label image + palette -> `[H, W, K]` float32 masks (0 or 1)."""
    if isinstance(labels, (list, tuple)):
        if len(labels) != 1:
            raise UserError(f"With a mask palette, give ONE colour-label image, not "
                            f"{len(labels)} masks.")
        labels = labels[0]
    rgb = image_io.load_image(labels) * 255.0  # [H, W, 3]
    colours = parse_palette(palette)
    distance = np.abs(rgb[:, :, None, :] - colours[None, None]).max(-1)  # [H, W, K]
    masks = (distance <= PALETTE_TOLERANCE).astype(np.float32)
    # A pixel within the tolerance of two palette colours goes to the nearer.
    nearest = np.argmin(distance, -1)
    masks *= np.eye(len(colours), dtype=np.float32)[nearest]
    for i, m in enumerate(masks.transpose(2, 0, 1)):
        if not m.any():
            _log.warning("No pixel of the label image has palette colour %d (#%02x%02x%02x); "
                         "that region is empty.", i, *colours[i].astype(int))
    return masks


def _mask_list(masks):
    """The user's masks as a list (a comma-separated string of paths split)."""
    if isinstance(masks, (str, os.PathLike)):
        return [p.strip() for p in os.fspath(masks).split(",") if p.strip()]
    if isinstance(masks, np.ndarray) and masks.ndim == 2:
        return [masks]
    return list(masks)


def _check_statistics(statistics):
    if statistics not in STATISTICS:
        raise UserError(f"region_statistics must be one of {', '.join(STATISTICS)}. "
                        f"Received: {statistics!r}")


def check_masks(masks, num_regions, palette=None, statistics="per_style",
                styles="entries of which_styles"):
    """Raises `UserError` unless there is one mask (or palette colour) per region
    and `statistics` is one of `STATISTICS`.

    Cheap (reads no file): `stylize_files` calls it before its loop.
    `styles` names what the regions are in the message ("style images").
    """
    _check_statistics(statistics)
    if palette is not None:
        count, what = len(parse_palette(palette)), "palette colours"
    else:
        count, what = len(_mask_list(masks)), "style masks"
    if count != num_regions:
        raise UserError(f"Got {count} {what} for {num_regions} {styles}; give "
                        f"one per style (or mixture) listed, in the same order.")


def load_masks(masks, num_regions, image_size, output_size=None, palette=None,
               styles="entries of which_styles"):
    """Reads, checks and resizes the masks of a masked stylization.

    Args:
        masks: a list of `num_regions` masks, each a path or an array `[H, W]`
            (float in [0, 1], uint8, uint16 or bool), or a comma-separated
            string of paths; or, with `palette`, one colour-label image.
        num_regions: int, the number of regions (`RegionSpec.num_regions`).
        image_size: `(height, width)` of the photo as the user gave it; a
            mask of another size is resized, and a warning says so.
        output_size: `(height, width)` to return (the photo after
            `max_size`); default `image_size`.
        palette: optional colours, one per region (`parse_palette`).
        styles: what the regions are, for a count mismatch's message.

    Returns:
        `[H, W, num_regions]` float32 in [0, 1] at `output_size`.

    Raises:
        UserError: a missing or unreadable file, a bad array (negative, above
            1, NaN, not 2-D), a count that differs from the regions', or
            masks that cover no pixel.
    """
    check_masks(masks, num_regions, palette, styles=styles)
    output_size = tuple(output_size or image_size)
    if palette is not None:
        planes = list(_masks_from_labels(masks, palette).transpose(2, 0, 1))
        names = ["the label image"] * len(planes)
    else:
        planes, names = [], []
        for i, m in enumerate(_mask_list(masks)):
            if isinstance(m, (str, os.PathLike)):
                names.append(f"style mask {i} ({os.fspath(m)})")
                planes.append(_mask_from_file(os.fspath(m)))
            else:
                names.append(f"style mask {i}")
                planes.append(_mask_from_array(m, names[-1]))
    out, told = [], set()
    for plane, name in zip(planes, names):
        if plane.shape != tuple(image_size) and name not in told:
            told.add(name)  # the label image's planes: once
            _log.warning("%s is %dx%d, the photo %dx%d: resized it to the photo%s.",
                         name[0].upper() + name[1:], plane.shape[1], plane.shape[0],
                         image_size[1], image_size[0],
                         "" if _same_aspect(plane.shape, image_size)
                         else " (its aspect ratio differs, so it is stretched)")
        if plane.shape != output_size:
            plane = image_io.resize(plane[..., None], output_size[::-1])[..., 0]
        out.append(plane)
    stacked = np.stack(out, -1).astype(np.float32)
    if not stacked.any():
        raise UserError("The style masks cover no pixel (all zero): nothing to stylize.")
    return stacked


def _same_aspect(a, b):
    return abs(a[0] / a[1] - b[0] / b[1]) <= 0.01 * (b[0] / b[1])


@dataclasses.dataclass(frozen=True)
class Regions:
    """Masks ready for the network, and how much of the pastiche shows.

    Attributes:
        weights: `[H, W, K]` float32, each pixel's share of each region
            (sums to 1 at every pixel: `m_r / sum m` where covered, the
            regions' area shares elsewhere).
        coverage: `[H, W]` float32 in [0, 1], `min(1, sum_r m_r)`.
    """

    weights: np.ndarray
    coverage: np.ndarray

    @classmethod
    def from_masks(cls, masks):
        """From `[H, W, K]` masks in [0, 1] (`load_masks`)."""
        masks = np.asarray(masks, np.float32)
        total = masks.sum(-1, keepdims=True)
        area = masks.sum((0, 1))
        mean_style = area / area.sum()
        weights = np.where(total > 0, masks / np.maximum(total, 1e-12), mean_style)
        return cls(weights.astype(np.float32), np.minimum(total[..., 0], 1.0))

    def show_photo(self, pastiches, photo):
        """`coverage * pastiche + (1 - coverage) * photo` (`[..., H, W, 3]` float)."""
        c = self.coverage[..., None]
        return c * np.asarray(pastiches, np.float32) + (1.0 - c) * photo


def load_photo_and_masks(image, masks, num_regions, max_size=None, palette=None,
                         styles="entries of which_styles"):
    """The photo (`image_io.load_image`) and its `Regions`.

    The masks are checked against the photo's own size, then brought to its
    size after `max_size` (so masks drawn on the full photo need no notice).

    Returns:
        `(photo [H, W, 3] float32 in [0, 1], Regions)`.
    """
    photo = image_io.load_image(image)
    full_size = photo.shape[:2]
    if max_size:
        photo = image_io.resize_max(photo, max_size)
    stacked = load_masks(masks, num_regions, full_size, photo.shape[:2], palette, styles)
    return photo, Regions.from_masks(stacked)


# --------------------------------------------------------------------------
# The network with a style per pixel.

class RegionStyle:
    """A style per pixel as `tiling`'s gamma/beta source (see `tiling.UniformStyle`).

    Args:
        weights: `[Hp, Wp, K]` float32 region shares of the PADDED image
            (`tiling.pad_to_multiple`), summing to 1 per pixel for the
            styles to be at full strength.
        rows: `[K, num_styles]` float32, each region's style weights.
        statistics: None to normalise with the mixed map's own whole-image
            statistics ("shared"); or `{block name: (mean [K, C], variance
            [K, C])}`, each region's single-style pass's whole-image
            statistics, mixed per pixel like gamma and beta ("per_style").
    """

    def __init__(self, weights, rows, statistics=None):
        import tensorflow as tf

        self.weights = np.asarray(weights, np.float32)
        self.rows = tf.constant(np.asarray(rows, np.float32))
        self.statistics = statistics
        self._levels = {1: self.weights}

    def level(self, scale):
        """The shares averaged over `scale` x `scale` blocks: `[Hp/scale, Wp/scale, K]`."""
        if scale not in self._levels:
            h, w, k = self.weights.shape
            self._levels[scale] = self.weights.reshape(
                h // scale, scale, w // scale, scale, k).mean((1, 3))
        return self._levels[scale]

    def for_block(self, block, out_shape, mean, variance):
        shares = self.level(self.weights.shape[0] // out_shape[0])
        gamma, beta = (np.asarray(t) for t in block.table(self.rows))  # [K, C] each
        per_style = None if self.statistics is None else self.statistics[block.name]

        def params(r0, r1):
            part = shares[r0:r1]
            if per_style is None:
                return (part @ gamma)[None], (part @ beta)[None], mean, variance
            return ((part @ gamma)[None], (part @ beta)[None],
                    (part @ per_style[0])[None], (part @ per_style[1])[None])

        return params


class _RecordStatistics(tiling.UniformStyle):
    """`UniformStyle` that keeps each block's whole-image statistics (`[C]` each)."""

    def __init__(self, style_weights):
        super().__init__(style_weights)
        self.statistics = {}

    def for_block(self, block, out_shape, mean, variance):
        self.statistics[block.name] = (np.asarray(mean).reshape(-1),
                                       np.asarray(variance).reshape(-1))
        return super().for_block(block, out_shape, mean, variance)


def _tiled_statistics(model, image, rows, tile_size):
    """Per-style statistics for `RegionStyle`: one tiled single-style pass per row."""
    records = []
    for row in rows:
        record = _RecordStatistics(row)
        tiling.stylize_tiled(model, image, None, tile_size=tile_size, style=record)
        records.append(record.statistics)
    return {name: tuple(np.stack([r[name][i] for r in records]) for i in (0, 1))
            for name in records[0]}


def output_scales(blocks):
    """`{block name: how many input pixels per output pixel}` (1, 2 or 4)."""
    scales = {}

    def run(block, scale):
        scales[block.name] = scale * int(block.conv.strides[0]) // block.upsample
        return scales[block.name]

    block_walk.walk(blocks, 1, run, add=lambda x, h: x)
    return scales


def forward(model, images, weights, rows, statistics="per_style"):
    """The network with a style per pixel, on whole images (keras ops).

    Args:
        model: a `PasticheNetwork`, or an `ArbitraryTransformer` (then each
            row is a style vector; its contract blocks have no norm and
            run as they are).
        images: `[B, H, W, 3]` float32 in [0, 1].
        weights: `[B, H, W, K]` float32 per-pixel weights of K style rows
            (used as given: `Regions.weights` sum to 1; raw per-pixel style
            weights are `rows = eye(num_styles)`).
        rows: `[K, num_styles]` float32 (`[K, style_dim]` style vectors for
            an `ArbitraryTransformer`).
        statistics: "per_style": each pixel is normalised with the
            whole-image statistics of its style's own single-style pass,
            mixed by `weights` like gamma and beta (K more passes, run as one
            batch; a region beyond the network's reach from a seam equals its
            single-style pastiche). "shared": with the statistics of the
            mixed map itself (one pass; every region is normalised together
            with the others, which changes it everywhere; docs/stylize.md).

    Returns:
        `[B, H, W, 3]` float32 in [0, 1]. With `weights` all ones and one row
        `w`, the network's output for `w` (to float rounding).
    """
    from keras import ops

    if statistics not in STATISTICS:
        raise ValueError(f"statistics must be one of {STATISTICS}. "
                         f"Received: statistics={statistics!r}")
    blocks = model.blocks
    pad = model.get_layer("pad_to_multiple")
    scales = output_scales(blocks)
    images = pad(ops.cast(images, "float32"))
    shares = {1: pad(ops.cast(weights, "float32"))}
    per_style = {}

    def residual(x, h):
        return x + h

    if statistics == "per_style":
        # The K single-style passes as one batch, row-major: example k*B + b
        # is image b under row k. Their statistics, [K, B, C] per block.
        num_rows, batch = ops.shape(rows)[0], ops.shape(images)[0]
        row_of_example = ops.repeat(rows, batch, axis=0)

        def run_single(block, x):
            y = block.conv(x)
            if block.norm is None:  # no style there (see `run`)
                return block.activation(y)
            mean, variance = ops.moments(y, axes=[1, 2], keepdims=True)
            per_style[block.name] = [ops.reshape(t, (num_rows, batch, -1))
                                     for t in (mean, variance)]
            gamma, beta = block.table(row_of_example)
            y = block.norm.normalize(y, gamma, beta, mean, variance)
            return y if block.activation is None else block.activation(y)

        block_walk.walk(blocks, ops.tile(images, (num_rows, 1, 1, 1)), run_single, residual)

    def run(block, x):
        scale = scales[block.name]
        if scale not in shares:
            shares[scale] = ops.average_pool(shares[1], scale, scale, padding="valid")
        share = shares[scale]
        y = block.conv(x)
        if block.norm is None:
            # The arbitrary transformer's contract blocks: batch norm folded
            # into the conv's bias, no style, so nothing varies per pixel.
            return block.activation(y)
        if statistics == "per_style":
            mean, variance = (ops.einsum("bhwk,kbc->bhwc", share, t)
                              for t in per_style[block.name])
        else:
            mean, variance = ops.moments(y, axes=[1, 2], keepdims=True)
        gamma, beta = block.table(rows)  # [K, C]
        y = block.norm.normalize(y, ops.matmul(share, gamma), ops.matmul(share, beta),
                                 mean, variance)
        return y if block.activation is None else block.activation(y)

    out = block_walk.walk(blocks, images, run, residual)
    return out[:, :ops.shape(weights)[1], :ops.shape(weights)[2], :]


_RUNNERS = weakref.WeakKeyDictionary()


def map_runner(model, jit_compile=False, statistics="per_style"):
    """A compiled `forward` for `model`: `(images, weights, rows) -> pastiches`.

    Shapes as `forward`; under TensorFlow one trace serves every image size
    and region count (dynamic shapes), `jit_compile` uses XLA. Other
    backends run `forward` eagerly.
    """
    import keras

    per_model = _RUNNERS.setdefault(model, {})
    key = (jit_compile, statistics)
    fn = per_model.get(key)
    if fn is None:
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            # A row's width: num_styles, or an ArbitraryTransformer's style_dim.
            n = model.inputs[1].shape[-1]
            fn = tf.function(
                lambda x, m, r: forward(model, x, m, r, statistics),
                input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32),
                                 tf.TensorSpec([None, None, None, None], tf.float32),
                                 tf.TensorSpec([None, n], tf.float32)],
                jit_compile=jit_compile or None, reduce_retracing=True)
        else:
            def fn(x, m, r):
                return forward(model, x, m, r, statistics)
        per_model[key] = fn
    return fn


def stylize_weights(model, image, weights, rows, *, tiled, tile_size, jit_compile,
                    statistics="per_style"):
    """The raw pastiche of one image with per-pixel region weights.

    Args:
        image: `[H, W, 3]` float32 in [0, 1].
        weights: `[H, W, K]` float32 (`Regions.weights`).
        rows: `[K, num_styles]` float32 (style vectors `[K, style_dim]` for an
            `ArbitraryTransformer`).
        tiled: run through `tiling` (bounded memory) instead of `map_runner`.
        statistics: "per_style" or "shared" (`forward`).

    Returns:
        `[H, W, 3]` float32 in [0, 1] (the photo does not show through yet:
        `Regions.show_photo`).
    """
    _check_statistics(statistics)
    if tiled:
        stats = (_tiled_statistics(model, image, rows, tile_size)
                 if statistics == "per_style" else None)
        style = RegionStyle(tiling.pad_to_multiple(np.asarray(weights, np.float32)), rows, stats)
        return tiling.stylize_tiled(model, image, None, tile_size=tile_size, style=style)
    run = map_runner(model, jit_compile, statistics)
    return np.asarray(run(np.asarray(image, np.float32)[None],
                          np.asarray(weights, np.float32)[None],
                          np.asarray(rows, np.float32)))[0]
