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
import threading
import typing
import uuid

import numpy as np
from PIL import Image

from magenta_style.errors import UserError
from magenta_style.storage import image_io
from magenta_style.storage import model_format
from magenta_style.studio import limits
from magenta_style.studio import options as options_lib
from magenta_style.studio import streams as streams_lib
from magenta_style.studio import style_map
from magenta_style.studio import thumbnails
from magenta_style.studio import uploads
from magenta_style.studio.config import StudioConfig
from magenta_style.stylization import style_choice
from magenta_style.stylization import tasks
from magenta_style.stylization.options import RenderOptions

# By its full name: `from magenta_style import stylize` can give the function
# (the package's lazy export) where the module's helpers are needed.
stylize_lib = importlib.import_module("magenta_style.stylization.api")


class UnknownPhoto(UserError):
    """A photo id the studio does not hold (any more): HTTP 404."""

    status = 404


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
        task = tasks.as_task(self.config.checkpoint if model is None else model,
                             self.config.num_styles)
        if not isinstance(task, tasks.MultiStyleTransfer):
            raise UserError(f"The studio's --checkpoint needs trained styles; {task.name} is an "
                            "arbitrary-style model (use it as --painting_model).")
        self.model = task.network
        self.num_styles = self.model.transformer_config.num_styles
        self.style_names = list(self.model.style_names)
        self._photos = collections.OrderedDict()
        self._photos_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._decode_slots = threading.BoundedSemaphore(limits.DECODE_SLOTS)
        self.max_pixels, self._limited_by_memory = limits.pixel_limit(self.config.max_megapixels)
        self._thumbnails = None
        self._style_map = None
        self.streams = streams_lib.Streams(self.model, self.config.jit_compile)
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
            "max_paintings": options_lib.MAX_PAINTINGS,
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
            task = tasks.as_task(self.config.painting_model)
            if not isinstance(task, tasks.ArbitraryStyleTransfer):
                raise UserError(
                    f"--painting_model={self.config.painting_model!r} is not an "
                    "arbitrary-style model (one that reads paintings); use arbitrary-v1.")
            self._painting_model = task.model
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
            while len(self._paintings) > options_lib.MAX_PAINTINGS:
                self._paintings.popitem(last=False)
        return painting

    def painting(self, painting_id):
        with self._photos_lock:
            painting = self._paintings.get(painting_id)
        if painting is None:
            raise UnknownPhoto(
                f"Unknown painting {painting_id!r}: the studio keeps the last "
                f"{options_lib.MAX_PAINTINGS} paintings; drop it again.")
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
        """`uploads.decode_image` in one of `limits.DECODE_SLOTS` slots (bounded memory).

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
        masks = uploads.decode_masks(data, width, height, options_lib.MAX_REGIONS)
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
            names = [self.painting(i).name for i in options.paintings]
            suffix = options_lib.paintings_suffix(names, list(options.paintings.values()))
        elif options.regions is None:
            suffix = style_choice.parse_which_styles(options.weights, self.num_styles,
                                                     self.style_names,
                                                     options.normalize).suffixes[0]
        else:
            suffix = style_choice.parse_region_styles(options.regions, self.num_styles,
                                                      self.style_names,
                                                      options.normalize).suffixes[0]
        return out, options_lib.download_name(photo.name, suffix, bool(options.paintings))

    def render_frame(self, data, options, stream=None, reset=False):
        """A webcam frame (image bytes) -> uint8 pastiche at `webcam_size`.

        Args:
            data: the frame's JPEG or PNG bytes.
            options: `PageRequest` (regions are not used).
            stream: None to stylize the frame alone; else the id of the
                camera session (`streams.STREAM_ID`), whose frames are smoothed over
                time by one `FrameStylizer(temporal="flow")`: the previous
                output, warped along the optical flow, is blended in where
                it is visible (docs/video.md). A changed mixture takes effect
                at once but keeps the smoothing's state.
            reset: start the stream afresh (forget its previous frame).
        """
        # Scaled down inside the decode slot (as max_size=webcam_size would).
        frame, _ = self._decode(data, "the webcam frame", max_size=self.config.webcam_size)
        if stream is None:
            return self._stylize(frame, dataclasses.replace(options, regions=None))
        streams_lib.check_stream_id(stream)
        render = RenderOptions(preserve_colors=options.preserve_colors,
                               strength=float(options.strength),
                               jit_compile=self.config.jit_compile).check()
        # Dropped paintings are smoothed like trained styles: their stylizer
        # runs the painting model with the mixed vector.
        vector = self.painting_vector(options.paintings) if options.paintings else None
        with self._run_lock:
            if vector is None:
                stylizer = self.streams.get(stream)
                stylizer.set_styles(options.weights, options.normalize)
            else:
                model = self.painting_model()
                stylizer = self.streams.get(stream, model, style_vector=vector)
                stylizer.set_conditioning(stylizer.task.resolve(style_vector=vector))
            if reset:
                stylizer.reset()
            stylizer.set_options(render)
            return stylizer(image_io.to_uint8(frame)[None])[0]
