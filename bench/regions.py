"""regions: two styles in two regions of one photo (`stylize(..., masks=...)`).

A region render normalises each style's map separately; this times it
against the plain one-style render of the same photo, for both
`region_statistics` settings, so the price of regions is read as a ratio.

    python -m bench regions --models=android-26 --sizes=512
"""

from functools import partial

import numpy as np

from bench import inputs


def run(bench, opts):
    import magenta_style

    for name in opts.models or ("android-26",):
        model = magenta_style.load_model(name)
        for size in opts.sizes or ((64,) if bench.quick else (512, 1024)):
            image = inputs.square_photo(size)
            left = np.zeros((size, size), np.float32)
            left[:, : size // 2] = 1.0
            masks = [left, 1.0 - left]
            bench.time(f"{name} {size}px plain",
                       partial(magenta_style.stylize, image, model, 0), model=name, size=size)
            for stats in ("per_style", "shared"):
                bench.time(f"{name} {size}px two regions {stats}",
                           partial(magenta_style.stylize, image, model, [0, 1], masks=masks,
                                             region_statistics=stats),
                           model=name, size=size, region_statistics=stats)
