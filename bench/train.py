"""train: seconds per training step of `magenta_style.train`, setup apart.

Two fresh runs of `train()` on in-memory photos (the input pipeline is the
`input` area): one of 1 step and one of 1 + N steps; their difference over
N is the step's time, and the 1-step run is what a user waits before
training starts (loading VGG-16, measuring the styles, tracing/compiling).
Full run: Magenta's network (alpha 1), batch 4, 256 px, XLA, 4 styles.
Needs VGG-16's weights (../shared/weights or MAGENTA_STYLE_VGG16_WEIGHTS).

    python -m bench train --sizes=256
"""

import os
import tempfile

import numpy as np

from bench import inputs


def run(bench, opts):
    weights = inputs.vgg_weights()
    if weights is None or len(inputs.style_paths(2)) < 2:
        bench.skip("needs VGG-16 weights and paintings from ../shared")
        return
    import magenta_style

    if bench.quick:
        alpha, batch, styles, extra, jit = 0.25, 1, 2, 2, False
    else:
        alpha, batch, styles, extra, jit = 1.0, 4, 4, 5, True
    for size in opts.sizes or ((32,) if bench.quick else (256,)):
        content = np.stack([inputs.square_photo(size, name) for name in
                            ("chicago.jpg", "golden_gate.jpg", "amber.jpg", "eiffel_tower.jpg")])
        times = {}
        for steps in (1, 1 + extra):
            def once(steps=steps, size=size, content=content):
                with tempfile.TemporaryDirectory() as tmp:
                    config = magenta_style.TrainConfig(
                        train_dir=os.path.join(tmp, "run"),
                        style_images=",".join(inputs.style_paths(styles)),
                        style_image_size=max(64, size), vgg_weights=weights, alpha=alpha,
                        batch_size=batch, image_size=size, train_steps=steps,
                        save_every=10 ** 6, log_every=10 ** 6, grid_every=0, jit_compile=jit)
                    magenta_style.train(config, content=content)
            times[steps] = bench.time(f"{size}px batch {batch} train() {steps} steps", once,
                                      warmup=0, repeats=1, size=size, batch=batch,
                                      steps=steps, alpha=alpha, jit_compile=jit)["median_s"]
        bench.record(f"{size}px batch {batch} per step",
                     (times[1 + extra] - times[1]) / extra, "s", size=size, batch=batch,
                     alpha=alpha, jit_compile=jit)
