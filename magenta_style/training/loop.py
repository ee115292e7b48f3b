"""`train`: the training loop, for all three modes and both Keras backends.

Every example in a batch draws its own style (Magenta's queues did the same):
labels come from `labels_for_step(seed, step, ...)`, a pure function of the
step, so a resumed run draws what the killed run would have drawn.

What is trained is set up by `modes`; the step itself is backend-specific
(`engine_tf`: `tf.function` with XLA and `tf.distribute`; `engine_jax`:
`jax.jit` over Keras's stateless API), both computing
`losses.objective.compute_losses`. Checkpoints (`train_state`) are NumPy
files that either backend resumes; the train dir's other files are
`run_dir`'s.
"""

import dataclasses
import os
import signal
import sys
import threading
import time

import keras
import numpy as np

from magenta_style.errors import UserError
from magenta_style.training import config as train_config
from magenta_style.training import modes
from magenta_style.training import run_dir
from magenta_style.training import train_state


def labels_for_step(seed, step, batch_size, num_styles, offset=0):
    """The style label of every example of a step: `[batch_size]` int32.

    A pure function of (seed, step) so a resumed or a distributed run draws
    the same labels as an uninterrupted single-process one.
    """
    rng = np.random.default_rng([int(seed), int(step)])
    return (rng.integers(0, num_styles, size=batch_size) + offset).astype("int32")


class _StopOnSignal:
    """Turns SIGINT/SIGTERM into a request to stop after the current step.

    A signal arriving mid-step would otherwise leave the step number and the
    weights one step apart in the checkpoint written on the way out. A second
    signal gets the previous handler (Ctrl-C twice stops at once).
    """

    def __init__(self):
        self.signum = None
        self._previous = {}

    def _handler(self, signum, frame):
        del frame  # Unused.
        self.signum = signum
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        return False


class _Curves:
    """Running per-part, per-style sums between two log steps."""

    def __init__(self, style_names):
        self.names = list(style_names)
        self.reset()

    def reset(self):
        self.sums = {}
        self.counts = np.zeros(len(self.names))
        self.steps = 0
        self.images = 0
        self.t0 = time.perf_counter()

    def add(self, parts, labels):
        n = len(self.names)
        self.counts += np.bincount(labels, minlength=n)
        for k, v in parts.items():
            s = self.sums.setdefault(k, [0.0, np.zeros(n)])
            s[0] += float(np.mean(v))
            s[1] += np.bincount(labels, weights=v, minlength=n)
        self.steps += 1
        self.images += len(labels)

    def scalars(self):
        out = {}
        for k, (total, per_style) in self.sums.items():
            out[f"losses/{k}"] = total / max(1, self.steps)
            for i in np.nonzero(self.counts)[0]:
                out[f"styles/{self.names[i]}/{k}"] = per_style[i] / self.counts[i]
        dt = max(1e-9, time.perf_counter() - self.t0)
        out["speed/steps_per_sec"] = self.steps / dt
        out["speed/images_per_sec"] = self.images / dt
        return out


def _report_skips(stats):
    """One line at the end of a run: how many content photos could not be read."""
    if stats is None or not stats.skipped:
        return
    files = stats.skipped_files
    example = f", such as {files[0]}" if files else ""
    print(f"Skipped {stats.skipped} unreadable content photo(s) in this run "
          f"({len(files)} distinct file(s){example}); fix or remove them.", file=sys.stderr)


def _grid_photos(cfg, first_batch):
    from magenta_style.storage import image_io

    if cfg.grid_images:
        import glob as glob_lib

        files = sorted(glob_lib.glob(cfg.grid_images))[:4]
        if not files:
            raise UserError(f"--grid_images matched no files. Received: {cfg.grid_images!r}")
        return [image_io.load_image(f, max_size=cfg.image_size) for f in files]
    return [np.asarray(x, "float32") for x in first_batch[:3]]


def run_steps(cfg, engine, start, step_fn, curves, writer, save, extra=None):
    """The step loop both trainers run: steps, read-back, logs, checkpoints, stops.

    Args:
        cfg: the training config (`train_steps`, `log_every`, `save_every`,
            `train_dir`).
        start: the last step already in the variables.
        step_fn: `step -> (labels, device results)`; runs one step. Labels
            index `curves`' names.
        curves: a `_Curves`, fed every step's losses.
        writer: the TensorBoard writer (None off the chief).
        save: `save(step)`, a checkpoint.
        extra: optional `(due(step) -> bool, act(step))`, e.g. style grids.

    Returns:
        `(done, last, stopped)`: the last step whose update is in the
        variables, the last logged losses (`{name: value}`), and whether
        SIGINT/SIGTERM stopped the run.
    """
    from tqdm.auto import tqdm

    bar = tqdm(total=cfg.train_steps, initial=start, unit="step", dynamic_ncols=True,
               disable=not engine.is_chief, desc=os.path.basename(cfg.train_dir.rstrip("/")))
    done = start  # Last step whose update is in the variables.
    pending = None  # (step, labels, device results) not yet read back.
    last = {}

    def record(step, labels, result):
        loss, parts = float(result[0]), {k: np.asarray(v) for k, v in result[1].items()}
        if not np.isfinite(loss):
            raise UserError(
                f"The loss became {loss} at step {step}. Lower --learning_rate or "
                "set --clip_gradient_norm; rerunning resumes from the last "
                "checkpoint.")
        curves.add(parts, labels)
        bar.update(1)

    with _StopOnSignal() as stop:
        try:
            for step in range(start + 1, cfg.train_steps + 1):
                labels, result = step_fn(step)
                done = step
                # The previous step's losses are read back only now, while
                # this step runs: under JAX the accelerator then never waits
                # for the host's bookkeeping and the next batch (timings in
                # BUILD.md). Steps that log, save, act or stop read their own.
                if pending is not None:
                    record(*pending)
                pending = (step, labels, result)
                log = step % cfg.log_every == 0 or step == cfg.train_steps
                save_now = step % cfg.save_every == 0 and step != cfg.train_steps
                act = extra is not None and extra[0](step)
                if log or save_now or act or stop.signum is not None:
                    record(*pending)
                    pending = None
                if log:
                    scalars = curves.scalars()
                    last = {k[len("losses/"):]: v for k, v in scalars.items()
                            if k.startswith("losses/")}
                    bar.set_postfix(loss=f"{scalars['losses/total_loss']:.4g}",
                                    steps_s=f"{scalars['speed/steps_per_sec']:.3g}")
                    if engine.is_chief:
                        run_dir.log_scalars(cfg, writer, step, scalars)
                    curves.reset()
                if stop.signum is not None:
                    break
                if save_now:
                    save(step)
                if act:
                    extra[1](step)
        finally:
            bar.close()
    return done, last, stop.signum is not None


def checkpoint_saver(cfg, engine, model, optimizer, fingerprint):
    """`save(step)` for `run_steps`: syncs the engine, the chief writes a checkpoint.

    `fingerprint` is the run's `run_dir.fingerprint`, stored with it so a
    resume can check it continues the same run.
    """
    def save(step):
        engine.sync()
        if engine.is_chief:
            train_state.save_checkpoint(cfg.train_dir, step, model, optimizer,
                                        fingerprint, keep=cfg.keep_checkpoints)

    return save


@dataclasses.dataclass
class TrainingRun:
    """What a trainer's steps did: steps `start` + 1 ... `done`, the last
    logged losses, whether a signal stopped them, and the TensorBoard writer
    (None off the chief; `finish_run` closes it)."""
    start: int
    done: int
    last: dict
    stopped: bool
    writer: object


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


def run_and_save(cfg, engine, model, optimizer, resolved, start, latest, step_fn, curves,
                 writer, batches, extra=None, curve_keys=None):
    """`run_steps` from `start` (see `resume`), then the feed closed, a final
    checkpoint, the loss curve (`curve_keys`, default Magenta's losses) and
    the variables synced.

    Returns:
        A `TrainingRun`; the variables hold the weights of step `done`.
    """
    save = checkpoint_saver(cfg, engine, model, optimizer, run_dir.fingerprint(resolved))
    try:
        done, last, stopped = run_steps(cfg, engine, start, step_fn, curves, writer, save,
                                        extra=extra)
    finally:
        batches.close()
    if done > start or not latest:
        save(done)
    if engine.is_chief and done > start:
        run_dir.write_curve(cfg, keys=curve_keys)
    engine.sync()
    return TrainingRun(start, done, last, stopped, writer)


def run_objective(cfg, engine, model, optimizer, resolved, objective_fn, nets, names,
                  batch_fn, curve_keys=None):
    """The run of a trainer built on `Engine.compile_objective` (arbitrary
    style, distillation): `resume`, the steps, then `run_and_save`'s
    checkpoint and loss curve.

    Args:
        cfg: the trainer's config (`train_dir`, `train_steps`, ...).
        model, optimizer: the trained `keras.Model` and its built optimizer.
        resolved: the run's `config.json` dict (its fingerprint is checked
            against the train dir's and stored with every checkpoint).
        objective_fn, nets: as `Engine.compile_objective` takes them.
        names: the names the per-example labels index (curves per name).
        batch_fn: `step -> (labels [B] int, the step's second batch array)`;
            the first, the content photos, comes from the engine.
        curve_keys: the scalars `loss_curve.png` draws (default the losses
            of Magenta's objective).

    Returns:
        A `TrainingRun`; the variables hold the weights of step `done`.
    """
    start, latest = resume(cfg, engine, model, optimizer, resolved)
    engine.compile_objective(model, optimizer, objective_fn, nets)
    batches = engine.batches(start)
    writer = engine.summary_writer() if engine.is_chief else None

    def step_fn(step):
        labels, second = batch_fn(step)
        return labels, engine.step(next(batches), second)

    return run_and_save(cfg, engine, model, optimizer, resolved, start, latest, step_fn,
                        _Curves(names), writer, batches, curve_keys=curve_keys)


def finish_run(cfg, engine, run):
    """After the model is saved: skipped photos reported, the writer closed,
    and a run stopped by a signal says how to continue, then raises
    `KeyboardInterrupt`."""
    if engine.is_chief:
        _report_skips(engine.skip_stats)
    if run.writer is not None:
        run.writer.close()
    if run.stopped:
        print(f"Stopped at step {run.done}; checkpoint and model saved in {cfg.train_dir}. "
              "Rerun the same command to continue.", file=sys.stderr)
        raise KeyboardInterrupt


def engine_for_backend(cfg, content):
    """The `engine.Engine` of the active Keras backend for `cfg`."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        from magenta_style.training import engine_tf

        return engine_tf.Engine(cfg, content)
    if backend == "jax":
        from magenta_style.training import engine_jax

        return engine_jax.Engine(cfg, content)
    raise UserError(f"Training supports the tensorflow and jax Keras backends. "
                    f"Received: KERAS_BACKEND={backend}")


def train(config, content=None, style_set=None):
    """Trains (or fine-tunes, or extends) a multi-style transformer.

    Args:
        config: a `TrainConfig`.
        content: optional in-memory content instead of
            `config.content_images`: a float32 array `[N, H, W, 3]` in [0, 1]
            with H = W = `config.image_size`, cycled in order.
        style_set: optional loaded style set (`style_set.load_style_set`)
            instead of `config.style_images` / `style_dataset_file`.

    Returns:
        The trained `keras.Model` (with `style_names` and `provenance`), also
        written to `config.model_dir` (default `<train_dir>/model`). A run
        stopped by SIGINT/SIGTERM saves a checkpoint, writes the model so far
        there (`provenance["steps"]` < `train_steps`) and raises
        `KeyboardInterrupt`.

    Raises:
        UserError: bad settings or input, a train_dir holding another run, a
            model to fine-tune that does not fit (one-line messages).
    """
    cfg = dataclasses.replace(config)
    if style_set is not None:
        cfg.style_images, cfg.style_dataset_file = None, "<in memory>"
    modes.check_config(cfg)
    os.makedirs(cfg.train_dir, exist_ok=True)
    engine = engine_for_backend(cfg, content)
    styles = style_set if style_set is not None else modes.load_styles(cfg, engine.is_chief)
    new_names = list(styles.names)
    built = modes.build_parts(cfg, engine, styles)
    setup, optimizer = built.setup, built.optimizer
    resolved = run_dir.resolved_config(
        cfg, setup.model.transformer_config.to_dict(), setup.style_names)
    start, latest = resume(cfg, engine, setup.model, optimizer, resolved)
    model = setup.model
    model.style_names = tuple(setup.style_names)

    built.compile(engine)
    batches = engine.batches(start)
    first = None
    writer = engine.summary_writer() if engine.is_chief else None

    def step_fn(step):
        nonlocal first
        labels = labels_for_step(cfg.seed, step, cfg.batch_size, len(new_names),
                                 setup.label_offset)
        images = next(batches)
        if first is None:
            first = engine.local_images(images)
        return labels, engine.step(images, labels)  # Labels index setup.style_names.

    def grid_due(step):
        return (cfg.grid_every and step % cfg.grid_every == 0 and engine.is_chief
                and step != cfg.train_steps)

    def grid(step):
        engine.sync()
        run_dir.write_grid(cfg, model, styles, _grid_photos(cfg, first), step, writer)

    run = run_and_save(cfg, engine, model, optimizer, resolved, start, latest, step_fn,
                       _Curves(setup.style_names), writer, batches, extra=(grid_due, grid))
    model.provenance = {
        "trained_by": "magenta_style.training",
        "mode": ("scratch" if cfg.init_from == "scratch"
                 else "append" if cfg.append else "finetune"),
        "init_from": cfg.init_from,
        "steps": int(run.done),
        "train_steps": int(cfg.train_steps),
        "batch_size": cfg.batch_size,
        "image_size": cfg.image_size,
        "resize_side": cfg.resize_side,
        "content_images": cfg.content_images if content is None else "<in memory>",
        "final_losses": {k: float(v) for k, v in run.last.items()},
        "backend": keras.backend.backend(),
    }
    if run_dir.SEEDED_FROM in resolved:
        model.provenance[run_dir.SEEDED_FROM] = resolved[run_dir.SEEDED_FROM]
    if engine.is_chief and (run.done > start or not run.stopped):
        from magenta_style.storage import model_format

        # Written on an early stop too: runs cut short by a time limit
        # (accelerator leases) leave a usable model, its provenance saying
        # how many of train_steps it has had.
        model_dir = cfg.model_dir or os.path.join(cfg.train_dir, train_config.MODEL_SUBDIR)
        model_format.save_model(model, model_dir, style_names=list(setup.style_names),
                                provenance=model.provenance)
    # Ctrl-C, `timeout`, SIGTERM: no final grid; rerunning the command
    # continues from the checkpoint (`finish_run`).
    if (not run.stopped and engine.is_chief
            and (first is not None or cfg.grid_images)):
        run_dir.write_grid(cfg, model, styles, _grid_photos(cfg, first), run.done, writer)
    finish_run(cfg, engine, run)
    return model
