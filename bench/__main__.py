"""`python -m bench <area|all> [--quick] [--json=out.json]`: the benchmark suite's one CLI."""

import argparse
import importlib
import os
import sys
import time
import traceback

# Area name -> module; the order is the order of `all` (cheapest first, so a
# broken install fails fast).
AREAS = ("stylize", "precision", "arbitrary", "regions", "video", "studio", "input", "beam",
         "optimize", "train")


def _summary(area):
    doc = importlib.import_module(f"bench.{area}").__doc__ or ""
    return doc.strip().splitlines()[0].split(": ", 1)[-1]


def _ints(text):
    return tuple(int(s) for s in text.split(",") if s)


def _names(text):
    return tuple(s for s in text.split(",") if s)


def build_parser():
    areas = "\n".join(f"  {name:<10} {_summary(name)}" for name in AREAS)
    parser = argparse.ArgumentParser(
        prog="python -m bench", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Times what users of magenta_style feel, with one harness "
                    "(warm-up, repeats, median and spread, the machine recorded).",
        epilog=f"areas:\n{areas}\n  all        every area in turn\n\n"
               "Run from the repository root with the package installed (pip install -e .).")
    parser.add_argument("area", choices=AREAS + ("all",), help="what to time")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one repeat: checks every area still runs (CI)")
    parser.add_argument("--json", metavar="PATH", help="write every result and the machine here")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed calls per measurement (default 1 with --quick, else 5)")
    parser.add_argument("--models", type=_names, default=None,
                        help="comma-separated shipped models or model dirs (areas that take one)")
    parser.add_argument("--sizes", type=_ints, default=None,
                        help="comma-separated image sizes in px, overriding the area's own")
    return parser


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's start-up lines drown the table
    opts = build_parser().parse_args(argv)
    from bench.harness import Bench

    bench = Bench(quick=opts.quick, repeats=opts.repeats)
    failed = []
    start = time.perf_counter()
    for area in AREAS if opts.area == "all" else (opts.area,):
        bench.area = area
        bench.log(f"[{area}]")
        t = time.perf_counter()
        try:
            importlib.import_module(f"bench.{area}").run(bench, opts)
        except Exception:  # noqa: BLE001 - one broken area must not hide the others' numbers
            traceback.print_exc()
            failed.append(area)
        bench.log(f"  ({time.perf_counter() - t:.1f} s)")
    bench.log(f"total {time.perf_counter() - start:.1f} s"
              + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    if opts.json:
        bench.write_json(opts.json)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
