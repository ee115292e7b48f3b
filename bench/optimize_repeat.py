"""Repeated `optimize` calls in one process: time and memory maps per call.

TensorFlow never frees an XLA executable, so each call that compiles a new
step keeps its code mapped for the life of the process (Linux allows 65,530
maps). `optimize` keeps its compiled steps across calls; this shows what a
second call at the same size costs, and that the maps stop growing.

    python bench/optimize_repeat.py --calls=8 \
        --vgg_weights=../shared/weights/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5

Prints one line per call: seconds and the process's memory maps after it.
"""

import argparse
import time

import numpy as np

from magenta_style.optimization.gatys import optimize


def memory_maps():
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=8)
    p.add_argument("--image_size", type=int, default=64)
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--vgg_weights", default="imagenet")
    p.add_argument("--nojit_compile", action="store_true")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    photo = rng.random((48, 64, 3)).astype(np.float32)
    for i in range(args.calls):
        painting = rng.random((40, 40, 3)).astype(np.float32)  # a new painting each call
        t0 = time.perf_counter()
        optimize(photo, [painting], arch="vgg16", weights=args.vgg_weights,
                 image_size=args.image_size, iterations=args.iterations, progress=False,
                 jit_compile=not args.nojit_compile)
        print(f"call {i + 1}: {time.perf_counter() - t0:.1f} s, {memory_maps()} memory maps",
              flush=True)


if __name__ == "__main__":
    main()
