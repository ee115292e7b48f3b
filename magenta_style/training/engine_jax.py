"""The JAX side of `training`: a jitted stateless step, NumPy/Pillow input.

For accelerator machines that have JAX but no TensorFlow: nothing here (or
in what it imports) imports TensorFlow. The model, the loss networks and the
objective are the same Keras objects as under TensorFlow; the step runs
them through Keras's stateless API (`stateless_call`,
`optimizer.stateless_apply`) inside one `jax.jit`, so the weights and Adam
state live as JAX arrays between steps and are copied back into the Keras
variables only to checkpoint, draw a grid or save (`sync`).

Content batches reach the step through `data.prefetch.Prefetch`: a
background thread assembles each batch (uint8 from the photo loader, 4x
fewer bytes than float32) and copies it to the device two batches ahead,
so the thread that dispatches steps does no input work; the step scales
uint8 to [0, 1] on the device (`unit_float`).

One device only (`--strategy=default`). TensorBoard needs TensorFlow's
summary writer, so this path logs to `<train_dir>/metrics.jsonl` and writes
the style grids as PNG files.
"""

import contextlib
import os

import jax
import keras
import numpy as np

from magenta_style.data import prefetch
from magenta_style.errors import UserError
from magenta_style.training import modes

# Batches kept ready on the device: one covers a slow photo, a second the
# copy of the next batch while the step reads the current one.
PREFETCH_BATCHES = 2


# x / 255 for every uint8 value, as NumPy rounds it. XLA's own division by
# 255 differs in the last bit for some values (measured on XLA:CPU), and the
# two input paths must give the same step.
_UNIT_TABLE = np.arange(256, dtype=np.float32) / np.float32(255.0)


def unit_float(images):
    """Content images as float32 in [0, 1]: uint8 `[B, H, W, 3]` becomes
    exactly the loader's float32 output (x / 255); float32 passes unchanged."""
    if images.dtype == jax.numpy.uint8:
        return jax.numpy.asarray(_UNIT_TABLE)[images.astype(jax.numpy.int32)]
    return images


def _enable_compilation_cache(train_dir):
    """Keeps XLA programs in `<train_dir>/jax_cache` unless one is configured.

    Keras-on-JAX compiles every initializer and the train step; runs cut
    short by a time limit and resumed would otherwise spend part of each run
    recompiling what the previous run compiled.
    """
    if jax.config.jax_compilation_cache_dir:
        return
    jax.config.update("jax_compilation_cache_dir", os.path.join(train_dir, "jax_cache"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


class Engine:
    """Step, data and state for the JAX backend (see module doc)."""

    def __init__(self, cfg, content=None):
        if cfg.strategy != "default":
            raise UserError(
                f"--strategy={cfg.strategy} needs TensorFlow; under KERAS_BACKEND=jax "
                "train on one device with --strategy=default.")
        self.cfg = cfg
        self.content = content
        self.is_chief = jax.process_index() == 0
        _enable_compilation_cache(cfg.train_dir)
        self.loader = None
        self.state = None  # The step's (trainable, non-trainable, optimizer) values.

    @property
    def skip_stats(self):
        return self.loader.stats if self.loader is not None else None

    def scope(self):
        return contextlib.nullcontext()

    def summary_writer(self):
        return None

    # ---------------------------------------------------------------- data
    def batches(self, start_step):
        """Iterator of `[B, S, S, 3]` device arrays: uint8 in [0, 255] from photo
        files, float32 in [0, 1] from in-memory content; prefetched (module doc)."""
        cfg = self.cfg
        b = cfg.batch_size
        if self.content is not None:
            arr = modes.in_memory_content(cfg, self.content)

            def cycle():
                # Same order as the tf.data path: element e of the stream is
                # arr[e % N], and step s (1-based) takes elements from (s-1)*B.
                position = start_step * b
                while True:
                    yield arr[np.arange(position, position + b) % len(arr)]
                    position += b

            return prefetch.Prefetch(cycle(), PREFETCH_BATCHES, jax.device_put)
        from magenta_style.data import numpy_loader
        from magenta_style.data import photo_files
        from magenta_style.data import preprocessing as preprocessing_lib

        files = photo_files.list_image_files(cfg.content_images)
        # Continue the stream where the checkpointed step left it: a resumed
        # run sees the photos (and crops, flips) the uninterrupted one would.
        element = start_step * b
        self.loader = numpy_loader.NumpyContentLoader(
            files, b, preprocessing=preprocessing_lib.Preprocessing.from_config(cfg),
            seed=cfg.seed, start_epoch=element // len(files), start_position=element % len(files),
            dtype="uint8")
        return prefetch.Prefetch(self.loader, PREFETCH_BATCHES, jax.device_put)

    def local_images(self, images):
        return np.asarray(unit_float(images))

    # ---------------------------------------------------------------- step
    def compile(self, model, optimizer, objective_fn, nets, constants=None,
                gradient_masks=None):
        """Builds `step` for `objective_fn` (see `engine.Engine.compile`).

        The step is one jitted function of (state, constants, images,
        second): the state (weights, batch norm statistics, optimizer
        variables) is donated and returned; `constants` and the nets' values
        are arguments, not constants baked into the program.
        """
        self.model = model
        self.optimizer = optimizer
        masks = list(gradient_masks or [None] * len(model.trainable_variables))
        self.state = (
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            [v.value for v in optimizer.variables],
        )
        self.constants = (
            [[v.value for v in net.non_trainable_variables] for net in nets],
            jax.tree_util.tree_map(jax.numpy.asarray, constants or {}),
        )

        def loss_fn(trainable, non_trainable, optimizer_values, constants, images, second):
            net_values, held = constants
            updated = []

            def model_fn(inputs, training=False):
                out, new = model.stateless_call(trainable, non_trainable, inputs,
                                                training=training)
                updated.append(new)
                return out

            net_fns = [
                (lambda x, net=net, values=values: net.stateless_call([], values, x)[0])
                for net, values in zip(nets, net_values)]
            loss, parts = objective_fn(model_fn, net_fns, held, images, second)
            # The loss scale (mixed precision) is an optimizer variable.
            mapping = list(zip(optimizer.variables, optimizer_values))
            with keras.StatelessScope(state_mapping=mapping):
                scaled = optimizer.scale_loss(loss)
            return scaled, (loss, parts, updated[-1])

        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

        def step(state, constants, images, second):
            trainable, non_trainable, optimizer_values = state
            (_, (loss, parts, non_trainable)), grads = grad_fn(
                trainable, non_trainable, optimizer_values, constants,
                unit_float(images), second)
            grads = [g if m is None else g * m for g, m in zip(grads, masks)]
            trainable, optimizer_values = optimizer.stateless_apply(
                optimizer_values, grads, trainable)
            return (trainable, non_trainable, optimizer_values), loss, parts

        self._step = (jax.jit(step, donate_argnums=(0,)) if self.cfg.jit_compile
                      else step)

    def step(self, images, second):
        """One update, dispatched without waiting for it (JAX runs it async).

        Returns (mean loss, {part: `[B]`}) as JAX arrays; reading them
        (`float`, `np.asarray`) waits for the step.
        """
        self.state, loss, parts = self._step(self.state, self.constants,
                                             jax.numpy.asarray(images),
                                             jax.numpy.asarray(second))
        return loss, parts

    def sync(self):
        """Puts the step's weights and Adam state into the Keras variables.

        The variables then share the step's buffers, which the next step
        donates: read them (checkpoint, grid) before it runs, and never
        through a function that donates its arguments (Keras's compiled
        predict does; `stylization.runner` does not).
        """
        if self.state is None:
            return
        trainable, non_trainable, optimizer_values = self.state
        for variable, value in zip(self.model.non_trainable_variables, non_trainable):
            variable.assign(value)
        for variable, value in zip(self.model.trainable_variables, trainable):
            variable.assign(value)
        for variable, value in zip(self.optimizer.variables, optimizer_values):
            variable.assign(value)
