"""input: how fast `content_dataset` delivers training batches from a folder.

Training must be many times slower than its input, or the pipeline is the
bottleneck. Times `magenta_style.content_dataset` on ../shared/images/train
(JPEG decode, resize, random crop and flip), batches per second after the
first (which opens the files and fills the prefetch buffer).

    python -m bench input --sizes=256
"""

from bench import inputs


def run(bench, opts):
    folder = inputs.train_photos()
    if folder is None:
        bench.skip("needs ../shared/images/train")
        return
    import magenta_style

    batch, count = (4, 3) if bench.quick else (16, 20)
    for size in opts.sizes or ((64,) if bench.quick else (256,)):
        dataset = magenta_style.content_dataset(folder, batch, size, random_crop=True,
                                                random_flip=True)
        batches = iter(dataset.repeat())

        def take(batches=batches):
            for _ in range(count):
                next(batches).numpy()

        result = bench.time(f"{size}px batch {batch} x{count} batches", take, size=size,
                            batch=batch, batches=count)
        bench.record(f"{size}px batch {batch} images/s",
                     batch * count / result["median_s"], "images/s", size=size, batch=batch)
