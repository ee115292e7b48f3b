"""Reading and writing images with Pillow (no TensorFlow needed).

Everything a user may hand us becomes `[H, W, 3]` float32 RGB in [0, 1]:
EXIF orientation is applied; grayscale, palette, CMYK and 16-bit images are
converted; transparency is composited on white. Unreadable input raises
`UserError` with one line naming the file.
"""

import os
import re
import struct
import warnings

import numpy as np
from PIL import Image
from PIL import ImageOps

from magenta_style.errors import UserError
from magenta_style.storage import atomic

# Decompression bombs. A 1 MB PNG can declare 20000 x 20000 pixels; decoding
# it takes 12 GB and stylizing it ~50 GB. The limit follows from what the
# tiled path (`stylization.tiling`) must hold for the whole image: full-size
# layer maps of 32 float32 channels plus the photo, its padded copy and the
# pastiche. Peak RSS of tiled stylizing, measured (docs/stylize.md, "Limits"):
# android-26 213-270 bytes per pixel, the full-width network (`varied`)
# 443-581, at 12.25 and 6.25 MP. We allow the memory available when the
# limit is read (free plus reclaimable, within any cgroup limit) at 450
# bytes per pixel; where that cannot be read, three quarters of the
# machine's memory. A photo scaled down on load (`max_size`)
# is only decoded at full size: about 40 bytes per pixel (Pillow's RGB, the
# float32 copy and the resize's per-channel planes).
BYTES_PER_PIXEL = 450
DECODE_BYTES_PER_PIXEL = 40
MEMORY_FRACTION = 0.75
MAX_PIXELS_ENV = "MAGENTA_STYLE_MAX_PIXELS"


def _physical_memory():
    """Bytes of RAM this process may use: the machine's, or its cgroup's limit."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not POSIX
        total = 16 << 30
    for limit_file in ("/sys/fs/cgroup/memory.max",
                       "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(limit_file) as f:
                limit = int(f.read().strip())
        except (OSError, ValueError):  # absent, or "max"
            continue
        total = min(total, limit)
    return total


def available_memory():
    """Bytes of memory this process may still take, or None if unknown.

    The smaller of the kernel's `MemAvailable` (free memory plus what can be
    reclaimed without swapping) and, inside a container, what its cgroup
    limit leaves.
    """
    candidates = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    if not candidates:
        try:
            candidates.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, AttributeError):
            pass
    for limit_file, usage_file in (
            ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
            ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
             "/sys/fs/cgroup/memory/memory.usage_in_bytes")):  # cgroup v1
        try:
            with open(limit_file) as f:
                limit = f.read().strip()
            with open(usage_file) as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        # "max" (v2) or a huge number (v1) means no limit.
        if limit.isdigit() and int(limit) < 1 << 60:
            candidates.append(max(0, int(limit) - usage))
        break
    return min(candidates) if candidates else None


def memory_budget():
    """Bytes an image may take: `available_memory()`, else `MEMORY_FRACTION` of the RAM."""
    available = available_memory()
    if available is None:
        return int(_physical_memory() * MEMORY_FRACTION)
    return available


def default_max_pixels(scaled=False):
    """The pixel limit of `load_image`: `$MAGENTA_STYLE_MAX_PIXELS`, else what fits.

    Args:
        scaled: the image is scaled down on load (`max_size`), so it is only
            decoded at full size, not stylized.

    Raises:
        UserError: the variable is set but is not a positive integer.
    """
    text = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if text:
        try:
            value = int(float(text))
        except ValueError:
            value = 0
        if value <= 0:
            raise UserError(f"{MAX_PIXELS_ENV} must be a positive number of pixels, "
                            f"such as 200000000. Received: {text!r}")
        return value
    per_pixel = DECODE_BYTES_PER_PIXEL if scaled else BYTES_PER_PIXEL
    return max(4_000_000, memory_budget() // per_pixel)


# Read at each `load_image` call, so a program may set it
# (`image_io.MAX_PIXELS = 400_000_000`); None re-reads the environment.
MAX_PIXELS = None


def max_pixels(scaled=False):
    """The pixel limit in force (`MAX_PIXELS`, else `default_max_pixels(scaled)`)."""
    return int(MAX_PIXELS) if MAX_PIXELS else default_max_pixels(scaled)


def _bomb_error(path, width, height, pixels, limit, scaled):
    size = f" ({width}x{height})" if width else ""
    if MAX_PIXELS or os.environ.get(MAX_PIXELS_ENV, "").strip():
        why = "as set"
    else:
        why = (f"about {DECODE_BYTES_PER_PIXEL if scaled else BYTES_PER_PIXEL} bytes each to "
               f"{'decode' if scaled else 'stylize'}, within the "
               f"{memory_budget() / 2**30:.1f} GB of memory available now")
    return UserError(
        f"{path} is {pixels / 1e6:,.1f} megapixels{size}, more than the limit of "
        f"{limit / 1e6:,.1f} megapixels ({limit:,} pixels: {why}). Scale it down, or raise the "
        f"limit with the environment variable {MAX_PIXELS_ENV}={max(pixels, limit + 1)} "
        f"(in Python: magenta_style.storage.image_io.MAX_PIXELS)."
    )


# What `load_image` (Pillow) reads: the photos `stylize` takes from a folder.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
# What both training input paths decode: TensorFlow's decode_image reads no
# TIFF, and the NumPy path must take the same files.
TRAINING_EXTENSIONS = tuple(e for e in IMAGE_EXTENSIONS if e not in (".tif", ".tiff"))

# Output extension -> the Pillow format `save_image` writes for it.
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP",
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
        scaled = bool(max_size)
        limit = max_pixels(scaled)
        if Image.MAX_IMAGE_PIXELS and Image.MAX_IMAGE_PIXELS < limit:
            # Pillow raises above twice its global limit in `open`, before our
            # check; never lower it (other Pillow users keep their setting).
            Image.MAX_IMAGE_PIXELS = limit
        try:
            with warnings.catch_warnings():
                # Pillow's own bomb check (its global limit) warns or raises
                # first for some sizes; ours below gives the clearer message.
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                # Corrupt metadata ("Corrupt EXIF data", "Tag data larger than
                # file"): Pillow skips it and warns on stderr; the pixels are fine.
                warnings.simplefilter("ignore", UserWarning)
                with Image.open(path) as img:
                    # Only the header is read so far: refuse before decoding.
                    width, height = img.size
                    if width * height > limit:
                        raise _bomb_error(path, width, height, width * height, limit, scaled)
                    img.load()
                    arr = _to_rgb(img)
        except Image.DecompressionBombError as e:
            found = re.search(r"\((\d+) pixels\)", str(e))
            pixels = int(found.group(1)) if found else limit + 1
            raise _bomb_error(path, 0, 0, pixels, limit, scaled) from None
        except (OSError, ValueError, SyntaxError, EOFError, struct.error) as e:
            if isinstance(e, UserError):
                raise
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
    fmt = FORMATS.get(ext)
    if fmt is None:
        raise UserError(
            f"Unknown image extension {ext!r} for {path}; use one of "
            f"{', '.join(sorted(FORMATS))}."
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
