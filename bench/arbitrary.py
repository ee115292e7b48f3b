"""arbitrary: any painting as a style (arbitrary-v1), end to end and in parts.

Times what a `--style_image` user waits for: `style_vector` (painting ->
100-d vector through the MobileNetV2 predictor) and the whole
`stylize(photo, style_image=painting)` at 384 px (the mobile demo's size)
and 1024 px; the quick pass uses 64 px.

    python -m bench arbitrary --sizes=384,1024
"""

from functools import partial

import numpy as np

from bench import inputs


def run(bench, opts):
    import magenta_style

    model = magenta_style.load_model("arbitrary-v1")
    paths = inputs.style_paths(1)
    if paths:
        painting = paths[0]
    else:  # a bare checkout: any picture will do as a painting for timing
        painting = (inputs.square_photo(256) * 255).astype(np.uint8)
    bench.time("style_vector 256px painting",
               partial(magenta_style.style_vector, painting, model), painting="first style")
    for size in opts.sizes or ((64,) if bench.quick else (384, 1024)):
        image = inputs.photo(size)
        bench.time(f"stylize style_image {size}px",
                   partial(magenta_style.stylize, image, model, style_image=painting),
                   size=size)
