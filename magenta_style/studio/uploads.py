"""Uploaded bytes -> an image, refusing what should not be decoded.

The checks run in order of cost: size of the bytes (before they are all
read, see `app`), the file's magic (Pillow's identification, not the
browser's Content-Type, which is only a claim), the pixel count declared in
the header (before any pixel is decompressed: a 50 KB PNG can declare
50,000 x 50,000 pixels, a "decompression bomb"), then decoding.
"""

import io
import re

import numpy as np
from PIL import Image

from magenta_style.errors import UserError
from magenta_style.storage import image_io

# What a browser may send us; Pillow reads more (EPS, PDF, ...) that we do not
# want to parse from the network.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF", "MPO")


class UploadError(UserError):
    """A refused upload; `status` is the HTTP status to answer with."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def too_large(num_bytes, max_bytes):
    """The error for an upload over the size limit (HTTP 413)."""
    return UploadError(
        f"The file is too large: {num_bytes / 1e6:.1f} MB, more than the studio's "
        f"limit of {max_bytes / 1e6:.0f} MB. Save it smaller, or restart the studio "
        "with a larger --max_upload_mb.", status=413)


def _pixels(count):
    """'50,013,184 pixels (50.0 MP)': exact, so two counts never print alike."""
    return f"{count:,} pixels ({count / 1e6:.1f} MP)"


def bomb_error(name, max_pixels, size=None, declared=None, memory=None):
    """The error for an image declaring more pixels than `max_pixels` (413).

    Args:
        size: `(width, height)` from the header, when Pillow gave it.
        declared: the pixel count when only that is known (Pillow's own
            bomb check refuses some files before their size is readable).
        memory: bytes of free memory, when they (not --max_megapixels) set
            `max_pixels`.
    """
    if size is not None:
        what = f"{size[0]} x {size[1]} = {_pixels(size[0] * size[1])}"
    elif declared is not None:
        what = _pixels(declared)
    else:
        what = "more pixels than Pillow will open"
    if memory is None:
        limit, fix = "", "restart the studio with a larger --max_megapixels"
    else:
        limit = f", what {memory / 1e9:.1f} GB of free memory can decode and stylize"
        fix = "free memory and restart the studio"
    return UploadError(
        f"Refused {name}: it declares {what}, more than the studio's limit of "
        f"{_pixels(max_pixels)}{limit}. A small file with that many pixels is a "
        f"decompression bomb; if this is a real photo, downscale it first or {fix}.",
        status=413)


def decode_image(data, max_pixels, name="the upload", memory=None):
    """Validates and decodes uploaded image bytes.

    Args:
        data: bytes of an image file.
        max_pixels: int; images declaring more pixels are refused unread.
        name: how to call the file in messages.
        memory: bytes of free memory, when they set `max_pixels` (said in
            the bomb message).

    Returns:
        `[H, W, 3]` float32 RGB in [0, 1] (as `image_io.load_image` gives for
        the same file: EXIF rotation, alpha on white, 16-bit kept).

    Raises:
        UploadError: empty, not an image, an unsupported format, too many
            pixels (status 413), or corrupt.
    """
    if not data:
        raise UploadError(f"{name} is empty: choose a photo file.")
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as e:
        # Pillow refuses before we see the size; its message holds the count.
        found = re.search(r"\((\d+) pixels\)", str(e))
        raise bomb_error(name, max_pixels, declared=int(found.group(1)) if found else None,
                         memory=memory) from None
    except (OSError, ValueError, SyntaxError):
        raise UploadError(
            f"{name} is not an image (JPEG, PNG, WebP, BMP, GIF or TIFF). "
            f"Received: {len(data)} bytes starting with {bytes(data[:12])!r}",
            status=415) from None
    if img.width * img.height > max_pixels:
        img.close()
        raise bomb_error(name, max_pixels, size=img.size, memory=memory)
    with img:
        if img.format not in ALLOWED_FORMATS:
            raise UploadError(
                f"{name} is a {img.format} file; the studio takes JPEG, PNG, WebP, BMP, "
                "GIF or TIFF.", status=415)
        try:
            img.load()
            return image_io.load_image(img)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            raise UploadError(f"{name} is truncated or corrupt: {e}") from None


def decode_masks(data, width, height, max_regions, name="the painted mask"):
    """The page's painted regions: a PNG of K masks stacked vertically.

    Args:
        data: PNG bytes, `width` x `K * height` pixels, region k in rows
            `k * height .. (k + 1) * height`; the gray level is the region's
            weight (white = 1), and transparent pixels count as 0.
        width, height: the photo's working size.
        max_regions: the most regions accepted.

    Returns:
        `[height, width, K]` float32 in [0, 1].

    Raises:
        UploadError: not a PNG (415), or not of that size (400; checked from
            the header, before any pixel is decompressed).
    """
    if not data:
        raise UploadError(f"{name} is empty.")
    try:
        img = Image.open(io.BytesIO(data))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise UploadError(f"{name} is not a PNG image. Received: {len(data)} bytes starting "
                          f"with {bytes(data[:12])!r}", status=415) from None
    with img:
        if img.format != "PNG":
            raise UploadError(f"{name} must be a PNG. Received: a {img.format} file.",
                              status=415)
        count = img.height // height
        if img.width != width or img.height % height or not 1 <= count <= max_regions:
            raise UploadError(
                f"{name} is {img.width}x{img.height} pixels; it must be {width} wide and "
                f"{height} high per region (1 to {max_regions} regions stacked "
                "vertically), the size of the photo's preview.")
        try:
            img.load()
            gray_alpha = np.asarray(img.convert("LA"), np.float32) / 255.0
        except (OSError, ValueError, SyntaxError) as e:
            raise UploadError(f"{name} is truncated or corrupt: {e}") from None
    masks = gray_alpha[..., 0] * gray_alpha[..., 1]
    return np.ascontiguousarray(masks.reshape(count, height, width).transpose(1, 2, 0))
