"""stylize: one photo through `magenta_style.stylize`, per shipped model and size.

What every user of the library feels first. Full run: android-26, varied
(the default) and varied-small at 512 and 1024 px, through the default
dynamic-shape graph and with `jit_compile=True` (XLA), plus the model's
load time and the bare `runner(model)` call (no image I/O or
post-processing), so a slowdown can be placed in the network or around it.
This is the comparison the redesign of issue 28 must not regress.

    python -m bench stylize --models=android-26,varied --sizes=512,1024
"""

import time
from functools import partial

import numpy as np

from bench import inputs

FULL_MODELS = ("android-26", "varied", "varied-small")
QUICK_MODELS = ("android-26", "varied")


def _numpy(call, *args):
    # Converting waits for the result (and is what a caller does with it).
    return np.asarray(call(*args))


def run(bench, opts):
    import magenta_style
    from magenta_style.stylization.runner import runner

    models = opts.models or (QUICK_MODELS if bench.quick else FULL_MODELS)
    sizes = opts.sizes or ((64,) if bench.quick else (512, 1024))
    modes = ("graph",) if bench.quick else ("graph", "xla")
    for name in models:
        t = time.perf_counter()
        model = magenta_style.load_model(name)
        bench.record(f"{name} load_model", time.perf_counter() - t, "s", model=name)
        styles = np.zeros((1, len(model.style_names)), np.float32)
        styles[0, 0] = 1.0
        call = runner(model)
        for size in sizes:
            image = inputs.square_photo(size)
            for mode in modes:
                jit = mode == "xla"
                bench.time(f"{name} {size}px stylize {mode}",
                           partial(magenta_style.stylize, image, model, 0, jit_compile=jit),
                           model=name, size=size, mode=mode)
            batch = image[None]
            bench.time(f"{name} {size}px runner", partial(_numpy, call, batch, styles),
                       model=name, size=size, mode="runner")
