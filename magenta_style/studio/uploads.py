"""Uploaded bytes -> an image, refusing what should not be decoded.

The checks run in order of cost: size of the bytes (before they are all
read, see `app`), the file's magic (Pillow's identification, not the
browser's Content-Type, which is only a claim), the pixel count declared in
the header (before any pixel is decompressed: a 50 KB PNG can declare
50,000 x 50,000 pixels, a "decompression bomb"), then decoding.
"""

import io

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


def decode_image(data, max_pixels, name="the upload"):
    """Validates and decodes uploaded image bytes.

    Args:
        data: bytes of an image file.
        max_pixels: int; images declaring more pixels are refused unread.
        name: how to call the file in messages.

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
    except Image.DecompressionBombError:
        img = None
    except (OSError, ValueError, SyntaxError):
        raise UploadError(
            f"{name} is not an image (JPEG, PNG, WebP, BMP, GIF or TIFF). "
            f"Received: {len(data)} bytes starting with {bytes(data[:12])!r}",
            status=415) from None
    if img is None or img.width * img.height > max_pixels:
        size = "" if img is None else f"{img.width} x {img.height} = "
        pixels = "" if img is None else f"{img.width * img.height / 1e6:.0f} "
        raise UploadError(
            f"Refused {name}: it declares {size}{pixels}megapixels, more than the "
            f"studio's limit of {max_pixels / 1e6:.0f} MP. A small file with that many "
            "pixels is a decompression bomb; if this is a real photo, downscale it "
            "first or restart the studio with a larger --max_megapixels.", status=413)
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
