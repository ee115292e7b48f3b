"""`run_steps`: the step loop every trainer runs, with its stop signal and loss sums.

The loop dispatches steps, reads each step's losses back one step late (so
the accelerator never waits for the host), logs them (`Curves`), writes
checkpoints and stops cleanly on SIGINT/SIGTERM (`StopOnSignal`).
`runner.run_training` is its one caller in the library.
"""

import os
import signal
import threading
import time

import numpy as np

from magenta_style.errors import UserError
from magenta_style.training import run_dir


class StopOnSignal:
    """Turns SIGINT/SIGTERM into a request to stop after the current step.

    A signal arriving mid-step would otherwise leave the step number and the
    weights one step apart in the checkpoint written on the way out. A second
    signal gets the previous handler (Ctrl-C twice stops at once).

    Attributes:
        signum: the signal received, or None.
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
        # Python only lets the main thread install handlers; elsewhere a
        # signal keeps its default meaning.
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        return False


class Curves:
    """Running per-part, per-name sums of the losses between two log steps.

    Args:
        names: what a step's labels index (style names, painting names).
    """

    def __init__(self, names):
        self.names = list(names)
        self.reset()

    def reset(self):
        self.sums = {}
        self.counts = np.zeros(len(self.names))
        self.steps = 0
        self.images = 0
        self.t0 = time.perf_counter()

    def add(self, parts, labels):
        """Adds one step: `parts` {name: `[B]` float}, `labels` `[B]` int."""
        n = len(self.names)
        self.counts += np.bincount(labels, minlength=n)
        for k, v in parts.items():
            s = self.sums.setdefault(k, [0.0, np.zeros(n)])
            s[0] += float(np.mean(v))
            s[1] += np.bincount(labels, weights=v, minlength=n)
        self.steps += 1
        self.images += len(labels)

    def scalars(self):
        """{"losses/<part>", "styles/<name>/<part>", "speed/...": float}: means so far."""
        out = {}
        for k, (total, per_style) in self.sums.items():
            out[f"losses/{k}"] = total / max(1, self.steps)
            for i in np.nonzero(self.counts)[0]:
                out[f"styles/{self.names[i]}/{k}"] = per_style[i] / self.counts[i]
        dt = max(1e-9, time.perf_counter() - self.t0)
        out["speed/steps_per_sec"] = self.steps / dt
        out["speed/images_per_sec"] = self.images / dt
        return out


def run_steps(cfg, engine, start, step_fn, curves, writer, save, extra=None):
    """Steps `start` + 1 ... `cfg.train_steps`: read-back, logs, checkpoints, stops.

    Args:
        cfg: the training config (`train_steps`, `log_every`, `save_every`,
            `train_dir`).
        engine: the run's `engine.Engine` (`is_chief`).
        start: the last step already in the variables.
        step_fn: `step -> (labels, device results)`; runs one step. Labels
            (`[B]` int) index `curves`' names.
        curves: a `Curves`, fed every step's losses.
        writer: the TensorBoard writer (None off the chief).
        save: `save(step)`, a checkpoint.
        extra: optional `(due(step) -> bool, act(step))`, e.g. style grids.

    Returns:
        `(done, last, stopped)`: the last step whose update is in the
        variables, the last logged losses (`{name: value}`), and whether
        SIGINT/SIGTERM stopped the run.

    Raises:
        UserError: a loss that is not finite (names its step).
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

    with StopOnSignal() as stop:
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
