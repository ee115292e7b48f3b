"""Photo files without TensorFlow: listing, checking, resizing and cropping.

The preprocessing of the TensorFlow-free input path (`numpy_loader`), the
same as the tf.data path's in `magenta_style.data.tf_pipeline` (Magenta's by
default: aspect-preserving resize so the short side is `resize_side` = 258,
centre crop `image_size` = 256, float32 in [0, 1]), so a model trained on
either path sees the same images. The options are one `Preprocessing`
(`magenta_style.data.preprocessing`); the public functions also take its
fields as keywords.

Importing this module must not import TensorFlow (a test checks it); keep it
to the standard library, NumPy and Pillow.
"""

import dataclasses
import glob
import logging
import os
import threading

import numpy as np
from PIL import Image

from magenta_style.data.preprocessing import Preprocessing
from magenta_style.data.preprocessing import check_sizes
from magenta_style.data.preprocessing import from_keywords
from magenta_style.data.preprocessing import resized_shape
from magenta_style.errors import UserError
from magenta_style.storage import image_io

# Extensions taken when a *folder* is listed; an explicit glob or list keeps
# every file it names (a non-image among them is skipped and counted).
IMAGE_EXTENSIONS = image_io.TRAINING_EXTENSIONS

# Re-exported: the size rules live in `preprocessing`, shared with tf.data.
__all__ = [
    "IMAGE_EXTENSIONS",
    "Preprocessing",
    "SkipStats",
    "check_readable",
    "check_sizes",
    "crop_offsets",
    "list_image_files",
    "load_and_preprocess",
    "open_crop",
    "preprocess_array",
    "preprocess_pil",
    "resized_shape",
    "to_rgb8",
]

_log = logging.getLogger("magenta_style.data")


@dataclasses.dataclass
class SkipStats:
    """Counts of unreadable content images, shared with the pipeline threads.

    Attributes:
        skipped: how many times an item was skipped (an item that fails in
            every epoch is counted once per epoch).
        skipped_files: the distinct items skipped (paths, or a description
            of the record), in the order they were first seen.
        seen: items read so far, readable or not.
        error: the `UserError` raised when nothing could be read (inside
            tf.data it reaches the caller wrapped in a `tf.errors.OpError`;
            re-raise this for a one-line message).
    """

    skipped: int = 0
    skipped_files: list = dataclasses.field(default_factory=list)
    seen: int = 0
    consecutive: int = 0
    error: Exception = None
    _lock: threading.Lock = dataclasses.field(
        default_factory=threading.Lock, repr=False, compare=False)

    def record(self, ok, item="", max_consecutive=None):
        """Counts one item; logs a skipped item once.

        Raises:
            UserError: more than `max_consecutive` items in a row failed (the
                source holds no readable image at all; repeating it would
                loop forever).
        """
        with self._lock:
            self.seen += 1
            if ok:
                self.consecutive = 0
                return
            self.skipped += 1
            self.consecutive += 1
            if item not in self.skipped_files:
                self.skipped_files.append(item)
                _log.warning("Skipping unreadable image %s (%d skipped so far).",
                             item, self.skipped)
            if max_consecutive is not None and self.consecutive > max_consecutive:
                self.error = UserError(
                    f"None of the last {self.consecutive} content images could be "
                    f"read (last: {item}); check the content source."
                )
                raise self.error


def list_image_files(source, extensions=IMAGE_EXTENSIONS):
    """The image files named by a folder, a glob, or a list of either.

    A folder is searched recursively (ImageNet-style class folders work) and
    only files with an image extension (case-insensitive) are kept. A glob
    (`**` recurses) or an explicit path keeps every regular file it matches.

    Args:
        source: a folder, a glob pattern, a file path, or a list/tuple of
            these; a string may also hold several, separated by commas.
        extensions: extensions kept when listing a folder.

    Returns:
        Sorted list of unique file paths (str).

    Raises:
        UserError: nothing matched; the message names the pattern(s).
    """
    if isinstance(source, (str, os.PathLike)):
        parts = [p.strip() for p in os.fspath(source).split(",") if p.strip()]
    else:
        parts = [os.fspath(p) for p in source]
    files = set()
    for part in parts:
        part = os.path.expanduser(part)
        if os.path.isdir(part):
            for root, dirs, names in os.walk(part, followlinks=True):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                files.update(os.path.join(root, n) for n in names
                             if not n.startswith(".")
                             and n.lower().endswith(tuple(extensions)))
        elif os.path.isfile(part):
            # Taken as is: a name such as "photo[1].jpg" is not a valid glob of itself.
            files.add(part)
        else:
            files.update(p for p in glob.glob(part, recursive=True) if os.path.isfile(p))
    if not files:
        shown = ", ".join(parts) if parts else repr(source)
        raise UserError(
            f"No image files found for {shown!r}: it matched no files (a folder is "
            f"searched recursively for {', '.join(extensions)}). Received: {source!r}"
        )
    return sorted(files)


def check_readable(files, sample=20, limit=200):
    """Raises unless some of `files` opens as an image (a quick pre-flight).

    Tries an evenly spread sample first, then more files, up to `limit`, so
    a folder of non-images fails at once with one line instead of deep in a
    training run. Unreadable files among readable ones are left to the
    pipelines, which skip and count them.

    Raises:
        UserError: none of the files tried is a readable image.
    """
    step = max(1, len(files) // sample)
    order = list(range(0, len(files), step))
    order += [i for i in range(len(files)) if i % step]
    last = None
    for i in order[:limit]:
        try:
            with Image.open(files[i]) as img:
                img.load()
            return
        except Exception as e:  # Pillow raises many types for bad files.
            last = f"{files[i]}: {type(e).__name__}: {e}"
    raise UserError(
        f"None of {min(limit, len(files))} of the {len(files)} content files tried is a "
        f"readable image (last: {last})."
    )


def crop_offsets(height, width, image_size, random_crop=False, rng=None):
    """Top-left corner of an `image_size` square crop (centre unless random)."""
    if random_crop:
        rng = rng or np.random.default_rng()
        return (int(rng.integers(0, height - image_size + 1)),
                int(rng.integers(0, width - image_size + 1)))
    return (height - image_size) // 2, (width - image_size) // 2


def to_rgb8(img):
    """Any PIL mode -> 8-bit RGB, as TensorFlow's decoders give it."""
    if img.mode.startswith("I"):
        # 16-bit grayscale: Pillow's convert("RGB") would clip it to white;
        # keep the top 8 bits, as TensorFlow's PNG decoder does.
        wide = np.asarray(img, dtype=np.uint32)
        img = Image.fromarray((wide >> 8 if wide.max() > 255 else wide).astype(np.uint8))
    return img.convert("RGB")


def _crop_uint8(img, preprocessing, rng):
    """PIL image -> `[image_size, image_size, 3]` uint8 (see `preprocess_pil`)."""
    size = preprocessing.image_size
    img = to_rgb8(img)
    h, w = img.height, img.width
    nh, nw = resized_shape(h, w, preprocessing.resolved_resize_side())
    if (nh, nw) != (h, w):
        img = img.resize((nw, nh), Image.BILINEAR)
    top, left = crop_offsets(nh, nw, size, preprocessing.random_crop, rng)
    arr = np.asarray(img.crop((left, top, left + size, top + size)), np.uint8)
    if preprocessing.random_flip and (rng or np.random.default_rng()).random() < 0.5:
        arr = arr[:, ::-1]
    return np.ascontiguousarray(arr)


def preprocess_pil(img, image_size=256, resize_side=258, random_crop=False,
                   random_flip=False, rng=None, preprocessing=None):
    """A PIL image -> `[image_size, image_size, 3]` float32 in [0, 1].

    Bilinear resize with antialiasing (Pillow's filter widens on downscale,
    as `tf.image.resize(..., antialias=True)`), then a centre (or random)
    crop and an optional random left-right flip. EXIF orientation is not
    applied, as in the tf.data path (TensorFlow's decoders ignore it).

    Args:
        img: a PIL image, any mode and size.
        image_size, resize_side, random_crop, random_flip: see
            `Preprocessing`; ignored where `preprocessing` is given.
        rng: a `np.random.Generator` for the crop and flip; None for fresh.
        preprocessing: a `Preprocessing` instead of the separate keywords.
    """
    preprocessing = from_keywords(preprocessing, preprocess_pil, image_size=image_size,
                                  resize_side=resize_side, random_crop=random_crop,
                                  random_flip=random_flip)
    return _crop_uint8(img, preprocessing, rng).astype(np.float32) / 255.0


def preprocess_array(image_uint8, image_size=256, resize_side=258, random_crop=False,
                     random_flip=False, rng=None, preprocessing=None):
    """`[H, W, 3]` uint8 -> `[image_size, image_size, 3]` float32 in [0, 1].

    The NumPy twin of `magenta_style.data.tf_pipeline.preprocess_image`;
    arguments as `preprocess_pil`.
    """
    preprocessing = from_keywords(preprocessing, preprocess_array, image_size=image_size,
                                  resize_side=resize_side, random_crop=random_crop,
                                  random_flip=random_flip)
    arr = np.asarray(image_uint8)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[-1] != 3:
        raise UserError(
            "preprocess_array takes [H, W, 3] uint8. "
            f"Received: shape={arr.shape}, dtype={arr.dtype}"
        )
    return _crop_uint8(Image.fromarray(arr), preprocessing, rng).astype(np.float32) / 255.0


def open_crop(path, preprocessing, rng):
    """Reads one photo -> `[image_size, image_size, 3]` uint8 crop.

    Args:
        path: an image file.
        preprocessing: a `Preprocessing` (its `draft` applies here).
        rng: a `np.random.Generator` for the crop and flip; None for fresh.

    Raises:
        The errors of `load_and_preprocess`.
    """
    with Image.open(path) as img:
        if preprocessing.draft and img.format == "JPEG":
            side = preprocessing.resolved_resize_side()
            h, w = img.height, img.width
            if min(h, w) >= 2 * side:
                # The reduced DCT scale still leaves the short side >= side.
                factor = min(h, w) // side
                img.draft("RGB", (w // factor, h // factor))
        img.load()
        return _crop_uint8(img, preprocessing, rng)


def load_and_preprocess(path, image_size=256, resize_side=258, random_crop=False,
                        random_flip=False, rng=None, draft=True, preprocessing=None):
    """Reads one photo and preprocesses it (see `preprocess_pil`).

    With `draft`, JPEGs whose short side is at least twice `resize_side`
    are decoded at a reduced DCT scale that still leaves the short side at
    least `resize_side` (Pillow's `draft`): several times faster for 12 MP
    photos. That DCT-domain downscale differs from the tf.data path's
    antialiased bilinear by about 2 grey levels on average (up to ~40 on
    sharp edges); smaller photos (COCO's, ImageNet's) are unaffected.

    Args:
        path: an image file.
        image_size, resize_side, random_crop, random_flip, draft: see
            `Preprocessing`; ignored where `preprocessing` is given.
        rng: a `np.random.Generator` for the crop and flip; None for fresh.
        preprocessing: a `Preprocessing` instead of the separate keywords.

    Returns:
        `[image_size, image_size, 3]` float32 in [0, 1].

    Raises:
        OSError, ValueError, SyntaxError, Image.DecompressionBombError: the
        file cannot be read as an image (the loader counts and skips these).
    """
    preprocessing = from_keywords(preprocessing, load_and_preprocess, image_size=image_size,
                                  resize_side=resize_side, random_crop=random_crop,
                                  random_flip=random_flip, draft=draft)
    return open_crop(path, preprocessing, rng).astype(np.float32) / 255.0
