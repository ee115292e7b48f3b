"""Milliseconds per L-BFGS update with a full history (not a test).

    .venv/bin/python bench/lbfgs_update.py --sizes=256,512

Times `LBFGS.apply` alone on an image-sized variable once its 100-pair
history is full, as `optimization.py` runs it: inside an XLA-compiled step
without writing the history, then `commit()` outside (`--in_xla_write`
writes it inside the compiled step instead, as before 2026-11-26).
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def time_update(size, history, in_xla_write, rng):
    """Median seconds of one update once `history` pairs are stored."""
    import numpy as np
    import tensorflow as tf

    from magenta_style.optimization import lbfgs

    var = tf.Variable(rng.standard_normal((1, size, size, 3)).astype(np.float32))
    opt = lbfgs.LBFGS(var, history_size=history)
    if in_xla_write:  # (also runs on versions before `commit` existed)
        compiled = tf.function(opt.apply, jit_compile=True)
        commit = None
    else:
        compiled = tf.function(lambda g: opt.apply(g, write_history=False), jit_compile=True)
        commit = tf.function(opt.commit)

    def step(g):
        compiled(g)
        if commit is not None:
            commit()
        return float(tf.reduce_sum(var))  # waits for the update

    # A convex quadratic's gradient: every pair has positive curvature.
    for _ in range(history + 5):
        step(tf.constant(2.0 * var.numpy() + rng.standard_normal(var.shape).astype("f")))
    g = tf.constant(2.0 * var.numpy())
    times = []
    for _ in range(7):
        start = time.perf_counter()
        step(g)
        times.append(time.perf_counter() - start)
    return statistics.median(times), int(opt._count.numpy())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--history", type=int, default=100)
    parser.add_argument("--in_xla_write", action="store_true")
    args = parser.parse_args()

    import numpy as np

    rng = np.random.default_rng(0)
    for size in [int(s) for s in args.sizes.split(",")]:
        seconds, pairs = time_update(size, args.history, args.in_xla_write, rng)
        print(f"{size}x{size}: {seconds * 1000:.1f} ms per update, {pairs} pairs stored",
              flush=True)


if __name__ == "__main__":
    main()
