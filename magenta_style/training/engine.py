"""What the training loop needs from a backend: the `Engine` protocol.

`loop.train` is written against this interface only; `engine_tf.Engine`
(TensorFlow: `tf.function` + XLA, `tf.distribute`, tf.data) and
`engine_jax.Engine` (JAX: `jax.jit` over Keras's stateless API, the NumPy
loader) implement it. A new backend is a new module with one such class and
a line in `loop.engine_for_backend`.
"""

import typing


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

    def compile(self, model, loss_net, content_net, optimizer, loss_config, gram_table,
                coefficients, setup):
        """Builds `step` from the variables' current values (`modes.Parts.compile`)."""

    def step(self, images, labels):
        """One update, dispatched without waiting: (mean loss, {part: `[B]`}) as
        backend values; reading them waits for the step."""

    def sync(self):
        """Makes the Keras variables hold the step's weights and optimizer state."""
