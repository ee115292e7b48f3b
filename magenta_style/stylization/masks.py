"""Style masks: files, arrays and colour-label images -> per-pixel region shares.

One mask `m_r(x, y)` per region (a style, a mixture or a painting), read
and checked here with NumPy and PIL only; `Regions` is what the network's
per-pixel conditioning reads (`stylization.regions`).

What shows where (a choice; docs/stylize.md says why):
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
"""

import dataclasses
import logging
import os
import re

import numpy as np
from PIL import Image

from magenta_style.errors import UserError
from magenta_style.storage import image_io

_log = logging.getLogger("magenta_style.stylization")

# How far (max over R, G, B, in 0..255 levels) a label image's pixel may be
# from its palette colour and still count: tolerates JPEG-saved label maps.
PALETTE_TOLERANCE = 24


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


def check_masks(masks, num_regions, palette=None, styles="entries of which_styles"):
    """Raises `UserError` unless there is one mask (or palette colour) per region.

    Cheap (reads no file): `stylize_files` calls it before its loop.
    `styles` names what the regions are in the message ("style images").
    """
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
        num_regions: int, the number of regions (`Conditioning.num_regions`).
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
