"""What the trainer needs from a backend: the `Engine` protocol, and the one to use.

`runner.run_training` is written against this interface only;
`engine_tf.Engine` (TensorFlow: `tf.function` + XLA, `tf.distribute`,
tf.data) and `engine_jax.Engine` (JAX: `jax.jit` over Keras's stateless API,
the NumPy loader) implement it. A new backend is a new module with one such
class and a line in `engine_for_backend`.
"""

import typing

import keras

from magenta_style.errors import UserError


@typing.runtime_checkable
class Engine(typing.Protocol):
    """One backend's training step, data and logging.

    Attributes:
        is_chief: whether this process writes checkpoints, logs and grids.
        skip_stats: `data.photo_files.SkipStats` of the unreadable content
            photos skipped so far, or None (in-memory content, not started).
    """

    is_chief: bool
    skip_stats: typing.Any

    def scope(self):
        """Context manager under which the model, losses and optimizer are built."""

    def summary_writer(self):
        """A `storage.tensorboard.TensorBoardWriter` for the train dir, or None."""

    def batches(self, start_step):
        """Iterator of content batches `[B, S, S, 3]` in the form `step` takes
        (float32 in [0, 1], or uint8 in [0, 255] that the step scales),
        continuing the stream a run that stopped after `start_step` steps
        would have seen. The trainer calls its `close()` when the steps end
        (a JAX feed's thread stops then)."""

    def local_images(self, images):
        """This process's part of a batch as float32 NumPy in [0, 1] (style grid)."""

    def compile(self, model, optimizer, objective_fn, nets, constants=None,
                gradient_masks=None):
        """Builds `step` from the variables' current values.

        Args:
            model: the trained `keras.Model`; its non-trainable variables
                (batch norm statistics) update as a `training=True` call
                updates them.
            optimizer: a built Keras optimizer of `model.trainable_variables`.
            objective_fn: `(model_fn, net_fns, constants, images, second) ->
                (mean loss, {part: [B] float32})`, written with `keras.ops`:
                `model_fn(inputs, training)` runs `model`, `net_fns` the
                frozen `nets`, `constants` is `constants` as backend arrays,
                `images` the content batch `[B, S, S, 3]` float32 in [0, 1],
                `second` the step's second batch array (`step`'s).
            nets: frozen Keras models the objective reads (loss networks,
                a teacher).
            constants: optional nested dict of float32 arrays the objective
                reads (style Grams): passed to the step, not baked into it.
            gradient_masks: optional list, one per trainable variable, of
                None or an array the gradient is multiplied by (0 freezes
                entries; `modes.Setup.row_masks`).
        """

    def step(self, images, second):
        """One update, dispatched without waiting: (mean loss, {part: `[B]`}) as
        backend values; reading them waits for the step. `second` (`[B, ...]`,
        NumPy) is the objective's second batch array: style labels, one-hot
        style weights or paintings."""

    def sync(self):
        """Makes the Keras variables hold the step's weights and optimizer state."""


def engine_for_backend(cfg, content):
    """The `Engine` of the active Keras backend for `cfg` and optional in-memory
    `content` (float32 `[N, S, S, 3]` in [0, 1])."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        from magenta_style.training import engine_tf

        return engine_tf.Engine(cfg, content)
    if backend == "jax":
        from magenta_style.training import engine_jax

        return engine_jax.Engine(cfg, content)
    raise UserError(f"Training supports the tensorflow and jax Keras backends. "
                    f"Received: KERAS_BACKEND={backend}")
