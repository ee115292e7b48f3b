"""Photo in, pastiche out: `stylize`, the model cache and the compiled runner.

`stylize(image, model, which_styles)` is the one call most users need. Models
are loaded once per path and cached (Magenta rebuilt its graph on every run);
the network runs as a compiled `tf.function` whose shapes are dynamic, so
new image sizes do not retrace. Batches of files and contact sheets are
`batch_files`'. Images above `tile_threshold` pixels go
through `magenta_style.stylization.tiling`, which bounds memory and still uses the
whole image's normalisation statistics.
"""

import dataclasses
import numbers
import os
import threading
import typing

import numpy as np

from magenta_style import color
from magenta_style.errors import UserError
from magenta_style.storage import arbitrary_format
from magenta_style.storage import atomic
from magenta_style.storage import image_io
from magenta_style.storage import model_format
from magenta_style.stylization import arbitrary
from magenta_style.stylization import regions
from magenta_style.stylization import runner as runner_lib
from magenta_style.stylization import style_choice

# The network reflection-pads by 4 and downsamples by 4, so tiny inputs are
# padded up to this size first, then cropped back.
MIN_SIZE = 16


@dataclasses.dataclass(frozen=True)
class StylizeConfig:
    """Options of `stylize_files` and `bin/stylize` (flags are made from these)."""

    checkpoint: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Model: a shipped name (default varied), a model directory, "
                "or a Magenta TF1 .ckpt prefix/directory."})
    num_styles: typing.Optional[int] = dataclasses.field(default=None, metadata={
        "help": "Number of styles in --checkpoint; optional, checked when given."})
    alpha: typing.Optional[float] = dataclasses.field(default=None, metadata={
        "help": "Width multiplier of a Magenta .ckpt (Magenta's --alpha); only for a "
                "checkpoint whose widths cannot be read from it."})
    input_image: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Photo(s) to stylize: a file, a glob, a directory, or several "
                "of those separated by commas."})
    output_dir: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Folder for the pastiches (created if missing)."})
    output_basename: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Output name prefix (default: the input file's name). Files are "
                "{basename}_{style}.png as in Magenta."})
    style_image: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Any painting as the style (Ghiasi et al.'s arbitrary style; implies "
                "--checkpoint=arbitrary-v1). Outputs are named {basename}_{painting}.png."})
    style_images: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Several paintings (files, globs, folders, comma-separated): one output "
                "each, or one blend with --style_blend_weights."})
    style_blend_weights: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Blend --style_images with these weights (e.g. 0.7,0.3; >= 0, rescaled to "
                "sum 1): one output, {basename}_a_700_b_300.png."})
    which_styles: str = dataclasses.field(default="[0]", metadata={
        "help": "Styles: '[0,1,2]' = one image per style, '{0:0.5,3:0.5}' or "
                "'0:0.5,3:0.5' = one mixed image; indices or style names."})
    normalize_weights: bool = dataclasses.field(default=False, metadata={
        "help": "Rescale mixture weights to sum to 1 (Magenta uses them as given)."})
    max_size: int = dataclasses.field(default=0, metadata={
        "help": "Scale photos down so the longer side is at most this (0 = keep)."})
    preserve_colors: bool = dataclasses.field(default=False, metadata={
        "help": "Keep the photo's colours; take only luminance from the pastiche."})
    strength: float = dataclasses.field(default=1.0, metadata={
        "help": "Style strength in [0, 1]; 1 = full style. Trained styles blend pastiche "
                "and photo; style images blend the style vector with the photo's own."})
    tile_size: int = dataclasses.field(default=1024, metadata={
        "help": "Tile side in pixels for large images."})
    tile_threshold: int = dataclasses.field(default=4_000_000, metadata={
        "help": "Images with more pixels than this are stylized in tiles."})
    style_masks: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Styles in regions: mask images, one per entry of --which_styles "
                "(--which_styles=0,3 --style_masks=sky.png,city.png; gray = weight, "
                "soft edges mix, uncovered pixels keep the photo), or one colour-label "
                "image with --mask_palette."})
    mask_palette: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Colours of the regions in a --style_masks label image, one per "
                "--which_styles entry: '#87ceeb,#808080'."})
    region_statistics: str = dataclasses.field(default="per_style", metadata={
        "help": "With --style_masks: per_style = normalise each region with its own "
                "style's whole-image statistics (regions match their single-style "
                "pastiches away from seams; one extra pass per style), shared = "
                "the mixed image's statistics (one pass)."})
    jit_compile: bool = dataclasses.field(default=False, metadata={
        "help": "Compile the network with XLA (faster for repeated sizes; each "
                "new size compiles once)."})
    contact_sheet: bool = dataclasses.field(default=False, metadata={
        "help": "Also write one grid image: every style of the model on every photo."})
    contact_sheet_size: int = dataclasses.field(default=256, metadata={
        "help": "Longer side of each cell of the contact sheet, in pixels."})
    output_format: str = dataclasses.field(default="png", metadata={
        "help": "Output file format/extension: png, jpg or webp."})
    overwrite: bool = dataclasses.field(default=False, metadata={
        "help": "Replace existing output files (default: skip them)."})


# --------------------------------------------------------------------------
# Models: load once, reuse.

_MODEL_CACHE = {}
_CACHE_LOCK = threading.Lock()


def _fingerprint(path):
    """Cache key of a model path: its real path and its files' mtimes."""
    real = os.path.realpath(path)
    stamps = []
    for f in (os.path.join(real, model_format.WEIGHTS_FILE),
              os.path.join(real, model_format.CONFIG_FILE),
              os.path.join(real, arbitrary_format.PREDICTOR_WEIGHTS),
              os.path.join(real, arbitrary_format.TRANSFORMER_WEIGHTS),
              real + ".index", os.path.join(real, "checkpoint")):
        if os.path.exists(f):
            stamps.append(os.path.getmtime(f))
    return real, tuple(stamps)


def get_model(model=None, num_styles=None, alpha=None):
    """A loaded transformer, from the cache when it was loaded before.

    Args:
        model: a loaded `keras.Model` (returned as is), None (the default
            shipped model), a shipped name, a model directory, or a Magenta
            TF1 checkpoint prefix or directory.
        num_styles: optional int, checked against the model.
        alpha: optional width multiplier of a Magenta checkpoint
            (`storage.model_format.load_magenta_checkpoint`).

    Returns:
        The `keras.Model` (with `style_names` and `transformer_config`).
    """
    if model is not None and not isinstance(model, (str, os.PathLike)):
        model_format.check_num_styles(model, num_styles)
        return model
    path = model_format.DEFAULT_MODEL if model is None else os.fspath(model)
    if not os.path.exists(path) and not os.path.exists(path + ".index"):
        path = model_format.resolve_model_dir(path)  # shipped name (or a clear error)
    key = (_fingerprint(path), alpha)
    with _CACHE_LOCK:
        loaded = _MODEL_CACHE.get(key)
        if loaded is None:
            loaded = model_format.load_model(path, alpha=alpha)
            _MODEL_CACHE[key] = loaded
    model_format.check_num_styles(loaded, num_styles)
    return loaded


def clear_model_cache():
    """Forgets every cached model (they reload on next use)."""
    with _CACHE_LOCK:
        _MODEL_CACHE.clear()


# --------------------------------------------------------------------------
# Arrays.

def stylize_array(model, image, weights, *, tile_size=StylizeConfig.tile_size,
                  tile_threshold=StylizeConfig.tile_threshold,
                  jit_compile=StylizeConfig.jit_compile, batch_pixels=4_000_000,
                  region_weights=None, region_statistics=StylizeConfig.region_statistics):
    """Runs the network on one image for several style-weight rows.

    Args:
        model: a loaded transformer.
        image: `[H, W, 3]` float32 in [0, 1], any H, W >= 1.
        weights: `[K, num_styles]` float32 style-weight rows.
        tile_size, tile_threshold: images with more than `tile_threshold`
            pixels are processed in tiles of about `tile_size` pixels per side
            (see `magenta_style.stylization.tiling`).
        jit_compile: use XLA.
        batch_pixels: at most this many pixels per network call (rows are
            batched when the image is small).
        region_weights: optional `[H, W, K]` float32 per-pixel shares of the
            K rows of `weights` (`regions.Regions.weights`): then ONE
            pastiche with a style per pixel (`stylization.regions`).
        region_statistics: "per_style" or "shared", see `regions.forward`.

    Returns:
        `[K, H, W, 3]` float32 pastiches in [0, 1] (`[1, H, W, 3]` with
        `region_weights`).
    """
    image = np.asarray(image, np.float32)
    weights = np.asarray(weights, np.float32)
    h, w = image.shape[:2]
    # Tiny images: mirror-pad up to MIN_SIZE, crop back after.
    pad_h, pad_w = max(0, MIN_SIZE - h), max(0, MIN_SIZE - w)
    if pad_h or pad_w:
        image = np.pad(image, [[0, pad_h], [0, pad_w], [0, 0]], mode="symmetric")
        if region_weights is not None:
            region_weights = np.pad(region_weights, [[0, pad_h], [0, pad_w], [0, 0]],
                                    mode="symmetric")
    ph, pw = image.shape[:2]
    if region_weights is not None:
        out = regions.stylize_weights(model, image, region_weights, weights,
                                      tiled=ph * pw > tile_threshold, tile_size=tile_size,
                                      jit_compile=jit_compile,
                                      statistics=region_statistics)[None]
    elif ph * pw > tile_threshold:
        from magenta_style.stylization import tiling

        out = np.stack([tiling.stylize_tiled(model, image, row, tile_size=tile_size)
                        for row in weights])
    else:
        run = runner_lib.runner(model, jit_compile)
        per_call = max(1, batch_pixels // (ph * pw))
        chunks = []
        for start in range(0, len(weights), per_call):
            rows = weights[start:start + per_call]
            batch = np.broadcast_to(image[None], (len(rows),) + image.shape)
            chunks.append(np.asarray(run(batch, rows)))
        out = np.concatenate(chunks)
    return out[:, :h, :w, :]


def finish(pastiche, photo, preserve_colors, strength):
    """Colour preservation, then strength blending, then uint8."""
    if preserve_colors:
        pastiche = color.preserve_colors(pastiche, photo)
    if strength != 1.0:
        pastiche = color.blend(pastiche, photo, strength)
    return image_io.to_uint8(pastiche)


def check_options(strength, max_size):
    if not isinstance(strength, numbers.Real) or not 0.0 <= float(strength) <= 1.0:
        raise UserError(f"strength must be in [0, 1]. Received: strength={strength!r}")
    if max_size is not None and (isinstance(max_size, bool)
                                 or not isinstance(max_size, numbers.Real)
                                 or not float(max_size).is_integer() or max_size < 0):
        raise UserError(f"max_size must be a positive integer or 0. Received: {max_size!r}")


def as_list(image):
    """(list of images, was_list)."""
    if isinstance(image, (list, tuple)):
        return list(image), True
    if isinstance(image, np.ndarray) and image.ndim == 4:
        return list(image), True
    return [image], False


# Keyword defaults are read from StylizeConfig (the one place they live).
_CFG = StylizeConfig


def stylize(image, model=None, which_styles=0, *, style_image=None, style_blend_weights=None,
            style_vector=None, num_styles=None, max_size=None,
            preserve_colors=_CFG.preserve_colors, strength=_CFG.strength,
            normalize_weights=_CFG.normalize_weights, tile_size=_CFG.tile_size,
            tile_threshold=_CFG.tile_threshold, jit_compile=_CFG.jit_compile,
            output_dir=None, output_basename="stylized", output_format=_CFG.output_format,
            masks=None, mask_palette=None, region_statistics=_CFG.region_statistics):
    """Stylizes one image or a list of images, with a model's styles or any painting.

    Args:
        image: a path, a PIL image, an array (`[H, W]`, `[H, W, 1|3|4]` uint8,
            uint16, or float in [0, 1]), or a list of those (or a
            `[B, H, W, 3]` array).
        model: a loaded model (`model_format.load_model`), None for the default
            shipped model (android-26), a shipped name, a model directory, or
            a Magenta TF1 checkpoint. Paths load once and are cached.
        which_styles: which style(s) of a multi-style model: an index, a
            style name, a list (one output per style), a dict
            {index_or_name: weight} (one mixed output), a `[num_styles]`
            weight vector, or a string in Magenta's syntax (`"[0,1]"`,
            `"{0:0.5,3:0.5}"`, `"0:0.5,3:0.5"`); see
            `style_choice.parse_which_styles`.
        style_image: any painting as the style (Ghiasi et al.; implies
            `model="arbitrary-v1"` when `model` is None): a path, PIL image
            or array (one output), or a list of them (one output each, or one
            blend with `style_blend_weights`). See `stylization.arbitrary`.
        style_blend_weights: one weight >= 0 per painting of the list; the
            paintings' style vectors are mixed with these weights (rescaled
            to sum 1), one output.
        style_vector: instead of `style_image`, a `[100]` style vector
            (`magenta_style.style_vector`) or `[K, 100]` vectors.
        num_styles: optional int, checked against the model.
        max_size: scale the image down so its longer side is at most this.
        preserve_colors: keep the photo's colours (luminance transfer).
        strength: float in [0, 1], 1 = full style. Multi-style models blend
            the pastiche's pixels with the photo; arbitrary-style models
            blend the style vector with the photo's own (Magenta's identity
            interpolation).
        normalize_weights: rescale mixture weights to sum to 1.
        tile_size, tile_threshold: images above `tile_threshold` pixels run in
            tiles (bounded memory, whole-image statistics).
        jit_compile: compile with XLA.
        output_dir: when given, also writes `{output_basename}_{suffix}.png`
            per output (Magenta's naming; for a list input the basename is
            each file's name, or `{output_basename}{i}`; with style images the
            suffix names the painting(s): `starry_night`,
            `starry_night_700_udnie_300`). Existing files are replaced.
        output_basename, output_format: name prefix and extension there.
        masks: optional, one mask per entry of `which_styles` (a style or a
            mixture per region: `which_styles=[0, 3]`, `[{0: .5, 3: .5}, 7]`):
            arrays `[H, W]` in [0, 1] (uint8, bool) or image paths; soft
            edges mix the styles, and where the masks sum to less than 1 the
            photo shows through. With `mask_palette` (colours, one per
            region), one colour-label image. With an arbitrary-style model,
            one mask per painting of `style_image` (or row of
            `style_vector`), no blend. See `stylization.regions`.
        mask_palette: e.g. `["#87ceeb", "#808080"]` or `"#87ceeb,#808080"`.
        region_statistics: with masks, "per_style" (each pixel normalised with
            its style's own whole-image statistics: regions equal their
            single-style pastiches away from the seams; K+1 passes) or
            "shared" (one pass; see docs/stylize.md).

    Returns:
        uint8 `[H, W, 3]` arrays: one array for one image and one output; a
        list over the outputs for one image and several styles; a list over
        the images for a list input (each an array, or a list when several
        styles were asked for).

    Raises:
        UserError: unreadable image, bad which_styles, bad options; a style
            image for a multi-style model, none for an arbitrary-style one;
            a too small style image, a style vector of the wrong length, bad
            blend weights.
    """
    check_options(strength, max_size)
    if output_dir is not None:
        atomic.check_output_dir(output_dir)  # a file there: one line, before any work
    spec = style_spec(model, which_styles, num_styles, normalize_weights, style_image,
                      style_blend_weights, style_vector, masks=masks)
    images, was_list = as_list(image)
    results = []
    for i, item in enumerate(images):
        if masks is None:
            photo, region = image_io.load_image(item, max_size=max_size or None), None
        else:
            photo, region = regions.load_photo_and_masks(
                item, masks, spec.num_regions, max_size, mask_palette, spec.regions_of)
        pastiches = render(spec, photo, strength, region=region,
                           region_statistics=region_statistics, tile_size=tile_size,
                           tile_threshold=tile_threshold, jit_compile=jit_compile)
        outs = [finish(p, photo, preserve_colors, spec.pixel_strength(strength))
                for p in pastiches]
        if output_dir is not None:
            base = output_basename
            if was_list:  # the file's name, else a numbered name
                base = (os.path.splitext(os.path.basename(os.fspath(item)))[0]
                        if isinstance(item, (str, os.PathLike)) else f"{output_basename}{i}")
            for out, suffix in zip(outs, spec.suffixes):
                image_io.save_image(
                    out, os.path.join(output_dir, f"{base}_{suffix}.{output_format}"))
        results.append(outs if spec.several else outs[0])
    return results if was_list else results[0]


@dataclasses.dataclass(frozen=True)
class _Spec:
    """The model and one style row per output: style weights or style vectors."""

    model: object
    rows: np.ndarray
    suffixes: tuple
    arbitrary: bool
    several: bool
    num_regions: typing.Optional[int] = None  # styles in regions: one row per mask
    regions_of: str = "entries of which_styles"  # what the rows are, for mask messages

    def pixel_strength(self, strength):
        # Arbitrary style applies strength to the style vector, not the pixels.
        return 1.0 if self.arbitrary else strength


def style_spec(model, which_styles=0, num_styles=None, normalize_weights=False,
               style_image=None, style_blend_weights=None, style_vector=None, alpha=None,
               masks=None):
    """The loaded model and the style rows `stylize` / `stylize_files` render.

    A style image (or vector) selects the arbitrary-style path and its
    model (`arbitrary-v1` unless `model` names another); otherwise
    `which_styles` picks a multi-style model's styles. `alpha`: as in
    `get_model` (Magenta TF1 checkpoints). With `masks`, `which_styles`
    lists one style or mixture per region (`regions.parse_region_styles`)
    and the spec renders one output.
    """
    from magenta_style.storage import model_format

    given = style_image is not None or style_vector is not None
    if style_blend_weights is not None and style_image is None:
        raise UserError("style_blend_weights needs style images to blend (style_image=[...]).")
    if model is None and given:
        model = arbitrary.DEFAULT_MODEL
    requested = model
    model = get_model(model, num_styles, alpha)
    if model_format.is_arbitrary(model):
        if not (isinstance(which_styles, numbers.Integral) and which_styles == 0):
            raise UserError(f"{model.name} has no trained styles to pick with which_styles; "
                            "give style_image (any painting) instead.")
        choice = arbitrary.style_choice(model, style_image, style_blend_weights, style_vector)
        several = not choice.is_blend and (
            isinstance(style_image, (list, tuple))
            or (style_vector is not None and np.ndim(style_vector) == 2))
        if masks is not None:
            # One painting (or vector) per mask: its style vector is that
            # region's row, as a mixture row is for a multi-style model.
            if choice.is_blend:
                raise UserError("With style masks each painting styles its own region; drop "
                                "style_blend_weights (blend regions with soft masks instead).")
            return _Spec(model, choice.vectors, ("regions_" + "-".join(choice.suffixes),),
                         True, False, num_regions=len(choice.vectors),
                         regions_of="style images")
        return _Spec(model, choice.vectors, choice.suffixes, True, several)
    if given:
        _arbitrary_model(requested)  # raises: style images need an arbitrary-style model
    if masks is not None:
        spec = regions.parse_region_styles(which_styles, model.transformer_config.num_styles,
                                           model.style_names, normalize_weights)
        return _Spec(model, spec.weights, spec.suffixes, False, False,
                     num_regions=spec.num_regions)
    spec = style_choice.parse_which_styles(
        which_styles, model.transformer_config.num_styles, model.style_names, normalize_weights)
    several = not (spec.num_outputs == 1 and not _several(which_styles))
    return _Spec(model, spec.weights, spec.suffixes, False, several)


def render(spec, photo, strength, region=None, region_statistics=_CFG.region_statistics,
           **run_options):
    """`[K, H, W, 3]` float32 pastiches of `photo` for every row of `spec` (before `finish`).

    For an arbitrary-style model, `strength` interpolates the style vectors
    with the photo's own (`arbitrary.interpolate_with_photo`); otherwise it
    is applied to the pixels by `finish`. With `region`
    (`regions.Regions` of this photo), one `[1, H, W, 3]` pastiche with a
    style per region, the photo showing where the masks sum below 1.
    """
    if spec.arbitrary:
        vectors = arbitrary.interpolate_with_photo(spec.model, spec.rows, photo, strength)
        if region is None:
            return stylize_array(spec.model.transformer, photo, vectors, **run_options)
        out = stylize_array(spec.model.transformer, photo, vectors,
                            region_weights=region.weights,
                            region_statistics=region_statistics, **run_options)
        return region.show_photo(out, photo)
    if region is not None:
        out = stylize_array(spec.model, photo, spec.rows, region_weights=region.weights,
                            region_statistics=region_statistics, **run_options)
        return region.show_photo(out, photo)
    return stylize_array(spec.model, photo, spec.rows, **run_options)


def _arbitrary_model(model):
    """A loaded arbitrary-style model from anything `get_model` takes (None: arbitrary-v1)."""
    from magenta_style.storage import model_format

    loaded = get_model(arbitrary.DEFAULT_MODEL if model is None else model)
    if not model_format.is_arbitrary(loaded):
        name = model if isinstance(model, (str, os.PathLike)) else "This model"
        raise UserError(f"{name} is a multi-style model: it has trained styles only (pick them "
                        f"with which_styles). Style images need an arbitrary-style model such "
                        f"as {arbitrary.DEFAULT_MODEL!r}.")
    return loaded


def style_vectors(images, model=arbitrary.DEFAULT_MODEL):
    """The style vectors of several paintings (see `style_vector`).

    Returns:
        `[N, style_dim]` float32.
    """
    return arbitrary.predict(_arbitrary_model(model), list(images))


def style_vector(image, model=arbitrary.DEFAULT_MODEL):
    """The 100-d style vector of one painting (Ghiasi et al.'s style embedding).

    Args:
        image: a path, PIL image or array; prepared as Magenta does
            (`arbitrary.preprocess_style_image`: centre square crop, 256 px
            Lanczos).
        model: an arbitrary-style model or its name/path (default arbitrary-v1).

    Returns:
        `[style_dim]` float32 (`[100]` for arbitrary-v1), unbounded.

    Raises:
        UserError: unreadable or too small image; a multi-style model.
    """
    return style_vectors([image], model)[0]


def _several(which_styles):
    """True when the user asked for a list of styles (even of length one)."""
    if isinstance(which_styles, (list, tuple)):
        return True
    if isinstance(which_styles, np.ndarray):
        return which_styles.ndim == 2
    return isinstance(which_styles, str) and which_styles.strip().startswith("[")


# --------------------------------------------------------------------------
# Files: batches and contact sheets.
