"""Reading and writing images with Pillow (no TensorFlow needed).

Everything a user may hand us becomes `[H, W, 3]` float32 RGB in [0, 1]:
EXIF orientation is applied; grayscale, palette, CMYK and 16-bit images are
converted; transparency is composited on white. Unreadable input raises
`UserError` with one line naming the file.
"""

import os

import numpy as np
from PIL import Image
from PIL import ImageOps

from magenta_style.errors import UserError
from magenta_style.storage import atomic

# Pillow refuses images above ~179 MP as decompression bombs; we accept
# large photos (a 24 MP photo is routine) but keep a bound.
MAX_PIXELS = 300_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

# What `load_image` (Pillow) reads: the photos `stylize` takes from a folder.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
# What both training input paths decode: TensorFlow's decode_image reads no
# TIFF, and the NumPy path must take the same files.
TRAINING_EXTENSIONS = tuple(e for e in IMAGE_EXTENSIONS if e not in (".tif", ".tiff"))

_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP",
            ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}


def _to_rgb(img):
    """A PIL image of any mode -> float32 RGB array in [0, 1]."""
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit (or 32-bit int) grayscale: keep the precision.
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr = np.clip(arr / top, 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=-1)
    if img.mode == "F":
        arr = np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=-1)
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "RGBa"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    img = img.convert("RGB")  # L, 1, CMYK, YCbCr, RGBA-composited ...
    return np.asarray(img, dtype=np.float32) / 255.0


def load_image(image, max_size=None):
    """Loads an image as `[H, W, 3]` float32 RGB in [0, 1].

    Args:
        image: a path, a PIL image, or an array `[H, W]`, `[H, W, 1|3|4]`
            (uint8 in [0, 255], uint16 in [0, 65535], or float in [0, 1]).
        max_size: optional int; the longer side is scaled down to it
            (Lanczos), never up.

    Raises:
        UserError: missing, unreadable or truncated file; bad array.
    """
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        if not os.path.isfile(path):
            raise UserError(f"Image not found: {path}")
        try:
            with Image.open(path) as img:
                img.load()
                arr = _to_rgb(img)
        except Image.DecompressionBombError:
            raise UserError(
                f"{path} has more than {MAX_PIXELS:,} pixels; refusing it."
            ) from None
        except (OSError, ValueError, SyntaxError) as e:
            raise UserError(f"Cannot read image {path}: {e}") from None
    elif isinstance(image, Image.Image):
        arr = _to_rgb(image)
    else:
        arr = array_to_float(image)
    if max_size:
        arr = resize_max(arr, max_size)
    return arr


def array_to_float(array):
    """An image array of any common dtype/channels -> float32 RGB in [0, 1]."""
    arr = np.asarray(array)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[-1] not in (1, 3, 4):
        raise UserError(
            "An image array must be [H, W], [H, W, 1], [H, W, 3] or [H, W, 4]. "
            f"Received: shape={arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise UserError(f"The image array is empty. Received: shape={arr.shape}")
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        arr = arr.astype(np.float32) / 65535.0
    elif np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
        if not np.all(np.isfinite(arr)):
            raise UserError("The image array holds NaN or infinite values.")
        if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
            raise UserError(
                "A float image array must hold values in [0, 1]. "
                f"Received: min={arr.min():.3g}, max={arr.max():.3g}"
            )
    else:
        raise UserError(
            f"Unsupported image dtype {arr.dtype}; use uint8, uint16 or float."
        )
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif arr.shape[-1] == 4:
        alpha = arr[..., 3:4]
        arr = arr[..., :3] * alpha + (1.0 - alpha)  # composite on white
    return arr


def resize_max(arr, max_size):
    """Scales `[H, W, 3]` float so its longer side is at most `max_size`."""
    h, w = arr.shape[:2]
    scale = max_size / max(h, w)
    if scale >= 1.0:
        return arr
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return resize(arr, size)


def resize(arr, size):
    """Resizes `[H, W, 3]` float in [0, 1] to `size` = (width, height), Lanczos."""
    channels = [Image.fromarray(arr[..., c].astype(np.float32), mode="F")
                .resize(size, Image.LANCZOS) for c in range(arr.shape[-1])]
    out = np.stack([np.asarray(c) for c in channels], axis=-1)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def to_uint8(arr):
    """float in [0, 1] -> uint8 in [0, 255] (rounded)."""
    return np.clip(np.round(np.asarray(arr) * 255.0), 0, 255).astype(np.uint8)


def check_extension(path):
    """The Pillow format `save_image` writes for `path`'s extension.

    Scripts call it before long work, so a bad output name fails at once.

    Raises:
        UserError: an extension `save_image` cannot write.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    fmt = _FORMATS.get(ext)
    if fmt is None:
        raise UserError(
            f"Unknown image extension {ext!r} for {path}; use one of "
            f"{', '.join(sorted(_FORMATS))}."
        )
    return fmt


def save_image(arr, path, quality=95):
    """Writes `[H, W, 3]` (uint8, or float in [0, 1]) to `path` atomically.

    The format follows the extension (a `.png` really is PNG). Writes a temp
    file beside `path` and renames it, so no half-written file is left.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    fmt = check_extension(path)
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        arr = to_uint8(arr)
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    return atomic.write_file(
        path, lambda tmp: Image.fromarray(arr).save(tmp, format=fmt, **options), suffix=ext)
