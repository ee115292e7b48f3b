"""magenta_style's benchmarks, run from the repository root as one suite.

    python -m bench --help                      # the areas
    python -m bench stylize                     # one area, realistic sizes
    python -m bench all --quick --json=b.json   # every area's quick pass (CI)

Each area is a module of this package with `run(bench, opts)`; all timing
goes through `bench.harness.Bench`. They call only the library's public API,
so they keep measuring the same thing while its internals change.
"""
