"""The training loop's own cost per step, with a step that does almost nothing.

    KERAS_BACKEND=jax .venv/bin/python bench/loop_overhead.py --steps=2000

Runs `step_loop.run_steps` (labels, reading the previous step's losses back, the
per-style sums, the progress bar, a `metrics.jsonl` line every `--log_every`
steps) around a jitted step that only sums a `[batch, 4]` array, with 36
styles. It prints the wall time and the loop thread's CPU time per step:
what the host spends per step besides the input feed
(`bench/input_pipeline.py`) and the step itself (`bench/train_jax.py`). On
an accelerator the loop keeps the device busy only while this plus the
feed's share stays below the step's time (BUILD.md, "The input feed").
"""

import argparse
import os
import sys
import tempfile
import time
import types

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--styles", type=int, default=36)
    parser.add_argument("--log_every", type=int, default=50)
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp

    from magenta_style.training import loop
    from magenta_style.training import step_loop

    names = [f"style{i}" for i in range(args.styles)]
    cfg = types.SimpleNamespace(train_steps=args.steps, log_every=args.log_every,
                                save_every=10**9, train_dir=tempfile.mkdtemp())
    engine = types.SimpleNamespace(is_chief=True)

    @jax.jit
    def step(x):
        return x.sum(), {"content_loss": x[:, 0], "style_loss": x[:, 1],
                         "total_loss": x[:, 2]}

    base = jnp.ones((args.batch_size, 4))

    def step_fn(s):
        labels = loop.labels_for_step(0, s, args.batch_size, len(names))
        return labels, step(base + jnp.asarray(labels)[:, None])

    step_fn(1)[1][0].block_until_ready()  # Compiles.
    wall, cpu = time.perf_counter(), time.thread_time()
    step_loop.run_steps(cfg, engine, 0, step_fn, step_loop.Curves(names), None,
                        lambda s: None)
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    print(f"{args.steps} steps, {args.styles} styles, batch {args.batch_size}, "
          f"{jax.devices()[0].platform}: {wall / args.steps * 1000:.3f} ms per step wall, "
          f"{cpu / args.steps * 1000:.3f} ms loop-thread CPU", flush=True)


if __name__ == "__main__":
    main()
