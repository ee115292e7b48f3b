"""The studio without HTTP: one loaded model, the uploaded photos, renders.

Every picture the page shows comes from `magenta_style.stylize` with the
page's weight vector, so the page, the Python API and `bin/stylize` agree:

- a preview equals `stylize(photo, model, weights, max_size=working_size, ...)`;
- a download equals `stylize(photo, model, weights, ...)` at full size, i.e.
  the command the page's "copy command" button gives.

- a preview with dropped paintings (their sliders) equals `stylize(photo,
  model="arbitrary-v1", style_vector=v)`, `v` the paintings' style vectors
  (`magenta_style.style_vector`) mixed with the slider weights rescaled to
  sum 1 (Ghiasi et al. interpolate in that space);
- a webcam frame with temporal smoothing equals the next frame of one
  `video.api.FrameStylizer(model, temporal="flow")` per stream (the page's
  camera session), whose style follows the sliders (`set_styles`) without
  resetting its smoothing;
- a preview with painted regions equals `stylize(photo, model,
  which_styles=rows, masks=planes, region_statistics="shared")` at the
  working size, and its download the same at full size with the masks
  resized to it (default "per_style").

Nothing is written to disk: photos live in memory (their uploaded bytes,
the small working copy and its painted masks), at most `max_photos` of them.
"""

import collections
import contextlib
import dataclasses
import importlib
import io
import re
import threading
import typing
import uuid

import numpy as np
from PIL import Image

from magenta_style.errors import UserError
from magenta_style.storage import image_io
from magenta_style.storage import model_format
from magenta_style.studio import style_map
from magenta_style.studio import thumbnails
from magenta_style.studio import uploads
from magenta_style.studio.config import StudioConfig
from magenta_style.stylization import regions as regions_lib
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

# Webcam streams with temporal smoothing kept at once (each holds its last
# frame and output); a new one forgets the least recently used.
MAX_STREAMS = 4
# What the page sends as a stream id (it makes one per camera session).
STREAM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Painted regions per photo: each adds a pass to a "per_style" download.
MAX_REGIONS = 6
# Dropped paintings kept (each a style vector and a thumbnail); the oldest
# is forgotten first.
MAX_PAINTINGS = 8

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
        regions: None, or `[K, num_styles]` float64: the style weights of
            each painted region, in the order of the photo's masks
            (`Studio.set_masks`); then `weights` is unused.
        region_statistics: "shared" or "per_style" (`stylization.regions`).
        paintings: None, or `{painting id: weight}` (weights >= 0, some
            positive): render with the painting model and these dropped
            paintings' vectors mixed; then `weights` is unused.
    """

    weights: np.ndarray
    normalize: bool = False
    preserve_colors: bool = False
    strength: float = 1.0
    regions: typing.Optional[np.ndarray] = None
    region_statistics: str = "shared"
    paintings: typing.Optional[dict] = None

    def stylize_kwargs(self, masks=None):
        """`stylize`'s keyword arguments; `masks` `[H, W, K]` with `regions`."""
        kwargs = {"which_styles": self.weights, "normalize_weights": self.normalize,
                  "preserve_colors": self.preserve_colors, "strength": self.strength}
        if self.regions is not None:
            if masks is None or masks.shape[-1] != len(self.regions):
                have = "no painted masks" if masks is None else f"{masks.shape[-1]} masks"
                raise UserError(
                    f"The render names {len(self.regions)} regions but the photo has "
                    f"{have}; paint the regions again (their masks are sent first).")
            kwargs.update(which_styles=self.regions, masks=list(masks.transpose(2, 0, 1)),
                          region_statistics=self.region_statistics)
        return kwargs


def as_bool(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _weight_vector(raw, num_styles, what="weights"):
    """A list of numbers (or a comma-separated string) -> `[num_styles]` float64."""
    if isinstance(raw, str):
        raw = [w for w in raw.split(",") if w.strip()]
    try:
        weights = np.asarray(raw, np.float64)
    except (TypeError, ValueError):
        raise UserError(f"{what} must be a list of numbers. Received: {raw!r}") from None
    if weights.ndim != 1 or weights.shape[0] != num_styles:
        raise UserError(
            f"{what} must hold one number per style ({num_styles}). Received: {raw!r}")
    return weights


def _parse_regions(raw, num_styles):
    """`regions` (a list of weight lists, or "w,w,...;w,w,...") -> `[K, num_styles]`."""
    if raw is None or raw == "":
        return None
    rows = raw.split(";") if isinstance(raw, str) else raw
    if not isinstance(rows, (list, tuple)) or not 1 <= len(rows) <= MAX_REGIONS:
        raise UserError(f"regions must be a list of 1 to {MAX_REGIONS} weight lists, one "
                        f"per painted region. Received: {str(raw)[:200]!r}")
    return np.stack([_weight_vector(row, num_styles, f"region {i}'s weights")
                     for i, row in enumerate(rows)])


def _parse_paintings(raw):
    """`paintings` ({id: weight}, or "id:w,id:w" in a query) -> {id: float} or None."""
    if raw is None or raw == "" or raw == {}:
        return None
    if isinstance(raw, str):
        pairs = [item.split(":", 1) for item in raw.split(",") if item.strip()]
        if any(len(p) != 2 for p in pairs):
            raise UserError(f"paintings must be 'id:weight,id:weight'. Received: {raw[:200]!r}")
        raw = dict(pairs)
    if not isinstance(raw, dict) or len(raw) > MAX_PAINTINGS:
        raise UserError(f"paintings must map up to {MAX_PAINTINGS} painting ids to weights. "
                        f"Received: {str(raw)[:200]!r}")
    try:
        weights = {str(k).strip(): float(v) for k, v in raw.items()}
    except (TypeError, ValueError):
        raise UserError(f"painting weights must be numbers. Received: {str(raw)[:200]!r}") from None
    if not all(np.isfinite(w) and w >= 0 for w in weights.values()) or not any(
            w > 0 for w in weights.values()):
        raise UserError("painting weights must be >= 0 with at least one above 0. "
                        f"Received: {weights!r}")
    return {k: w for k, w in weights.items() if w > 0}


def parse_options(params, num_styles):
    """`RenderOptions` from JSON or query parameters.

    Args:
        params: mapping with `weights` (list of numbers, or a comma-separated
            string), and optional `normalize`, `preserve_colors` (bools or
            "0"/"1"), `strength` (number or string), `regions` (a list of
            weight lists, or in a query "w,w,...;w,w,..."), and
            `region_statistics` ("shared", the default, or "per_style").
        num_styles: the model's number of styles.

    Raises:
        UserError: missing or malformed values (ranges are checked by
            `stylize` itself).
    """
    weights = _weight_vector(params.get("weights"), num_styles)
    statistics = params.get("region_statistics") or "shared"
    if statistics not in regions_lib.STATISTICS:
        raise UserError(f"region_statistics must be one of "
                        f"{', '.join(regions_lib.STATISTICS)}. Received: {statistics!r}")
    try:
        strength = float(params.get("strength", 1.0))
    except (TypeError, ValueError):
        raise UserError(
            f"strength must be a number in [0, 1]. Received: {params.get('strength')!r}"
        ) from None
    return RenderOptions(weights=weights,
                         normalize=as_bool(params.get("normalize", False)),
                         preserve_colors=as_bool(params.get("preserve_colors", False)),
                         strength=strength,
                         regions=_parse_regions(params.get("regions"), num_styles),
                         region_statistics=statistics,
                         paintings=_parse_paintings(params.get("paintings")))


@dataclasses.dataclass
class Photo:
    """An uploaded photo: its file bytes and the working copy."""

    id: str
    name: str
    data: bytes
    width: int
    height: int
    working: np.ndarray  # [h, w, 3] float32 in [0, 1]
    masks: typing.Optional[np.ndarray] = None  # [h, w, K] float32 in [0, 1], painted

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


@dataclasses.dataclass
class Painting:
    """A dropped painting, used as a style: its vector and thumbnail."""

    id: str
    name: str
    vector: np.ndarray  # [style_dim] float32 (the painting model's style vector)
    thumbnail: bytes  # PNG of the predictor's centre square crop

    def info(self):
        return {"id": self.id, "name": self.name}


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
        self._streams = collections.OrderedDict()  # stream id -> FrameStylizer
        self._paintings = collections.OrderedDict()  # painting id -> Painting
        self._painting_model = None

    # -- model facts -------------------------------------------------------

    def info(self):
        """What the page needs to build itself (JSON-ready)."""
        cfg = self.config
        return {
            "checkpoint": cfg.checkpoint or model_format.DEFAULT_MODEL,
            "num_styles": self.num_styles,
            "style_names": self.style_names,
            "working_size": cfg.working_size,
            "webcam_size": cfg.webcam_size,
            "max_upload_mb": cfg.max_upload_mb,
            "max_megapixels": self.max_pixels / 1e6,
            "painting_model": cfg.painting_model or None,
            "max_paintings": MAX_PAINTINGS,
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
        """PCA coordinates and pairwise distances (`style_map.style_map`).

        With dropped paintings, also `"paintings"`: their ids, names, 2-D
        PCA coordinates and distances of their style vectors (the painting
        model's space, another space than the trained styles' gamma/beta).
        """
        if self._style_map is None:
            self._style_map = style_map.style_map(self.model)
            self._style_map["names"] = self.style_names
        with self._photos_lock:
            paintings = list(self._paintings.values())
        if not paintings:
            return self._style_map
        vectors = np.stack([p.vector for p in paintings]).astype(np.float64)
        coords, explained = style_map.pca(vectors, 2)
        return {**self._style_map, "paintings": {
            "ids": [p.id for p in paintings], "names": [p.name for p in paintings],
            "coords": np.asarray(coords).tolist(),
            "explained": np.asarray(explained).tolist(),
            "distances": style_map.pairwise_distances(vectors).tolist(),
            "dimension": int(vectors.shape[1])}}

    # -- paintings (any painting as a style) ------------------------------

    def painting_model(self):
        """The arbitrary-style model (`--painting_model`), loaded on first use."""
        if not self.config.painting_model:
            raise UserError("Dropped paintings are off in this studio (--painting_model='').")
        if self._painting_model is None:
            self._painting_model = stylize_lib.get_model(self.config.painting_model)
            if not hasattr(self._painting_model, "style_dim"):
                self._painting_model = None
                raise UserError(
                    f"--painting_model={self.config.painting_model!r} is not an "
                    "arbitrary-style model (one that reads paintings); use arbitrary-v1.")
        return self._painting_model

    def add_painting(self, data, name="painting"):
        """A dropped painting -> a new style: its style vector and thumbnail.

        Args:
            data: the image file's bytes (checked as uploads are).
            name: its file name.

        Returns:
            The `Painting` (`vector` = `magenta_style.style_vector(image)`).
        """
        from magenta_style.stylization import arbitrary

        model = self.painting_model()
        with self._decode_slots:
            # Only the predictor's 256 x 256 square outlives the slot; the
            # vector of that square is the painting's (its crop and resize
            # are then the identity).
            image = uploads.decode_image(data, self.max_pixels, name=repr(name),
                                         memory=self._limited_by_memory)
            square = arbitrary.preprocess_style_image(image)
            del image
        with self._run_lock:
            vector = arbitrary.predict(model, [square])[0]
        thumb = encode(image_io.to_uint8(image_io.resize_max(square,
                                                             self.config.thumbnail_size)))
        painting = Painting(uuid.uuid4().hex, name, vector, thumb)
        with self._photos_lock:
            self._paintings[painting.id] = painting
            while len(self._paintings) > MAX_PAINTINGS:
                self._paintings.popitem(last=False)
        return painting

    def painting(self, painting_id):
        with self._photos_lock:
            painting = self._paintings.get(painting_id)
        if painting is None:
            raise UnknownPhoto(
                f"Unknown painting {painting_id!r}: the studio keeps the last "
                f"{MAX_PAINTINGS} paintings; drop it again.")
        return painting

    def painting_vector(self, weights):
        """`{painting id: weight}` -> the mixed `[style_dim]` vector (weights
        rescaled to sum 1, as `stylize(style_blend_weights=...)` mixes)."""
        paintings = [self.painting(i) for i in weights]
        w = np.asarray(list(weights.values()), np.float64)
        w = w / w.sum()
        return (w[:, None] * np.stack([p.vector for p in paintings])).sum(0).astype(np.float32)

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

    def set_masks(self, photo_id, data):
        """Keeps the regions painted on a photo (`uploads.decode_masks`).

        Args:
            photo_id: the photo's id.
            data: PNG bytes, the K masks at the working size stacked
                vertically (gray level = weight).

        Returns:
            `{"regions": K, "coverage": [share of the photo each covers]}`.
        """
        photo = self.photo(photo_id)
        height, width = photo.working.shape[:2]
        masks = uploads.decode_masks(data, width, height, MAX_REGIONS)
        photo.masks = masks
        return {"regions": masks.shape[-1],
                "coverage": [round(float(c), 4) for c in masks.mean((0, 1))]}

    def _stylize(self, image, options, locked=False, masks=None):
        """`stylize` under the render lock (`locked`: the caller holds it)."""
        model = self.model
        if options.paintings:
            if options.regions is not None:
                raise UserError("Painted regions take the model's styles; set the dropped "
                                "paintings' sliders to 0 to paint regions.")
            model = self.painting_model()
            kwargs = {"style_vector": self.painting_vector(options.paintings),
                      "preserve_colors": options.preserve_colors,
                      "strength": options.strength}
        else:
            kwargs = options.stylize_kwargs(masks)
        with contextlib.nullcontext() if locked else self._run_lock:
            return stylize_lib.stylize(image, model=model,
                                       jit_compile=self.config.jit_compile, **kwargs)

    def render(self, photo_id, options):
        """The preview: uint8 `[h, w, 3]` at the working size."""
        photo = self.photo(photo_id)
        return self._stylize(photo.working, options, masks=photo.masks)

    def render_full(self, photo_id, options):
        """The full-resolution result and its file name.

        Returns:
            `(uint8 [H, W, 3], name)` with Magenta's naming,
            `{basename}_{suffix}.png`.
        """
        photo = self.photo(photo_id)
        # Decoded under the render lock: downloads waiting for it hold only
        # bytes, so at most one full-size image is in memory at a time.
        masks = photo.masks if options.regions is not None else None
        with self._run_lock:
            image, _ = self._decode(photo.data, repr(photo.name))
            if masks is not None:
                # Painted at the working size: resized here, as `stylize`
                # would, without its warning about a mask of another size.
                masks = image_io.resize(masks, (image.shape[1], image.shape[0]))
            out = self._stylize(image, options, locked=True, masks=masks)
        del image
        if options.paintings:
            names = [self.painting(i).name.rsplit(".", 1)[0] for i in options.paintings]
            total = sum(options.paintings.values())
            suffix = "_".join(f"{n}_{round(1000 * w / total):03d}"
                              for n, w in zip(names, options.paintings.values()))
            base = photo.name.rsplit(".", 1)[0] or "photo"
            name = f"{base}_{suffix}"
            name = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:120]
            return out, f"{name}.png"
        if options.regions is None:
            spec = style_choice.parse_which_styles(options.weights, self.num_styles,
                                                  self.style_names, options.normalize)
        else:
            spec = regions_lib.parse_region_styles(options.regions, self.num_styles,
                                                   self.style_names, options.normalize)
        base = photo.name.rsplit(".", 1)[0] or "photo"
        base = "".join(c if c.isalnum() or c in "-_" else "_" for c in base)[:80]
        return out, f"{base}_{spec.suffixes[0]}.png"

    def render_frame(self, data, options, stream=None, reset=False):
        """A webcam frame (image bytes) -> uint8 pastiche at `webcam_size`.

        Args:
            data: the frame's JPEG or PNG bytes.
            options: `RenderOptions` (regions are not used).
            stream: None to stylize the frame alone; else the id of the
                camera session (`STREAM_ID`), whose frames are smoothed over
                time by one `FrameStylizer(temporal="flow")`: the previous
                output, warped along the optical flow, is blended in where
                it is visible (docs/video.md). A changed mixture takes effect
                at once but keeps the smoothing's state.
            reset: start the stream afresh (forget its previous frame).
        """
        # Scaled down inside the decode slot (as max_size=webcam_size would).
        frame, _ = self._decode(data, "the webcam frame", max_size=self.config.webcam_size)
        if stream is None or options.paintings:
            # Paintings: their model has no FrameStylizer; frames stand alone.
            return self._stylize(frame, dataclasses.replace(options, regions=None))
        if not isinstance(stream, str) or not STREAM_ID.fullmatch(stream):
            raise UserError("stream must be 1 to 64 letters, digits, '-' or '_'. "
                            f"Received: {str(stream)[:80]!r}")
        stylize_lib.check_options(options.strength, 0)
        with self._run_lock:
            stylizer = self._stream(stream)
            if reset:
                stylizer.reset()
            stylizer.set_styles(options.weights, options.normalize)
            stylizer.preserve_colors = options.preserve_colors
            stylizer.strength = float(options.strength)
            return stylizer(image_io.to_uint8(frame)[None])[0]

    def _stream(self, stream):
        """The `FrameStylizer` of a camera session (made on its first frame)."""
        from magenta_style.video import api as video_api

        stylizer = self._streams.pop(stream, None)
        if stylizer is None:
            stylizer = video_api.FrameStylizer(self.model, temporal="flow",
                                               jit_compile=self.config.jit_compile)
        self._streams[stream] = stylizer  # the most recently used last
        while len(self._streams) > MAX_STREAMS:
            self._streams.popitem(last=False)
        return stylizer
