"""Peak memory per pixel of tiled stylizing: where image_io's pixel limit comes from.

    .venv/bin/python bench/tiled_memory.py --side=2500 --model=android-26
    .venv/bin/python bench/tiled_memory.py --side=3500 --model=varied

Stylizes one random `side` x `side` image with one style through
`stylize_array` (above 4 MP it takes the tiled path) and prints the growth of
the process's peak RSS divided by the pixel count. Run each measurement in a
fresh process (peak RSS never goes down). Results: docs/stylize.md, "Limits".
"""

import argparse
import resource
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=2500)
    parser.add_argument("--model", default="android-26")
    args = parser.parse_args()

    from magenta_style.stylization import api

    image = np.random.default_rng(0).random((args.side, args.side, 3), dtype=np.float32)
    model = api.get_model(args.model)
    weights = np.eye(model.transformer_config.num_styles, dtype=np.float32)[:1]
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    start = time.perf_counter()
    api.stylize_array(model, image, weights)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pixels = args.side * args.side
    print(f"{args.model} {args.side}x{args.side}: peak {peak / 1e3:.0f} MB (before "
          f"{base / 1e3:.0f} MB), {(peak - base) * 1e3 / pixels:.0f} bytes/pixel, "
          f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
