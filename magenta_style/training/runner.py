"""`run_training`: the one run every trainer is, given a task that says what differs.

A run: check the config, make the train dir, pick the backend's engine, let
the task load what it needs, seed, let it build the networks, check the
train dir holds this run (`run_dir.check_train_dir`) and resume its newest
checkpoint, compile the step from the task's objective, run the steps
(`step_loop.run_steps`: logs, metrics, checkpoints, SIGINT/SIGTERM), write
the last checkpoint and the loss curve, then the model with its provenance
(`provenance.build_provenance`), and the style grids where the task has
styles to show.

A task (`Task`) is the part of a trainer that is its own: multi-style
training (`loop.MultiStyleTask`), arbitrary-style training
(`arbitrary.ArbitraryTask`) and distillation (`distill.DistillTask`).
"""

import dataclasses
import os
import sys
import typing

import keras
import numpy as np

from magenta_style.errors import UserError
from magenta_style.training import config as train_config
from magenta_style.training import engine as engine_lib
from magenta_style.training import provenance as provenance_lib
from magenta_style.training import run_dir
from magenta_style.training import step_loop
from magenta_style.training import train_state


@dataclasses.dataclass
class Built:
    """What a task builds for a run (`Task.build`).

    Attributes:
        model: the trained `keras.Model`; its variables (and the
            optimizer's) are what checkpoints hold.
        optimizer: a Keras optimizer built on `model.trainable_variables`.
        objective: `engine.Engine.compile`'s `objective_fn`.
        nets: the frozen Keras models the objective reads.
        architecture: the trained network's architecture dict (config.json).
        names: the names a step's labels index (style or painting names);
            config.json's `style_names` and the per-name curves.
        constants: the objective's `constants` (nested dict of arrays).
        gradient_masks: per trainable variable, None or a gradient mask.
        grid_styles: a style set (`names`, `images`) to draw style grids
            of, or None for no grids.
    """

    model: keras.Model
    optimizer: keras.optimizers.Optimizer
    objective: typing.Callable
    nets: list
    architecture: dict
    names: list
    constants: dict = dataclasses.field(default_factory=dict)
    gradient_masks: typing.Optional[list] = None
    grid_styles: typing.Any = None


@typing.runtime_checkable
class Task(typing.Protocol):
    """What one trainer adds to `run_training`.

    Attributes:
        trained_by: the provenance's `trained_by` (the trainer's module).
        content: in-memory photos (float32 `[N, S, S, 3]` in [0, 1]) or None
            for the config's `content_images`.
        curve_keys: the scalars `loss_curve.png` draws, or None for the
            losses of Magenta's objective.
    """

    trained_by: str
    content: typing.Any
    curve_keys: typing.Optional[tuple]

    def check_config(self):
        """Refuses settings the trainer cannot run with (one-line `UserError`)."""

    def prepare(self, engine):
        """Loads what the networks are built from (styles, teacher), before seeding."""

    def build(self, engine):
        """A `Built`: networks, optimizer and objective, right after seeding."""

    def batch(self, step):
        """`(labels [B] int, second)`: the step's labels (index `Built.names`)
        and the objective's second batch array, a pure function of `step`."""

    def provenance(self, built):
        """{key: JSON value}: what only this trainer's provenance records."""

    def result(self, built, provenance):
        """The trained model to return (with `provenance`)."""

    def save(self, result, model_dir, overwrite):
        """Writes `result` to `model_dir` in the format `stylize` loads
        (`overwrite`: the config's, see `model_format.save_model`)."""


class SavesPasticheNetwork:
    """`Task.result` and `Task.save` of a trainer whose result is a `PasticheNetwork`."""

    def result(self, built, provenance):
        built.model.provenance = provenance
        return built.model

    def save(self, result, model_dir, overwrite):
        from magenta_style.storage import model_format

        model_format.save_model(result, model_dir, style_names=list(result.style_names),
                                provenance=result.provenance, overwrite=overwrite)


def set_seed(seed):
    """`keras.utils.set_random_seed` without importing TensorFlow under JAX."""
    if keras.backend.backend() == "tensorflow":
        keras.utils.set_random_seed(seed)
        return
    import random

    # set_random_seed would import TensorFlow (to seed it) where installed,
    # which costs seconds and is what the JAX path must not need.
    try:
        from keras.src.backend.common import global_state
        from keras.src.utils import rng_utils

        global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
    except (ImportError, AttributeError):  # Keras moved it: fall back.
        keras.utils.set_random_seed(seed)
        return
    random.seed(seed)
    np.random.seed(seed)


def resume(cfg, engine, model, optimizer, resolved):
    """Checks `cfg.train_dir` holds this run or none (`run_dir.check_train_dir`,
    which writes `resolved` as its config.json) and restores its newest
    checkpoint into `model` and `optimizer`.

    Returns:
        `(start, latest)`: the step the variables now hold (0 when there was
        no checkpoint) and the checkpoint's path (None).
    """
    run_dir.check_train_dir(cfg, resolved, engine.is_chief)
    say = (lambda line: print(line, file=sys.stderr)) if engine.is_chief else None
    with engine.scope():
        latest, meta = train_state.restore_latest(cfg.train_dir, model, optimizer, say)
    if not latest:
        return 0, None
    start = int(meta["step"])
    if meta["fresh_optimizer"] and engine.is_chief:
        print(f"Resuming at step {start} from weights alone ({latest}): the "
              "optimizer starts afresh.", file=sys.stderr)
    return start, latest


def grid_photos(cfg, first_batch):
    """Up to 4 photos of `cfg.grid_images`, else 3 of the run's first batch
    (float32 `[S, S, 3]` in [0, 1] each)."""
    from magenta_style.storage import image_io

    if cfg.grid_images:
        import glob as glob_lib

        files = sorted(glob_lib.glob(cfg.grid_images))[:4]
        if not files:
            raise UserError(f"--grid_images matched no files. Received: {cfg.grid_images!r}")
        return [image_io.load_image(f, max_size=cfg.image_size) for f in files]
    return [np.asarray(x, "float32") for x in first_batch[:3]]


def _report_skips(stats):
    """One line at the end of a run: how many content photos could not be read."""
    if stats is None or not stats.skipped:
        return
    files = stats.skipped_files
    example = f", such as {files[0]}" if files else ""
    print(f"Skipped {stats.skipped} unreadable content photo(s) in this run "
          f"({len(files)} distinct file(s){example}); fix or remove them.", file=sys.stderr)


def model_dir(cfg):
    """Where the run writes its model: `--model_dir`, else `<train_dir>/model`."""
    return cfg.model_dir or os.path.join(cfg.train_dir, train_config.MODEL_SUBDIR)


def check_outputs(cfg):
    """Refuses, before any work, a train dir or model folder the run could not write.

    The train dir must be or become a writable folder. The model folder
    must not be or hold the train dir or a model the run reads, and may
    hold files only if they are an earlier model (`--overwrite` forces
    it); see `model_format.check_model_output`.
    """
    from magenta_style.storage import atomic
    from magenta_style.storage import model_format

    atomic.check_output_dir(cfg.train_dir, "train folder (--train_dir)")
    reads = [getattr(cfg, name, None) for name in ("init_from", "teacher", "style_dataset_file")]
    inputs = [cfg.train_dir] + [p for p in reads if p and os.path.exists(p)]
    model_format.check_model_output(model_dir(cfg), "model folder (--model_dir)",
                                    overwrite=getattr(cfg, "overwrite", False), inputs=inputs)


def run_training(config, task):
    """Runs (or resumes) the training `task` describes, as `config` sets it.

    Args:
        config: the trainer's config (`train_dir`, `seed`, `train_steps`,
            `log_every`, `save_every`, `keep_checkpoints`, `model_dir`, and
            `grid_every`, `grid_images` where the task draws grids).
        task: a `Task`.

    Returns:
        `task.result(...)`: the trained model, also written to
        `config.model_dir` (default `<train_dir>/model`). A run stopped by
        SIGINT/SIGTERM saves a checkpoint, writes the model so far there
        (provenance `steps` < `train_steps`) and raises `KeyboardInterrupt`;
        rerunning continues from the checkpoint.

    Raises:
        UserError: bad settings or input, a train_dir holding another run
            (one-line messages).
    """
    cfg = config
    task.check_config()
    check_outputs(cfg)
    os.makedirs(cfg.train_dir, exist_ok=True)
    engine = engine_lib.engine_for_backend(cfg, task.content)
    task.prepare(engine)
    set_seed(cfg.seed)  # Before any random initial weight.
    built = task.build(engine)
    model, optimizer = built.model, built.optimizer
    resolved = run_dir.resolved_config(cfg, built.architecture, built.names)
    start, latest = resume(cfg, engine, model, optimizer, resolved)
    engine.compile(model, optimizer, built.objective, built.nets, built.constants,
                   built.gradient_masks)
    batches = engine.batches(start)
    writer = engine.summary_writer() if engine.is_chief else None
    first = None  # The first content batch, for style grids.

    def step_fn(step):
        nonlocal first
        labels, second = task.batch(step)
        images = next(batches)
        if first is None and built.grid_styles is not None:
            first = engine.local_images(images)
        return labels, engine.step(images, second)

    def grid(step):
        engine.sync()
        run_dir.write_grid(cfg, model, built.grid_styles, grid_photos(cfg, first), step,
                           writer)

    extra = None
    if built.grid_styles is not None:
        extra = (lambda step: bool(cfg.grid_every and step % cfg.grid_every == 0
                                   and engine.is_chief and step != cfg.train_steps), grid)

    def save_checkpoint(step):
        engine.sync()
        if engine.is_chief:
            train_state.save_checkpoint(cfg.train_dir, step, model, optimizer,
                                        run_dir.fingerprint(resolved),
                                        keep=cfg.keep_checkpoints)

    try:
        done, last, stopped = step_loop.run_steps(
            cfg, engine, start, step_fn, step_loop.Curves(built.names), writer,
            save_checkpoint, extra=extra)
    finally:
        batches.close()
    if done > start or not latest:
        save_checkpoint(done)
    if engine.is_chief and done > start:
        run_dir.write_curve(cfg, keys=task.curve_keys)
    engine.sync()

    provenance = provenance_lib.build_provenance(
        cfg, task.trained_by, done, last, in_memory_content=task.content is not None,
        extras=task.provenance(built), seeded_from=resolved.get(run_dir.SEEDED_FROM))
    result = task.result(built, provenance)
    # Written on an early stop too: runs cut short by a time limit
    # (accelerator leases) leave a usable model, its provenance saying how
    # many of train_steps it has had. A rerun of a finished run writes it
    # again (to a new --model_dir, say).
    if engine.is_chief and (done > start or not stopped):
        task.save(result, model_dir(cfg), getattr(cfg, "overwrite", False))
    # Ctrl-C, `timeout`, SIGTERM: no final grid; rerunning the command
    # continues from the checkpoint.
    if (not stopped and engine.is_chief and built.grid_styles is not None
            and (first is not None or cfg.grid_images)):
        grid(done)
    if engine.is_chief:
        _report_skips(engine.skip_stats)
    if writer is not None:
        writer.close()
    if stopped:
        print(f"Stopped at step {done}; checkpoint and model saved in {cfg.train_dir}. "
              "Rerun the same command to continue.", file=sys.stderr)
        raise KeyboardInterrupt
    return result
