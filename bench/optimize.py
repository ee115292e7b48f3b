"""optimize: the optimisation method (Gatys et al.), seconds per L-BFGS iteration.

`magenta_style.optimize(photo, painting)` with its default preset at 256 and
512 px for a fixed number of iterations (the convergence stop switched off
by a large window), so the time per iteration is comparable across runs;
the first call's extra time is the trace/compile. Needs VGG-16's weights
(../shared/weights or MAGENTA_STYLE_VGG16_WEIGHTS).

    python -m bench optimize --sizes=256,512
"""

from functools import partial

from bench import inputs


def run(bench, opts):
    weights = inputs.vgg_weights()
    paths = inputs.style_paths(1)
    if weights is None or not paths:
        bench.skip("needs VGG-16 weights and a painting from ../shared")
        return
    import magenta_style

    iterations = 2 if bench.quick else 10
    # The quick pass skips XLA: compiling the step costs more than CI's budget.
    jit = not bench.quick
    for size in opts.sizes or ((64,) if bench.quick else (256, 512)):
        photo = inputs.photo(size)
        result = bench.time(
            f"{size}px {iterations} iterations",
            partial(magenta_style.optimize, photo, paths[0], image_size=size,
                              iterations=iterations, weights=weights,
                              convergence_window=10 ** 6, jit_compile=jit, progress=False),
            size=size, iterations=iterations, jit_compile=jit)
        bench.record(f"{size}px per iteration", result["median_s"] / iterations, "s",
                     size=size)
