"""The studio without HTTP: one loaded model, the uploaded photos, renders.

Every picture the page shows comes from `magenta_style.stylize` with the
page's weight vector, so the page, the Python API and `bin/stylize` agree:

- a preview equals `stylize(photo, model, weights, max_size=working_size, ...)`;
- a download equals `stylize(photo, model, weights, ...)` at full size, i.e.
  the command the page's "copy command" button gives.

Nothing is written to disk: photos live in memory (their uploaded bytes
plus the small working copy), at most `max_photos` of them.
"""

import collections
import contextlib
import dataclasses
import importlib
import io
import threading
import uuid

import numpy as np
from PIL import Image

from magenta_style.errors import UserError
from magenta_style.storage import image_io
from magenta_style.studio import style_map
from magenta_style.studio import thumbnails
from magenta_style.studio import uploads
from magenta_style.studio.config import StudioConfig
from magenta_style.stylization import style_choice

# At most this many uploads are decoded at once (each decode holds the whole
# image in float32); further requests wait for a slot.
DECODE_SLOTS = 2
# Peak memory per pixel, measured with /proc/self/status VmHWM on android-26
# (/tmp script: JPEG bytes -> uploads.decode_image -> stylize): decoding to
# float32 RGB took 36 bytes per pixel (16 MP). Stylizing at full size (a
# download) took 491 and 528 bytes per pixel in one piece (2.0 and 4.0 MP),
# and 290, 238, 206 in tiles (7.8, 16, 31 MP: above the tile threshold).
DECODE_BYTES_PER_PIXEL = 36
UNTILED_BYTES_PER_PIXEL = 530
TILED_BYTES_PER_PIXEL = 240  # for the pixels past the tile threshold
# Of the memory free when the studio starts, what its images may take: the
# rest is left to the model, the page and the other programs.
MEMORY_FRACTION = 0.5

# By its full name: `from magenta_style import stylize` can give the function
# (the package's lazy export) where the module's helpers are needed.
stylize_lib = importlib.import_module("magenta_style.stylization.api")


def image_memory(pixels):
    """Bytes the studio's images may take at once, for uploads of `pixels`.

    `DECODE_SLOTS` decodes and one full-size render (itself a decode, which
    holds one of the slots) at the measured peaks above; below
    `StylizeConfig.tile_threshold` the render runs in one piece, above it in
    tiles.
    """
    threshold = stylize_lib.StylizeConfig.tile_threshold
    return (DECODE_SLOTS * DECODE_BYTES_PER_PIXEL * pixels
            + UNTILED_BYTES_PER_PIXEL * min(pixels, threshold)
            + TILED_BYTES_PER_PIXEL * max(0, pixels - threshold))


def pixel_limit(max_megapixels, available=None):
    """The most pixels an upload may have: `--max_megapixels`, or less if
    memory is short.

    Args:
        max_megapixels: the configured limit.
        available: free bytes (default: `uploads.available_memory()` now).

    Returns:
        `(max_pixels, memory)`: `memory` is the free bytes when they set the
        limit (`image_memory(max_pixels)` fits in `MEMORY_FRACTION` of
        them), else None.
    """
    configured = int(max_megapixels * 1e6)
    available = uploads.available_memory() if available is None else available
    budget = None if available is None else MEMORY_FRACTION * available
    if budget is None or image_memory(configured) <= budget:
        return configured, None
    # image_memory is piecewise linear and increasing: solve on each piece.
    threshold = stylize_lib.StylizeConfig.tile_threshold
    slope = DECODE_SLOTS * DECODE_BYTES_PER_PIXEL + UNTILED_BYTES_PER_PIXEL
    if budget <= image_memory(threshold):
        pixels = budget / slope
    else:
        pixels = threshold + (budget - image_memory(threshold)) / (
            DECODE_SLOTS * DECODE_BYTES_PER_PIXEL + TILED_BYTES_PER_PIXEL)
    return max(int(pixels), 1), available


class UnknownPhoto(UserError):
    """A photo id the studio does not hold (any more): HTTP 404."""

    status = 404


@dataclasses.dataclass(frozen=True)
class RenderOptions:
    """One mixture as the page sets it.

    Attributes:
        weights: `[num_styles]` float64 slider values, >= 0, not all zero.
        normalize: rescale the weights to sum to 1 (`--normalize_weights`).
        preserve_colors: keep the photo's colours (`--preserve_colors`).
        strength: float in [0, 1] (`--strength`).
    """

    weights: np.ndarray
    normalize: bool = False
    preserve_colors: bool = False
    strength: float = 1.0

    def stylize_kwargs(self):
        return {"which_styles": self.weights, "normalize_weights": self.normalize,
                "preserve_colors": self.preserve_colors, "strength": self.strength}


def _as_bool(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def parse_options(params, num_styles):
    """`RenderOptions` from JSON or query parameters.

    Args:
        params: mapping with `weights` (list of numbers, or a comma-separated
            string), and optional `normalize`, `preserve_colors` (bools or
            "0"/"1"), `strength` (number or string).
        num_styles: the model's number of styles.

    Raises:
        UserError: missing or malformed values (ranges are checked by
            `stylize` itself).
    """
    raw = params.get("weights")
    if isinstance(raw, str):
        raw = [w for w in raw.split(",") if w.strip()]
    try:
        weights = np.asarray(raw, np.float64)
    except (TypeError, ValueError):
        raise UserError(f"weights must be a list of numbers. Received: {raw!r}") from None
    if weights.ndim != 1 or weights.shape[0] != num_styles:
        raise UserError(
            f"weights must hold one number per style ({num_styles}). Received: {raw!r}")
    try:
        strength = float(params.get("strength", 1.0))
    except (TypeError, ValueError):
        raise UserError(
            f"strength must be a number in [0, 1]. Received: {params.get('strength')!r}"
        ) from None
    return RenderOptions(weights=weights,
                         normalize=_as_bool(params.get("normalize", False)),
                         preserve_colors=_as_bool(params.get("preserve_colors", False)),
                         strength=strength)


@dataclasses.dataclass
class Photo:
    """An uploaded photo: its file bytes and the working copy."""

    id: str
    name: str
    data: bytes
    width: int
    height: int
    working: np.ndarray  # [h, w, 3] float32 in [0, 1]

    def info(self):
        return {"id": self.id, "name": self.name, "width": self.width,
                "height": self.height, "working_width": self.working.shape[1],
                "working_height": self.working.shape[0]}


def encode(image, fmt="PNG"):
    """uint8 `[H, W, 3]` -> PNG (lossless, fast setting) or JPEG bytes."""
    buf = io.BytesIO()
    options = {"compress_level": 1} if fmt == "PNG" else {"quality": 90}
    Image.fromarray(image).save(buf, format=fmt, **options)
    return buf.getvalue()


class Studio:
    """The loaded model and the photos of one studio server.

    Thread-safe: renders take a lock (a 2-core CPU gains nothing from running
    two networks at once; it would only make both late).
    """

    def __init__(self, config=None, model=None):
        self.config = config or StudioConfig()
        self.model = stylize_lib.get_model(
            self.config.checkpoint if model is None else model, self.config.num_styles)
        self.num_styles = self.model.transformer_config.num_styles
        self.style_names = list(self.model.style_names)
        self._photos = collections.OrderedDict()
        self._photos_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._decode_slots = threading.BoundedSemaphore(DECODE_SLOTS)
        self.max_pixels, self._limited_by_memory = pixel_limit(self.config.max_megapixels)
        self._thumbnails = None
        self._style_map = None

    # -- model facts -------------------------------------------------------

    def info(self):
        """What the page needs to build itself (JSON-ready)."""
        cfg = self.config
        return {
            "checkpoint": cfg.checkpoint or "android-26",
            "num_styles": self.num_styles,
            "style_names": self.style_names,
            "working_size": cfg.working_size,
            "webcam_size": cfg.webcam_size,
            "max_upload_mb": cfg.max_upload_mb,
            "max_megapixels": self.max_pixels / 1e6,
        }

    def thumbnails(self):
        """`(picture_png, [style_png, ...])`, rendered once then cached."""
        if self._thumbnails is None:
            with self._run_lock:
                picture, thumbs = thumbnails.render_thumbnails(
                    self.model, self.config.thumbnail_size)
            self._thumbnails = (encode(picture), [encode(t) for t in thumbs])
        return self._thumbnails

    def style_map(self):
        """PCA coordinates and pairwise distances (`style_map.style_map`)."""
        if self._style_map is None:
            self._style_map = style_map.style_map(self.model)
            self._style_map["names"] = self.style_names
        return self._style_map

    # -- photos ------------------------------------------------------------

    def _decode(self, data, name, max_size=None):
        """`uploads.decode_image` in one of `DECODE_SLOTS` slots (bounded memory).

        Returns:
            `(image, (width, height))`: float32 `[h, w, 3]` in [0, 1], scaled
            down to `max_size` if given (as `stylize(..., max_size=...)`
            does) while the slot is held, so only the small copy outlives
            it; and the full size.
        """
        with self._decode_slots:
            image = uploads.decode_image(data, self.max_pixels, name=name,
                                         memory=self._limited_by_memory)
            size = (image.shape[1], image.shape[0])
            if max_size:
                image = image_io.resize_max(image, max_size)
            return image, size

    def add_photo(self, data, name="photo"):
        """Validates and keeps an uploaded photo.

        Args:
            data: the file's bytes.
            name: the file name the user chose (shown, and used in commands).

        Returns:
            The `Photo`.

        Raises:
            uploads.UploadError: see `uploads.decode_image`.
        """
        working, (width, height) = self._decode(data, repr(name),
                                                max_size=self.config.working_size)
        photo = Photo(uuid.uuid4().hex, name, bytes(data), width, height, working)
        with self._photos_lock:
            self._photos[photo.id] = photo
            while len(self._photos) > self.config.max_photos:
                self._photos.popitem(last=False)
        return photo

    def photo(self, photo_id):
        with self._photos_lock:
            photo = self._photos.get(photo_id)
        if photo is None:
            raise UnknownPhoto(
                f"Unknown photo {photo_id!r}: the studio keeps the last "
                f"{self.config.max_photos} uploads; upload it again.")
        return photo

    # -- renders -----------------------------------------------------------

    def _stylize(self, image, options, locked=False):
        """`stylize` under the render lock (`locked`: the caller holds it)."""
        with contextlib.nullcontext() if locked else self._run_lock:
            return stylize_lib.stylize(image, model=self.model,
                                       jit_compile=self.config.jit_compile,
                                       **options.stylize_kwargs())

    def render(self, photo_id, options):
        """The preview: uint8 `[h, w, 3]` at the working size."""
        return self._stylize(self.photo(photo_id).working, options)

    def render_full(self, photo_id, options):
        """The full-resolution result and its file name.

        Returns:
            `(uint8 [H, W, 3], name)` with Magenta's naming,
            `{basename}_{suffix}.png`.
        """
        photo = self.photo(photo_id)
        # Decoded under the render lock: downloads waiting for it hold only
        # bytes, so at most one full-size image is in memory at a time.
        with self._run_lock:
            image, _ = self._decode(photo.data, repr(photo.name))
            out = self._stylize(image, options, locked=True)
        del image
        spec = style_choice.parse_which_styles(options.weights, self.num_styles,
                                              self.style_names, options.normalize)
        base = photo.name.rsplit(".", 1)[0] or "photo"
        base = "".join(c if c.isalnum() or c in "-_" else "_" for c in base)[:80]
        return out, f"{base}_{spec.suffixes[0]}.png"

    def render_frame(self, data, options):
        """A webcam frame (image bytes) -> uint8 pastiche at `webcam_size`."""
        # Scaled down inside the decode slot (as max_size=webcam_size would).
        frame, _ = self._decode(data, "the webcam frame", max_size=self.config.webcam_size)
        return self._stylize(frame, options)
