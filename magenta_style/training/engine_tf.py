"""The TensorFlow side of `training`: tf.distribute, tf.data, XLA, TensorBoard.

The gradient computation is one `tf.function(jit_compile=True)`; the
optimizer update runs outside XLA, inside the strategy's replica context,
where Keras's optimizer all-reduces the gradients across replicas. Each
replica's loss is divided by the replica count, so summed gradients equal a
single process's gradients on the whole global batch.

Data order: the content stream is cut into per-replica batches; batch j
goes to replica `j % R` of global step `j // R`. Each input pipeline keeps
only its replicas' batches, so R replicas on any number of workers see
exactly the examples a single process sees at the same step (the
distributed test relies on it).
"""

import json
import os
import re

import numpy as np
import tensorflow as tf

from magenta_style.errors import UserError
from magenta_style.storage import tensorboard
from magenta_style.training import modes


def make_strategy(name):
    """A `tf.distribute.Strategy` for "default", "mirrored" or "multi_worker"."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        try:
            return tf.distribute.MultiWorkerMirroredStrategy()
        except (ValueError, RuntimeError) as e:
            raise UserError(f"Cannot start multi_worker training: {e}. Check TF_CONFIG "
                            "and start the strategy before other TensorFlow work.") from None
    raise UserError(f"Unknown --strategy {name!r}; use default, mirrored or multi_worker.")


def is_chief():
    """True unless TF_CONFIG names this process a non-chief worker."""
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = tf_config.get("task", {})
    cluster = tf_config.get("cluster", {})
    kind, index = task.get("type"), int(task.get("index", 0))
    if kind in (None, "chief"):
        return True
    return kind == "worker" and index == 0 and "chief" not in cluster


class Engine:
    """Step, data and logging for the TensorFlow backend (see module doc)."""

    def __init__(self, cfg, content=None):
        self.cfg = cfg
        self.content = content
        self.strategy = make_strategy(cfg.strategy)
        self.replicas = self.strategy.num_replicas_in_sync
        self.is_chief = is_chief()
        if cfg.batch_size % self.replicas:
            raise UserError(
                f"--batch_size={cfg.batch_size} must divide among {self.replicas} "
                "replicas.")
        self.per_replica = cfg.batch_size // self.replicas
        from magenta_style.data.photo_files import SkipStats

        self.skip_stats = SkipStats()

    def scope(self):
        return self.strategy.scope()

    def summary_writer(self):
        return tensorboard.TensorBoardWriter(os.path.join(self.cfg.train_dir, "logs"))

    # ---------------------------------------------------------------- data
    def _content_dataset(self, start_step, batch_size, ctx):
        """Per-replica batches for one input pipeline (see module doc)."""
        cfg = self.cfg
        replicas = self.replicas
        local = replicas // ctx.num_input_pipelines
        if self.content is not None:
            arr = modes.in_memory_content(cfg, self.content)
            skip = (start_step * cfg.batch_size) % len(arr)
            ds = tf.data.Dataset.from_tensor_slices(arr).repeat().skip(skip)
            ds = ds.batch(batch_size, drop_remainder=True)
            if ctx.num_input_pipelines > 1:
                # Keep this pipeline's replicas' batches: exact global order.
                pipeline = ctx.input_pipeline_id
                ds = ds.enumerate().filter(
                    lambda j, x: (j % replicas) // local == pipeline).map(lambda j, x: x)
            return ds
        from magenta_style.data import preprocessing as preprocessing_lib
        from magenta_style.data import tf_pipeline

        shards = {}
        if ctx.num_input_pipelines > 1:
            # Files are split among workers (no file is decoded twice); the
            # order then differs from a single process's, which is fine.
            shards = dict(num_shards=ctx.num_input_pipelines,
                          shard_index=ctx.input_pipeline_id)
        # Reseed per resume: the content order after a restart is a fresh
        # shuffle, not a replay (tf.data shuffle state is not checkpointed).
        source = {}
        if str(cfg.content_images).startswith("tfds:"):
            source = dict(data_dir=cfg.tfds_data_dir, download=cfg.download)
        return tf_pipeline.content_dataset(
            cfg.content_images, batch_size,
            preprocessing=preprocessing_lib.Preprocessing.from_config(cfg),
            seed=cfg.seed * 1000003 + start_step, stats=self.skip_stats, **shards, **source)

    def batches(self, start_step):
        """Iterator of distributed `[per_replica, S, S, 3]` image batches."""

        def dataset_fn(ctx):
            ds = self._content_dataset(start_step, self.per_replica, ctx)
            return ds.prefetch(tf.data.AUTOTUNE)

        iterator = iter(self.strategy.distribute_datasets_from_function(dataset_fn))
        while True:
            try:
                yield next(iterator)
            except tf.errors.OpError as e:
                # A UserError raised inside the pipeline (no readable photos)
                # arrives wrapped in a TF error with a traceback; unwrap it.
                m = re.search(r"UserError: ([^\n]*)", e.message)
                detail = m.group(1) if m else e.message.splitlines()[0]
                raise UserError(f"Reading content images failed: {detail}") from None

    def local_images(self, images):
        return self.strategy.experimental_local_results(images)[0].numpy()

    # ---------------------------------------------------------------- step
    def compile(self, model, optimizer, objective_fn, nets, constants=None,
                gradient_masks=None):
        """Builds `step` for `objective_fn` (see `engine.Engine.compile`).

        Here `model_fn` and `net_fns` are the Keras models themselves (batch
        norm statistics update in the call) and `constants` are
        non-trainable `tf.Variable`s.
        """
        strategy = self.strategy
        replicas = self.replicas
        with strategy.scope():
            # Variables, not constants: a trace would otherwise embed every
            # style's Grams (MBs per style) in its graph.
            held = tf.nest.map_structure(lambda v: tf.Variable(v, trainable=False),
                                         constants or {})
        trainable = model.trainable_variables
        masks = list(gradient_masks or [None] * len(trainable))

        @tf.function(jit_compile=self.cfg.jit_compile, reduce_retracing=True,
                     autograph=False)
        def gradients(images, second):
            with tf.GradientTape() as tape:
                loss, parts = objective_fn(model, nets, held, images, second)
                scaled = optimizer.scale_loss(loss / replicas)
            grads = tape.gradient(scaled, trainable)
            grads = [g if m is None else g * tf.constant(m) for g, m in zip(grads, masks)]
            return grads, loss, parts

        def replica_step(images, second):
            grads, loss, parts = gradients(images, second)
            optimizer.apply_gradients(zip(grads, trainable))
            return loss, parts

        # Retracing reduced: random painting sizes change the second array's
        # shape from step to step.
        @tf.function(autograph=False, reduce_retracing=True)
        def distributed_step(images, second):
            loss, parts = strategy.run(replica_step, args=(images, second))
            loss = strategy.reduce(tf.distribute.ReduceOp.MEAN, loss, axis=None)
            parts = {k: strategy.gather(v, axis=0) for k, v in parts.items()}
            return loss, parts

        self._step = distributed_step

    def step(self, images, second):
        """One update. Returns (mean loss, {part: `[B]`}) as tensors.

        Each replica gets its `per_replica` rows of `second`, the rows of the
        content batch it holds.
        """
        b = self.per_replica
        second = np.asarray(second)
        dist_second = self.strategy.experimental_distribute_values_from_function(
            lambda ctx: tf.constant(
                second[ctx.replica_id_in_sync_group * b:
                       (ctx.replica_id_in_sync_group + 1) * b]))
        return self._step(images, dist_second)

    def sync(self):
        """Variables already hold the state (nothing to copy back)."""
