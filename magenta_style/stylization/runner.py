"""The one compiled runner of the network on whole images, per model and backend.

`stylize` (and the studio through it), the style grids of training and
evaluation, and the SavedModel signatures all run the network through
`runner(model)`, and so do video frames stylized one by one. Only code
that normalises with other statistics or gamma/beta walks the blocks itself
(`stylization.block_walk`): tiling (whole-image statistics gathered tile by
tile), styles in regions (`stylization.regions.map_runner`: gamma/beta per
pixel) and video's statistics averaged over time (`video.temporal`).
"""

import weakref

import keras

_RUNNERS = weakref.WeakKeyDictionary()


def runner(model, jit_compile=False):
    """A compiled `(images, style_weights) -> pastiches` for `model`.

    Args:
        model: a `PasticheNetwork` (`build_transformer` / `load_model`) or an
            `ArbitraryTransformer` (its second input is the style vector).
        jit_compile: TensorFlow only: compile with XLA (once per image size)
            instead of running the dynamic-shape graph.

    Returns:
        A function of `images` `[B, H, W, 3]` float32 in [0, 1] and
        `style_weights` `[B, num_styles]` float32, returning `[B, H, W, 3]`
        float32 in [0, 1] (a backend tensor). It reads the model's current
        weights at every call, so a model being trained can be run between
        steps. Under TensorFlow one trace serves every image size (dynamic H,
        W and batch); under JAX it compiles once per shape.
    """
    return cached(model, jit_compile, lambda: _build(model, jit_compile))


def cached(model, key, build):
    """`build()`, made once per `model` and `key` and kept while the model lives.

    The runner's cache, shared with other compiled functions of a model (the
    video's statistics-sharing network), so each traces once per model.
    """
    per_model = _RUNNERS.setdefault(model, {})
    fn = per_model.get(key)
    if fn is None:
        fn = per_model[key] = build()
    return fn


def _build(model, jit_compile):
    backend = keras.backend.backend()
    if getattr(model, "_distribute_strategy", None) is not None:
        # A model built in a tf.distribute scope: a compiled call would run
        # collectives that the chief alone cannot complete; call it eagerly.
        return lambda x, w: model([x, w], training=False)
    if backend == "tensorflow":
        import tensorflow as tf

        # Style weights [B, num_styles], or an arbitrary transformer's style vectors.
        n = model.inputs[1].shape[-1]
        return tf.function(
            lambda x, w: model([x, w], training=False),
            input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32),
                             tf.TensorSpec([None, n], tf.float32)],
            jit_compile=jit_compile or None,
            reduce_retracing=True)
    if backend == "jax":
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
