"""Seconds per training step on this machine (not a test; run by hand).

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/train.py \
        --batch_sizes=4,16 --modes=xla,graph,eager --steps=3

Builds the real step `loop.train` runs (alpha 1 transformer, VGG-16 with
the shared ImageNet weights, Magenta's loss layers, Adam, every example its
own style from a set of 4 real style images) and times it on 256 px batches
of real photos after one warm-up step (which includes tracing/compiling):

- xla:   `tf.function(jit_compile=True)`, the default (`--jit_compile`);
- graph: `tf.function` without XLA (`--nojit_compile`);
- eager: every op dispatched from Python (`tf.config.run_functions_eagerly`).

Prints wall seconds per step, images/s, and process CPU seconds per step
divided by the core count (what the step would take on an idle machine; other
users' load inflates the wall time but hardly the CPU time). Then times the
tf.data input pipeline alone on ../shared/images/train (see also
bench/input_pipeline.py), which must deliver batches many times faster.

References quoted by issue 5: PyTorch fast_neural_style 7.7 s per step at
batch 4 / 256 px, a compiled Keras prototype 5.5 s. PyTorch does not reach
its figure on this machine; bench/compare_with_pytorch.sh times it beside
this benchmark (docs/loop.md).
"""

import argparse
import os
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO, "..", "shared")
VGG = os.path.join(SHARED, "weights", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")


def photos(n, size):
    from magenta_style.data import tf_pipeline

    ds = tf_pipeline.content_dataset(os.path.join(SHARED, "images", "train"), n, image_size=size,
                              seed=0)
    return next(iter(ds)).numpy()


def bench_step(mode, batch_size, size, steps, styles):
    import numpy as np
    import tensorflow as tf

    from magenta_style.training import config as train_config
    from magenta_style.training import engine_tf
    from magenta_style.training import loop
    from magenta_style.training import modes

    tf.config.run_functions_eagerly(mode == "eager")
    cfg = train_config.TrainConfig(train_dir="/tmp/bench_train", batch_size=batch_size,
                               image_size=size, vgg_weights=VGG, jit_compile=mode == "xla",
                               style_images="unused")
    engine = engine_tf.Engine(cfg)
    # The step `train` builds, Winograd in the transformer under XLA included.
    modes.build_parts(cfg, engine, styles).compile(engine)
    images = tf.constant(photos(batch_size, size))
    times, cpu = [], []
    for step in range(steps + 1):
        labels = loop.labels_for_step(0, step, batch_size, len(styles.names))
        t0, c0 = time.perf_counter(), time.process_time()
        loss = float(engine.step(images, labels)[0])  # Waits for the step.
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    tf.config.run_functions_eagerly(False)
    wall = float(np.median(times[1:]))
    cores = os.cpu_count() or 1
    print(f"{mode:6s} batch {batch_size:3d} {size}px: first step {times[0]:7.1f} s, "
          f"then {wall:6.2f} s/step ({batch_size / wall:5.2f} images/s), "
          f"CPU {np.median(cpu[1:]) / cores:6.2f} s/step/core-set, loss {loss:.4g}",
          flush=True)


def bench_pipeline(batch_size, size, batches=20):
    from magenta_style.data import tf_pipeline

    ds = tf_pipeline.content_dataset(os.path.join(SHARED, "images", "train"), batch_size,
                              image_size=size, seed=1)
    it = iter(ds)
    next(it)  # Warm-up: file listing, first decodes.
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)
    dt = (time.perf_counter() - t0) / batches
    print(f"input pipeline (tf.data, folder of JPEGs) batch {batch_size} {size}px: "
          f"{dt:.3f} s/batch ({batch_size / dt:.1f} images/s)", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_sizes", default="4,16")
    parser.add_argument("--modes", default="xla,graph,eager")
    parser.add_argument("--image_size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--no_pipeline", action="store_true")
    args = parser.parse_args()

    from magenta_style.data import style_grams

    files = sorted(os.path.join(SHARED, "images", "styles", f)
                   for f in os.listdir(os.path.join(SHARED, "images", "styles")))[:4]
    styles = style_grams.compute_style_set(files, VGG, 256, progress=False)
    if not args.no_pipeline:
        for b in map(int, args.batch_sizes.split(",")):
            bench_pipeline(b, args.image_size)
    for b in map(int, args.batch_sizes.split(",")):
        for mode in args.modes.split(","):
            bench_step(mode, b, args.image_size, args.steps, styles)


if __name__ == "__main__":
    main()
