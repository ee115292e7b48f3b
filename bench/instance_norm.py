"""Instance norm + ReLU on one feature map, three formulations (run by hand; not a test).

    .venv/bin/python bench/instance_norm.py --size=512 --channels=32 --rounds=21

- subtract: `(x - mean) * rsqrt(var + eps) * gamma + beta` (before issue 18);
- fold: `x * scale + (beta - mean * scale)` with `scale = gamma * rsqrt(var +
  eps)` on `[B, 1, 1, C]` first (`layers.InstanceNormalization` now);
- fold_one_pass: the same with both statistics from shifted sums, so a fused
  reduction can read the map once (tried, not adopted: docs/stylize.md).

Each as a TensorFlow graph and XLA-compiled, on `[1, S, S, C]` (android-26's
first-layer map at 512 px by default). The calls alternate, so load from other
processes falls on all alike; prints the best, first-quartile and median
milliseconds and the largest difference to `subtract`.
"""

import argparse
import time

import numpy as np
import tensorflow as tf

EPSILON = 1e-5


def subtract(x, gamma, beta):
    mean, var = tf.nn.moments(x, [1, 2], keepdims=True)
    return tf.nn.relu((x - mean) * tf.math.rsqrt(var + EPSILON) * gamma + beta)


def _fold(x, gamma, beta, mean, var):
    scale = gamma * tf.math.rsqrt(var + EPSILON)
    return tf.nn.relu(x * scale + (beta - mean * scale))


def fold(x, gamma, beta):
    mean, var = tf.nn.moments(x, [1, 2], keepdims=True)
    return _fold(x, gamma, beta, mean, var)


def fold_one_pass(x, gamma, beta):
    shift = x[:, :1, :1, :]
    d = x - shift
    mean_d = tf.reduce_mean(d, [1, 2], keepdims=True)
    var = tf.maximum(tf.reduce_mean(d * d, [1, 2], keepdims=True) - mean_d * mean_d, 0.0)
    return _fold(x, gamma, beta, mean_d + shift, var)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    # Conv-output-like values: per-channel offsets of the order of the spread.
    x = tf.constant((rng.normal(size=(1, args.size, args.size, args.channels))
                     + rng.normal(size=args.channels)).astype(np.float32))
    gamma = tf.constant(rng.uniform(0.5, 1.5, (1, 1, 1, args.channels)).astype(np.float32))
    beta = tf.constant(rng.normal(size=(1, 1, 1, args.channels)).astype(np.float32))
    fns = {f"{f.__name__} {mode}": tf.function(f, jit_compile=(mode == "xla"))
           for mode in ("graph", "xla") for f in (subtract, fold, fold_one_pass)}
    reference = subtract(x, gamma, beta)
    diffs = {key: float(tf.reduce_max(tf.abs(fn(x, gamma, beta) - reference)))
             for key, fn in fns.items()}
    times = {key: [] for key in fns}
    for _ in range(args.rounds):
        for key, fn in fns.items():
            start = time.perf_counter()
            np.asarray(fn(x, gamma, beta))
            times[key].append(time.perf_counter() - start)
    print(f"[1, {args.size}, {args.size}, {args.channels}], {args.rounds} rounds: "
          "best / 25% / median ms, max |diff| to subtract")
    for key, t in times.items():
        t = 1000 * np.array(t)
        print(f"{key:22s} {t.min():7.1f} {np.percentile(t, 25):7.1f} {np.median(t):7.1f}  "
              f"{diffs[key]:.1e}")


if __name__ == "__main__":
    main()
