"""`Preprocessing`: the options that turn one content photo into a training crop.

Both input paths (`tf_pipeline`, TensorFlow; `photo_files` and
`numpy_loader`, Pillow) take one of these instead of repeating its fields,
and share the size rules here: the check of the sizes and the
aspect-preserving resize. Magenta's preprocessing is the default: resize so
the short side is `image_size + 2`, centre crop `image_size`, no flips.

Importing this module must not import TensorFlow (the NumPy path imports it);
keep it to the standard library.
"""

import dataclasses
import functools
import inspect
import operator
from typing import Optional

from magenta_style.errors import UserError


def check_sizes(image_size, resize_side):
    """Raises unless an `image_size` crop fits in a photo resized to `resize_side`."""
    if image_size < 1 or resize_side < image_size:
        raise UserError(
            "resize_side must be at least image_size (the crop is taken from the "
            f"resized photo). Received: image_size={image_size}, "
            f"resize_side={resize_side}"
        )


def scaled_side(n, short, resize_side):
    """Side `n` of a photo whose short side `short` is resized to `resize_side`.

    `n * resize_side / short` rounded half up, in integers only so that
    Python ints, NumPy and TensorFlow integer tensors (the tf.data path
    computes `short` with `tf.minimum`) give the same pixel count. The short
    side itself comes out as exactly `resize_side`.
    """
    return (2 * n * resize_side + short) // (2 * short)


def resized_shape(height, width, resize_side):
    """(new_height, new_width) with the shorter side equal to `resize_side`.

    Integer arithmetic, rounding half up (see `scaled_side`), so the tf.data
    and the Pillow paths agree to the pixel.
    """
    short = min(height, width)
    return scaled_side(height, short, resize_side), scaled_side(width, short, resize_side)


def _flag(name, value):
    # `in (True, False)` takes np.bool_ and 0/1 but refuses e.g. the string
    # "false", which would otherwise switch the option on.
    if value not in (True, False):
        raise UserError(f"{name} must be True or False. Received: {name}={value!r}")
    return bool(value)


def _integer(name, value):
    if isinstance(value, bool):
        raise UserError(f"{name} must be an int. Received: {name}={value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise UserError(f"{name} must be an int. Received: {name}={value!r}") from None


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """How a content photo of any size becomes one square training crop.

    The photo (`[H, W, 3]` uint8, any H, W >= 1) is resized, keeping its
    aspect, so its short side is `resize_side` (bilinear, antialiased), then
    an `image_size` square is cropped from it (centre, or random) and
    optionally flipped left-right. The result is
    `[image_size, image_size, 3]`, float32 in [0, 1] (or uint8 in [0, 255]
    where a loader is asked for uint8). The fields are checked when the
    object is made.

    Attributes:
        image_size: side of the square crop, a positive int (256).
        resize_side: short side after the resize, an int >= `image_size`;
            None (the default) means `image_size + 2`, Magenta's 258 for 256
            (see `resolved_resize_side`).
        random_crop: a random crop instead of the centre one (Magenta: off).
        random_flip: a random left-right flip (Magenta: off).
        draft: the Pillow path decodes JPEGs at least twice as large as
            needed at a reduced DCT scale (several times faster for 12 MP
            photos, about 2 grey levels off the exact resize on average);
            False matches the tf.data path exactly. The tf.data path ignores it.
        antialias: the tf.data path's resize is antialiased (TF1 Magenta's was
            not, which aliases when 640x480 photos shrink to 258). The Pillow
            path always antialiases and ignores it.
    """

    image_size: int = 256
    resize_side: Optional[int] = None
    random_crop: bool = False
    random_flip: bool = False
    draft: bool = True
    antialias: bool = True

    def __post_init__(self):
        self.check()

    def check(self):
        """Raises `UserError` (one line, quoting the bad value) on a bad field."""
        image_size = _integer("image_size", self.image_size)
        if self.resize_side is not None:
            _integer("resize_side", self.resize_side)
        check_sizes(image_size, self.resolved_resize_side())
        for name in ("random_crop", "random_flip", "draft", "antialias"):
            _flag(name, getattr(self, name))

    @classmethod
    def from_config(cls, config):
        """The preprocessing a training config names by field (`image_size`, ...)."""
        return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(cls)
                      if hasattr(config, f.name)})

    def resolved_resize_side(self):
        """The short side after the resize: `resize_side`, or `image_size + 2`."""
        return self.image_size + 2 if self.resize_side is None else self.resize_side


@functools.lru_cache(maxsize=None)
def _keyword_defaults(entry_point):
    return {name: p.default for name, p in inspect.signature(entry_point).parameters.items()}


def from_keywords(preprocessing, entry_point, **keywords):
    """The `Preprocessing` a public entry point uses.

    Entry points take either the separate keywords (`image_size=...,
    random_crop=...`) or one `preprocessing=` object. Without the object, it
    is built from the keywords; with it, a keyword left at the entry point's
    default (or set to the object's value) is ignored, and one that sets
    another value is refused rather than silently dropped.

    Args:
        preprocessing: a `Preprocessing`, or None.
        entry_point: the function whose keywords these are (for its defaults).
        **keywords: the entry point's values of `Preprocessing` fields.

    Returns:
        A checked `Preprocessing`.

    Raises:
        UserError: a bad value, or both the object and a different keyword.
    """
    if preprocessing is None:
        return Preprocessing(**keywords)
    if not isinstance(preprocessing, Preprocessing):
        raise UserError("preprocessing must be a Preprocessing. "
                        f"Received: preprocessing={preprocessing!r}")
    defaults = _keyword_defaults(entry_point)
    for name, value in keywords.items():
        if value != defaults[name] and value != getattr(preprocessing, name):
            raise UserError(
                f"Pass {name} in preprocessing= or as a keyword, not both. Received: "
                f"{name}={value!r}, preprocessing.{name}={getattr(preprocessing, name)!r}"
            )
    return preprocessing
