"""The one runner: a photo and its conditioning rows in, pastiches out.

`run(network, photo, rows, options, regions)` is where every pastiche is
computed: the compiled whole-image forward for a uniform style
(`runner(model)`, also used by training's style grids, export and video),
the compiled per-pixel forward for styles in regions (`region_runner`,
`stylization.regions.forward`), and tiling (`stylization.tiling`) above
`options.tile_threshold` pixels. Compiled functions are made once per model
(`cached`) and kept while the model lives.
"""

import weakref

import keras
import numpy as np

from magenta_style.stylization import block_step
from magenta_style.stylization import options as options_lib
from magenta_style.stylization import precision as precision_lib
from magenta_style.stylization import regions as regions_lib
from magenta_style.stylization import tiling

_RUNNERS = weakref.WeakKeyDictionary()


def runner(model, jit_compile=False, precision="float32"):
    """A compiled `(images, style_weights) -> pastiches` for `model`.

    Args:
        model: a `PasticheNetwork` (`build_transformer` / `load_model`) or an
            `ArbitraryTransformer` (its second input is the style vector).
        jit_compile: TensorFlow only: compile with XLA (once per image size)
            instead of running the dynamic-shape graph.
        precision: "float32" (the Keras model as it is) or "bfloat16"
            (`block_step.forward`: bfloat16 convolutions, float32 norms;
            see `stylization.precision`). Not "auto": `run` resolves that.

    Returns:
        A function of `images` `[B, H, W, 3]` float32 in [0, 1] and
        `style_weights` `[B, num_styles]` float32, returning `[B, H, W, 3]`
        float32 in [0, 1] (a backend tensor). It reads the model's current
        weights at every call, so a model being trained can be run between
        steps. Under TensorFlow one trace serves every image size (dynamic H,
        W and batch); under JAX it compiles once per shape.
    """
    if precision == "float32":
        return cached(model, jit_compile, lambda: _build(model, jit_compile, precision))
    return cached(model, (bool(jit_compile), precision),
                  lambda: _build(model, jit_compile, precision))


def cached(model, key, build):
    """`build()`, made once per `model` and `key` and kept while the model lives.

    The runner's cache, shared with the model's other compiled functions
    (regions, the video's smoothed statistics, the style predictor), so each
    traces once per model.
    """
    per_model = _RUNNERS.setdefault(model, {})
    fn = per_model.get(key)
    if fn is None:
        fn = per_model[key] = build()
    return fn


def _build(model, jit_compile, precision):
    backend = keras.backend.backend()
    if precision == "float32":
        def call(x, w):
            return model([x, w], training=False)
    else:
        def call(x, w):
            return block_step.forward(model, x, w, precision)
    if getattr(model, "_distribute_strategy", None) is not None:
        # A model built in a tf.distribute scope: a compiled call would run
        # collectives that the chief alone cannot complete; call it eagerly.
        return call
    if backend == "tensorflow":
        import tensorflow as tf

        # Style weights [B, num_styles], or an arbitrary transformer's style vectors.
        n = model.inputs[1].shape[-1]
        return tf.function(
            call,
            input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32),
                             tf.TensorSpec([None, n], tf.float32)],
            jit_compile=jit_compile or None,
            # The block walk has no tensor-dependent Python control flow;
            # AutoGraph only fails on its closures (with a warning).
            autograph=precision == "float32",
            reduce_retracing=True)
    if backend == "jax" and precision == "float32":
        import jax

        @jax.jit
        def call(trainable, non_trainable, x, w):
            return model.stateless_call(trainable, non_trainable, [x, w], training=False)[0]

        def run(x, w):
            # Current values, not donated: a training engine may hold them.
            return call([v.value for v in model.trainable_variables],
                        [v.value for v in model.non_trainable_variables], x, w)

        return run
    return lambda x, w: model([x, w], training=False)


def region_runner(model, jit_compile=False, statistics="per_style"):
    """A compiled `regions.forward` for `model`: `(images, weights, rows) -> pastiches`.

    Shapes as `regions.forward`; under TensorFlow one trace serves every
    image size and region count (dynamic shapes), `jit_compile` uses XLA.
    Other backends run `forward` eagerly.
    """
    def build():
        if keras.backend.backend() != "tensorflow":
            return lambda x, m, r: regions_lib.forward(model, x, m, r, statistics)
        import tensorflow as tf

        # A row's width: num_styles, or an ArbitraryTransformer's style_dim.
        n = model.inputs[1].shape[-1]
        return tf.function(
            lambda x, m, r: regions_lib.forward(model, x, m, r, statistics),
            input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32),
                             tf.TensorSpec([None, None, None, None], tf.float32),
                             tf.TensorSpec([None, n], tf.float32)],
            jit_compile=jit_compile or None, reduce_retracing=True)

    return cached(model, ("regions", bool(jit_compile), statistics), build)


def run(network, photo, rows, options=None, regions=None, batch_pixels=4_000_000):
    """The raw pastiches of one photo, one per conditioning row (or one with regions).

    Args:
        network: a `PasticheNetwork` or an `ArbitraryTransformer`.
        photo: `[H, W, 3]` float32 in [0, 1], any H, W >= 1.
        rows: `[K, D]` float32 conditioning rows (style weights, or style
            vectors of an `ArbitraryTransformer`).
        options: `RenderOptions` (tile_size, tile_threshold, jit_compile,
            region_statistics, precision are read); default
            `RenderOptions()`. The precision applies to the whole-image
            pass; tiles and regions run float32.
        regions: optional `masks.Regions` of this photo: then ONE pastiche
            with row k where `regions.weights[..., k]` says, the photo
            showing where the masks cover less than all.
        batch_pixels: at most this many pixels per network call (rows are
            batched when the image is small).

    Returns:
        `[K, H, W, 3]` float32 in [0, 1] (`[1, H, W, 3]` with `regions`),
        before colour preservation and strength (`render.finish`).
    """
    options = options or options_lib.RenderOptions()
    image = np.asarray(photo, np.float32)
    rows = np.asarray(rows, np.float32)
    h, w = image.shape[:2]
    weights = None if regions is None else regions.weights
    # Tiny images: mirror-pad up to MIN_SIZE, crop back after.
    pad = [[0, max(0, options_lib.MIN_SIZE - h)], [0, max(0, options_lib.MIN_SIZE - w)], [0, 0]]
    if pad[0][1] or pad[1][1]:
        image = np.pad(image, pad, mode="symmetric")
        if weights is not None:
            weights = np.pad(weights, pad, mode="symmetric")
    tiled = image.shape[0] * image.shape[1] > options.tile_threshold
    if weights is not None:
        if tiled:
            out = regions_lib.forward_tiled(network, image, weights, rows,
                                            options.region_statistics, options.tile_size)
        else:
            fn = region_runner(network, options.jit_compile, options.region_statistics)
            out = np.asarray(fn(image[None], np.asarray(weights, np.float32)[None], rows))[0]
        return regions.show_photo(out[None, :h, :w], photo)
    if tiled:
        out = np.stack([tiling.stylize_tiled(network, image, row, tile_size=options.tile_size)
                        for row in rows])
    else:
        precision = precision_lib.resolve(
            options.precision, network,
            lambda p: runner(network, options.jit_compile, p), image, rows)
        fn = runner(network, options.jit_compile, precision)
        per_call = max(1, batch_pixels // (image.shape[0] * image.shape[1]))
        chunks = []
        for start in range(0, len(rows), per_call):
            part = rows[start:start + per_call]
            batch = np.broadcast_to(image[None], (len(part),) + image.shape)
            chunks.append(np.asarray(fn(batch, part)))
        out = np.concatenate(chunks)
    return out[:, :h, :w, :]
