"""Any painting as a style: style vectors, their blends, and arbitrary-style pastiches.

The arbitrary-style model (`arbitrary-v1`, Ghiasi et al. 2017) reads a style
as a 100-d vector that its predictor computes from a painting. Here:

- `preprocess_style_image`: Magenta's preprocessing of a painting (centre
  square crop, 256 x 256 Lanczos, [0, 1]); the vector depends on it, so it
  is the same in every path (API, CLI, export);
- `predict`: paintings -> `[N, 100]` under a loaded model (the public
  `magenta_style.style_vector(s)` are `api`'s: they load the model);
- `paintings`: what `stylize` and `bin/stylize` accept as a style
  (paintings, a blend with weights, or vectors) -> a `Conditioning` of one
  vector per output, with output-name suffixes;
- `interpolate_with_photo`: Magenta's `strength` (identity interpolation:
  blend the vector with the photo's own vector, not the pixels).
"""

import os

import numpy as np
from PIL import Image

from magenta_style.errors import UserError
from magenta_style.storage import image_io
from magenta_style.stylization import runner as runner_lib
from magenta_style.stylization.conditioning import Conditioning

DEFAULT_MODEL = "arbitrary-v1"
# Magenta's predictor input: 256 x 256 centre crops.
STYLE_IMAGE_SIZE = 256
# A style image smaller than this on its shorter side carries no texture.
MIN_STYLE_SIDE = 16


def preprocess_style_image(image):
    """A painting as the predictor's input, as Magenta's mobile pipeline prepares it.

    Args:
        image: a path, a PIL image or an array (anything `image_io.load_image`
            reads: EXIF-transposed, alpha composited on white).

    Returns:
        `[256, 256, 3]` float32 in [0, 1]: the centre square crop (side
        min(w, h), offset ((w - side) // 2, (h - side) // 2)), resized by
        Lanczos on 8-bit RGB, divided by 255.

    Raises:
        UserError: unreadable image, or one below `MIN_STYLE_SIDE` pixels on
            its shorter side.
    """
    arr = image_io.load_image(image)
    h, w = arr.shape[:2]
    if min(h, w) < MIN_STYLE_SIDE:
        what = os.fspath(image) if isinstance(image, (str, os.PathLike)) else "The style image"
        raise UserError(f"{what} is {w}x{h} pixels: too small to carry a style; use an image "
                        f"of at least {MIN_STYLE_SIDE}x{MIN_STYLE_SIDE} (Magenta uses 256x256).")
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = Image.fromarray(image_io.to_uint8(arr[top:top + side, left:left + side]))
    crop = crop.resize((STYLE_IMAGE_SIZE, STYLE_IMAGE_SIZE), Image.LANCZOS)
    return np.asarray(crop, np.float32) / 255.0


def predict(model, images, batch=8):
    """The style vectors of several paintings under a loaded arbitrary-style model.

    Args:
        model: an `ArbitraryStyleModel` (`load_model("arbitrary-v1")`).
        images: list of paintings (paths, PIL images, arrays), each
            prepared by `preprocess_style_image`.
        batch: paintings per predictor call.

    Returns:
        `[N, style_dim]` float32 (unbounded; about -3 to 3 for arbitrary-v1).
    """
    inputs = np.stack([preprocess_style_image(i) for i in images])
    run = _compiled_predictor(model.predictor)
    return np.concatenate([np.asarray(run(inputs[s:s + batch]))
                           for s in range(0, len(inputs), batch)]).astype(np.float32)


def _compiled_predictor(predictor):
    """`predictor` as a compiled function of `[B, H, W, 3]` float32, made once per model.

    An eager Keras call of MobileNetV2 costs 1.4-2.8 s on a 2-core CPU, several
    times the compiled graph (docs/models/arbitrary-v1.md).
    """
    def build():
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            return tf.function(lambda x: predictor(x, training=False),
                               input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)],
                               reduce_retracing=True)
        if keras.backend.backend() == "jax":
            import jax

            call = jax.jit(lambda t, n, x: predictor.stateless_call(t, n, x, training=False)[0])
            return lambda x: call([v.value for v in predictor.trainable_variables],
                                  [v.value for v in predictor.non_trainable_variables], x)
        return lambda x: predictor(x, training=False)

    return runner_lib.cached(predictor, "predict", build)


def interpolate_with_photo(model, vectors, photo, strength):
    """Magenta's identity interpolation: `s * v + (1 - s) * v_photo`, `[K, style_dim]` float32.

    `v_photo` is the photo's own style vector (the photo prepared as a style
    image); strength 1 returns `vectors` unchanged.
    """
    vectors = np.asarray(vectors, np.float32)
    if strength == 1.0:
        return vectors
    own = predict(model, [photo])[0]
    return (strength * vectors + (1.0 - strength) * own[None]).astype(np.float32)


# Predicted style vectors stay within a few units; as with `style_choice.
# MAX_WEIGHT`, far larger values only saturate (then overflow) the network.
MAX_VECTOR_VALUE = 1000.0


def check_vector(vector, style_dim):
    """A style vector as `[style_dim]` float32, or one UserError line."""
    arr = np.asarray(vector, dtype=np.float32) if not isinstance(vector, str) else None
    if arr is None or arr.ndim != 1 or arr.shape[0] != style_dim:
        shape = None if arr is None else arr.shape
        raise UserError(f"A style vector must hold {style_dim} numbers (from style_vector()). "
                        f"Received: shape={shape}")
    if not np.all(np.isfinite(arr)):
        raise UserError("The style vector holds NaN or infinite values.")
    if np.any(np.abs(arr) > MAX_VECTOR_VALUE):
        raise UserError(f"The style vector holds values beyond +-{MAX_VECTOR_VALUE:g} (largest "
                        f"{float(np.abs(arr).max()):g}); such vectors saturate or overflow "
                        "the network. Use vectors from style_vector().")
    return arr


def check_blend_weights(weights, count):
    """Blend weights as float64 summing to 1, or one UserError line.

    The paper mixes styles by convex combinations of their vectors, so the
    weights are rescaled to sum to 1 (0.7/0.3 and 7/3 are the same blend).
    """
    try:
        w = np.asarray([float(x) for x in weights], np.float64)
    except (TypeError, ValueError):
        raise UserError(f"style_blend_weights must be numbers. Received: {weights!r}") from None
    if len(w) != count:
        raise UserError(f"Got {len(w)} style_blend_weights for {count} style images; give one "
                        f"weight per image. Received: {list(weights)!r}")
    with np.errstate(over="ignore"):  # a sum beyond float range is refused below
        total = w.sum()
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not 0 < total < np.inf:
        raise UserError("style_blend_weights must be >= 0 with a positive sum. "
                        f"Received: {list(weights)!r}")
    return w / w.sum()


def _name(image, index):
    if isinstance(image, (str, os.PathLike)):
        return os.path.splitext(os.path.basename(os.fspath(image)))[0]
    return f"style{index}"


def paintings(model, style_image=None, style_blend_weights=None, style_vector=None):
    """Parses what `stylize` was given as a style into a `Conditioning` of style vectors.

    Args:
        model: a loaded arbitrary-style model.
        style_image: one painting (path, PIL image, array: one output), or a
            list of paintings (one output each, or one blend with
            `style_blend_weights`).
        style_blend_weights: optional weights, one per painting of the list
            (>= 0, positive sum; rescaled to sum to 1).
        style_vector: instead of paintings, a `[style_dim]` vector (one
            output) or `[K, style_dim]` vectors (one output each).

    Returns:
        A `Conditioning` with `vectors=True`: rows `[num_outputs, style_dim]`
        float32, suffixes the paintings' file names (`starry_night`), or for
        a blend the names with weights in thousandths
        (`starry_night_700_udnie_300`, as multi-style mixtures are named).

    Raises:
        UserError: no style or two kinds of style, bad weights, bad vectors,
            unreadable or too small paintings.
    """
    dim = model.style_dim
    if (style_image is None) == (style_vector is None):
        raise UserError(f"{model.name} takes any painting as its style: pass one style_image "
                        "(a path or an image), a list of them, or a style_vector"
                        + (", not both." if style_image is not None else "."))
    if style_vector is not None:
        if style_blend_weights is not None:
            raise UserError("style_blend_weights blend style images; mix vectors yourself.")
        arr = np.asarray(style_vector, np.float32) if not isinstance(style_vector, str) else None
        rows = arr if arr is not None and arr.ndim == 2 else [style_vector]
        vectors = np.stack([check_vector(v, dim) for v in rows])
        return Conditioning(vectors, tuple(f"vector{i}" for i in range(len(vectors))),
                            several=np.ndim(style_vector) == 2, vectors=True)
    several = isinstance(style_image, (list, tuple))
    images = list(style_image) if several else [style_image]
    if not images:
        raise UserError("style_image is an empty list; give at least one painting.")
    vectors = predict(model, images)
    names = [_name(image, i) for i, image in enumerate(images)]
    if style_blend_weights is None:
        return Conditioning(vectors, tuple(names), several=several, vectors=True)
    w = check_blend_weights(style_blend_weights, len(images))
    blend = (w[:, None] * vectors.astype(np.float64)).sum(axis=0).astype(np.float32)
    suffix = "_".join(f"{n}_{int(round(x * 1000)):03d}" for n, x in zip(names, w))
    return Conditioning(blend[None], (suffix,), mixed=True, vectors=True)
