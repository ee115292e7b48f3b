"""How fast the content input paths deliver batches (not a test; run by hand).

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/input_pipeline.py \
        --source=../shared/images/train --batch_size=16 --image_size=256

Prints batches/s and images/s for the tf.data path (`tf_pipeline.content_dataset`)
and the TensorFlow-free NumPy path (`numpy_loader.NumpyContentLoader`), after
a warm-up. Training must be many times slower than either, or the input
pipeline is the bottleneck.

Under JAX (`KERAS_BACKEND=jax`, `--paths=numpy_put,feed`) it also times the
two ways a batch has reached the JAX training step: `numpy_put`, the loader's
float32 batch copied to the device by the consuming thread (the feed before
`data.prefetch`), and `feed`, `engine_jax.Engine.batches` (uint8, assembled
and copied by a background thread). The column that matters there is the
consuming thread's CPU time per batch: that thread also dispatches the
training steps, so every millisecond it spends on input is one the device
may wait (BUILD.md, "The input feed").
"""

import argparse
import os
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def save_grid(batch, path):
    """Writes a `[B, S, S, 3]` batch in [0, 1] as one PNG, 4 images a row."""
    import numpy as np

    from magenta_style.storage import image_io

    b, s = batch.shape[0], batch.shape[1]
    rows = -(-b // 4)
    grid = np.ones((rows * s, 4 * s, 3), np.float32)
    for i, image in enumerate(batch):
        grid[(i // 4) * s:(i // 4 + 1) * s, (i % 4) * s:(i % 4 + 1) * s] = image
    image_io.save_image(grid, path)
    print(f"wrote {path}")


def measure(iterator, batches, warmup, grid=None, ready=lambda batch: batch):
    """(wall seconds, consuming thread's CPU seconds) per batch over `batches`
    batches, after `warmup` batches. `ready(batch)` is what the consumer does
    before it can use a batch (a copy to the device, say)."""
    import numpy as np

    first = ready(next(iterator))
    if grid:
        save_grid(np.asarray(first, np.float32) / (255.0 if first.dtype == np.uint8 else 1.0),
                  grid)
    for _ in range(warmup - 1):
        ready(next(iterator))
    start, cpu = time.perf_counter(), time.thread_time()
    for _ in range(batches):
        ready(next(iterator))
    return ((time.perf_counter() - start) / batches, (time.thread_time() - cpu) / batches)


def bench_tf(args):
    from magenta_style.data import tf_pipeline

    stats = tf_pipeline.SkipStats()
    ds = tf_pipeline.content_dataset(args.source, args.batch_size, image_size=args.image_size,
                              seed=0, stats=stats, random_crop=args.random_crop,
                              random_flip=args.random_flip)
    seconds = measure(iter(ds.as_numpy_iterator()), args.batches, args.warmup,
                      args.grid_dir and os.path.join(args.grid_dir, "input_tf.png"))
    return seconds, stats.skipped


def _loader(args):
    from magenta_style.data import numpy_loader

    return numpy_loader.NumpyContentLoader(args.source, args.batch_size,
                                           image_size=args.image_size, seed=0,
                                           random_crop=args.random_crop,
                                           random_flip=args.random_flip,
                                           workers=args.workers, processes=args.processes)


def bench_numpy(args):
    loader = _loader(args)
    seconds = measure(iter(loader), args.batches, args.warmup,
                      args.grid_dir and os.path.join(args.grid_dir, "input_numpy.png"))
    return seconds, loader.skipped


def on_device(batch):
    """Waits until a JAX batch is on its device (what a step would wait for)."""
    return batch.block_until_ready()


def bench_numpy_put(args):
    import jax

    loader = _loader(args)
    seconds = measure(iter(loader), args.batches, args.warmup,
                      ready=lambda batch: on_device(jax.device_put(batch)))
    return seconds, loader.skipped


def jax_engine(source, batch_size, image_size, random_crop, random_flip):
    """An `engine_jax.Engine` reading `source`; its `batches(0)` is the training feed."""
    import tempfile

    from magenta_style.training import config as train_config
    from magenta_style.training import engine_jax

    cfg = train_config.TrainConfig(
        train_dir=tempfile.mkdtemp(prefix="bench_feed_"), batch_size=batch_size,
        image_size=image_size, content_images=source, seed=0,
        random_crop=random_crop, random_flip=random_flip, style_images="unused")
    return engine_jax.Engine(cfg)


def bench_feed(args):
    engine = jax_engine(args.source, args.batch_size, args.image_size, args.random_crop,
                        args.random_flip)
    seconds = measure(engine.batches(0), args.batches, args.warmup,
                      args.grid_dir and os.path.join(args.grid_dir, "input_feed.png"),
                      ready=on_device)
    return seconds, engine.skip_stats.skipped


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=os.path.join(REPO, "..", "shared", "images",
                                                         "train"))
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--image_size", type=int, default=256)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3, help="at least 1")
    parser.add_argument("--grid_dir", default=None,
                        help="write the first batch of each path as a PNG grid here")
    parser.add_argument("--workers", type=int, default=None,
                        help="NumPy path threads (default: CPU count)")
    parser.add_argument("--processes", action="store_true",
                        help="NumPy path: a process pool instead of threads")
    parser.add_argument("--random_crop", action="store_true")
    parser.add_argument("--random_flip", action="store_true")
    parser.add_argument("--paths", default="tf,numpy",
                        help="comma-separated: tf, numpy, numpy_put, feed (the last two "
                             "under KERAS_BACKEND=jax)")
    args = parser.parse_args()
    print(f"source={args.source} batch={args.batch_size} size={args.image_size} "
          f"batches={args.batches} (+{args.warmup} warm-up) cpus={os.cpu_count()}")
    benches = {"tf": ("tf.data", bench_tf), "numpy": ("numpy+Pillow", bench_numpy),
               "numpy_put": ("numpy+put", bench_numpy_put), "feed": ("jax feed", bench_feed)}
    for key in args.paths.split(","):
        name, fn = benches[key.strip()]
        (seconds, cpu), skipped = fn(args)
        print(f"{name:>13}: {1 / seconds:7.2f} batches/s  {args.batch_size / seconds:8.1f} "
              f"images/s  ({seconds * 1000:.0f} ms/batch; consuming thread's CPU "
              f"{cpu * 1000:.2f} ms/batch; {skipped} skipped)", flush=True)


if __name__ == "__main__":
    main()
