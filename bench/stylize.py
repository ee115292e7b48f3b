"""Benchmark of stylization speed and memory (run by hand; not a test).

    .venv/bin/python bench/stylize.py                      # everything (~10 min on 2 cores)
    .venv/bin/python bench/stylize.py --sizes=512 --modes=graph,xla --no-tiled

Prints milliseconds per image for each shipped model (checkpoints/) and for
Magenta's full-size network (`build_transformer(26)`, alpha=1, random
weights: the same architecture as PyTorch's fast_neural_style TransformerNet),
at 512x512 and 1024x1024, in three modes:

- eager: `model([x, w])` op by op;
- graph: the `tf.function` that `magenta_style.stylize` uses (dynamic shapes);
- xla:   the same with `jit_compile=True` (compiles once per image size).

Each measurement runs in a fresh process so that its peak memory (max RSS,
including the ~0.5 GB TensorFlow runtime) is its own. Also times a
6000x4000 (24 MP) photo through `stylize()`, which switches to tiled
inference, and reports its peak memory. The machine's matmul throughput is
printed first: on a shared machine, compare numbers only within one run.
"CPU ms" is the process CPU time per image (all threads); on a busy shared
machine it varies less than the wall time (but still grows when other
processes share the cores' caches and SMT siblings).

    .venv/bin/python bench/stylize.py --vs_onnxruntime        # needs onnx + onnxruntime

times `magenta_style.stylize` (uint8 photo in, uint8 pastiche out; the
default dynamic-shape graph and `jit_compile=True`) side by side with
onnxruntime running the same model exported by `bin/export --onnx`
(`magenta_style.onnx_export`; the same uint8 -> float -> uint8 conversions
in NumPy), at 256, 512 and 1024 px for android-26 and alpha 1. The calls
alternate within one process (ours, XLA, onnxruntime, ours, ...), so load
from other processes falls on all of them alike; it prints medians and the
median of the per-round ratios ours / onnxruntime (< 1: ours is faster),
where each round's peer is the faster of two onnxruntime sessions: its
defaults, and the same with worker threads that do not spin (kinder to a
loaded machine).

    .venv/bin/python bench/stylize.py --onnx_exports          # + tf2onnx

times onnxruntime on three ONNX files of android-26: ours (`bin/export
--onnx`) and Keras's `model.export(format="onnx")` of the plain forms and
of the CPU forms (the numbers behind the exporter's design, docs/stylize.md).
"""

import argparse
import functools
import json
import os
import resource
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

ALPHA1 = "magenta-alpha1"


def _load(name):
    """A shipped model's name or folder, or `magenta-alpha<A>`: Magenta's network
    at width multiplier A with random weights (speed does not depend on them)."""
    from magenta_style.model import transformer
    from magenta_style.storage import model_format

    if name.startswith("magenta-alpha"):
        return transformer.build_transformer(26, alpha=float(name[len("magenta-alpha"):]))
    return model_format.load_model(name)


def _photo(height, width):
    """A smooth, photo-like test image (deterministic), `[H, W, 3]` float32."""
    import numpy as np

    yy = np.linspace(0, 6, height, dtype=np.float32)[:, None]
    xx = np.linspace(0, 9, width, dtype=np.float32)[None, :]
    channels = [np.sin(xx + yy) * 0.4 + 0.5, np.cos(0.7 * xx - yy) * 0.4 + 0.5,
                (np.sin(3 * xx) * np.cos(2 * yy)) * 0.3 + 0.5]
    return np.stack(channels, -1).astype(np.float32)


def _worker(name, size, mode, reps):
    """Times one (model, size, mode); prints one JSON line."""
    import numpy as np
    import tensorflow as tf

    model = _load(name)
    n = model.transformer_config.num_styles
    w = np.eye(n, dtype=np.float32)[:1]
    if mode == "tiled":
        from magenta_style.stylization.api import stylize

        h, wd = size
        image = (_photo(h, wd) * 255).astype(np.uint8)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start, cpu = time.perf_counter(), time.process_time()
        out = stylize(image, model, 0)
        seconds = time.perf_counter() - start
        assert out.shape == image.shape
        print(json.dumps({"ms": seconds * 1000, "rss_before_kb": rss_before,
                          "cpu_ms": 1000 * (time.process_time() - cpu),
                          "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
        return
    x = _photo(size, size)[None]
    if mode == "eager":
        def fn(a, b):
            return model([a, b], training=False)
    else:
        fn = tf.function(lambda a, b: model([a, b], training=False),
                         jit_compile=(mode == "xla"))
    x, w = tf.constant(x), tf.constant(w)
    start = time.perf_counter()
    np.asarray(fn(x, w))  # trace / compile / warm up
    first = time.perf_counter() - start
    times, cpu_times = [], []
    for _ in range(reps):
        start, cpu = time.perf_counter(), time.process_time()
        np.asarray(fn(x, w))
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
    print(json.dumps({"ms": 1000 * min(times), "median_ms": 1000 * sorted(times)[len(times) // 2],
                      "cpu_ms": 1000 * min(cpu_times),
                      "first_ms": first * 1000,
                      "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def _worker_vs_onnxruntime(name, size, reps):
    """`stylize` (graph, XLA) against onnxruntime on the exported model; one JSON line."""
    import tempfile

    import numpy as np
    import onnxruntime

    from magenta_style import onnx_export
    from magenta_style.storage import image_io
    from magenta_style.stylization.api import stylize

    model = _load(name)
    n = model.transformer_config.num_styles
    photo = (_photo(size, size) * 255).astype(np.uint8)
    weights = np.eye(n, dtype=np.float32)[:1]
    with tempfile.TemporaryDirectory() as tmp:
        path = onnx_export.export_onnx(model, os.path.join(tmp, "m.onnx"))
        # Two peers: onnxruntime's defaults (worker threads spin while
        # waiting) and the same without spinning, which suffers less when
        # other processes load the cores; each round's faster one is the peer.
        sessions = {}
        for key, spin in (("onnxruntime", "1"), ("onnxruntime_nospin", "0")):
            options = onnxruntime.SessionOptions()
            options.add_session_config_entry("session.intra_op.allow_spinning", spin)
            sessions[key] = onnxruntime.InferenceSession(
                path, options, providers=["CPUExecutionProvider"])

    def ort_stylize(session):
        x = photo[None].astype(np.float32) / 255.0
        out = session.run(None, {"image": x, "style_weights": weights})[0]
        return image_io.to_uint8(out[0])

    calls = {"graph": lambda: stylize(photo, model, 0),
             "xla": lambda: stylize(photo, model, 0, jit_compile=True),
             **{key: functools.partial(ort_stylize, s) for key, s in sessions.items()}}
    outs = {key: call() for key, call in calls.items()}  # trace / compile / warm up
    for key in ("graph", "xla"):  # the same pixels (to uint8 rounding)
        assert np.abs(outs[key].astype(int) - outs["onnxruntime"]).max() <= 1, key
    times = {key: [] for key in calls}
    for _ in range(reps):
        for key, call in calls.items():
            start = time.perf_counter()
            call()
            times[key].append(time.perf_counter() - start)
    peer = np.minimum(times["onnxruntime"], times["onnxruntime_nospin"])
    print(json.dumps({
        **{f"{key}_ms": 1000 * float(np.median(t)) for key, t in times.items()},
        "peer_ms": 1000 * float(np.median(peer)),
        **{f"{key}_ratio": float(np.median(np.array(times[key]) / peer))
           for key in ("graph", "xla")},
        "load": os.getloadavg()[0]}))


def _worker_onnx_exports(name, size, reps):
    """onnxruntime on three exports of one model, alternating; one JSON line.

    ours: `onnx_export` (standard operators from the layer weights);
    keras_plain / keras_cpu_forms: Keras's `model.export(format="onnx")`
    (through tf2onnx) with `MAGENTA_STYLE_FAST_CONV=0` (plain ops) and with
    the default CPU convolution forms of `model.fast_conv`.
    """
    import tempfile

    import numpy as np
    import onnxruntime

    from magenta_style import onnx_export

    model = _load(name)
    n = model.transformer_config.num_styles
    x = _photo(size, size)[None]
    weights = np.eye(n, dtype=np.float32)[:1]
    model([x, weights], training=False)  # Keras's export needs a called model
    sessions = {}
    with tempfile.TemporaryDirectory() as tmp:
        sessions["ours"] = onnx_export.export_onnx(model, os.path.join(tmp, "ours.onnx"))
        for key, forms in (("keras_plain", "0"), ("keras_cpu_forms", "1")):
            os.environ["MAGENTA_STYLE_FAST_CONV"] = forms  # read when the export traces
            path = os.path.join(tmp, f"{key}.onnx")
            model.export(path, format="onnx", verbose=False)
            sessions[key] = path
        os.environ.pop("MAGENTA_STYLE_FAST_CONV")
        sessions = {key: onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
                    for key, path in sessions.items()}
    feeds = {}
    for key, session in sessions.items():
        names = [i.name for i in session.get_inputs()]
        feeds[key] = dict(zip(names, (x, weights)))
    reference = np.asarray(model([x, weights], training=False))
    diffs = {key: float(np.abs(session.run(None, feeds[key])[0] - reference).max())
             for key, session in sessions.items()}
    times = {key: [] for key in sessions}
    for _ in range(reps):
        for key, session in sessions.items():
            start = time.perf_counter()
            session.run(None, feeds[key])
            times[key].append(time.perf_counter() - start)
    ours = np.array(times["ours"])
    print(json.dumps({"ms": {k: 1000 * float(np.median(t)) for k, t in times.items()},
                      "ratio": {k: float(np.median(np.array(t) / ours))
                                for k, t in times.items()},
                      "max_diff": diffs, "load": os.getloadavg()[0]}))


def _matmul_gflops():
    import numpy as np

    a = np.random.rand(2048, 2048).astype(np.float32)
    a @ a
    start = time.perf_counter()
    for _ in range(5):
        a @ a
    return 5 * 2 * 2048 ** 3 / (time.perf_counter() - start) / 1e9


def _run(args_list):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, __file__, "--worker", *args_list],
                            capture_output=True, text=True, env=env)
    for line in reversed(result.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"worker {args_list} failed:\n{result.stderr[-2000:]}")


def _main_vs_onnxruntime(args):
    import onnxruntime

    models = args.models.split(",") if args.models else ["android-26", ALPHA1]
    sizes = args.sizes or "256,512,1024"
    reps = args.reps or 9
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
          f"numpy matmul {_matmul_gflops():.0f} GFLOP/s, onnxruntime "
          f"{onnxruntime.__version__}; medians of {reps} alternating rounds, ms per image")
    print(f"{'model':<16} {'size':>9} {'stylize':>8} {'XLA':>8} {'ort':>8} {'ort nospin':>10} "
          f"{'ratio':>6} {'XLA/ort':>8} {'load':>5}")
    for name in models:
        for size in (int(s) for s in sizes.split(",")):
            r = _run([name, str(size), "vs_onnxruntime", str(reps)])
            print(f"{name:<16} {f'{size}x{size}':>9} {r['graph_ms']:8.0f} {r['xla_ms']:8.0f} "
                  f"{r['onnxruntime_ms']:8.0f} {r['onnxruntime_nospin_ms']:10.0f} "
                  f"{r['graph_ratio']:6.2f} {r['xla_ratio']:8.2f} {r['load']:5.1f}", flush=True)
    print("ratio = ours / onnxruntime: the median over rounds of our time over the faster "
          "onnxruntime session's in that round; < 1: ours is faster")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=None,
                        help=f"comma list (default: shipped models + {ALPHA1})")
    parser.add_argument("--sizes", default=None, help="comma list (default 512,1024)")
    parser.add_argument("--modes", default="eager,graph,xla")
    parser.add_argument("--reps", type=int, default=None, help="default 3")
    parser.add_argument("--tiled", default="6000x4000", help="WxH for the tiled run")
    parser.add_argument("--no-tiled", action="store_true")
    parser.add_argument("--vs_onnxruntime", action="store_true",
                        help="stylize vs onnxruntime on the exported model, side by side "
                             "(sizes default 256,512,1024; reps default 9)")
    parser.add_argument("--onnx_exports", action="store_true",
                        help="onnxruntime on our ONNX export vs Keras's model.export "
                             "(plain and CPU forms; needs tf2onnx); sizes default 512,1024")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        name, size, mode, reps = args.worker
        if mode == "onnx_exports":
            _worker_onnx_exports(name, int(size), int(reps))
            return
        if mode == "vs_onnxruntime":
            _worker_vs_onnxruntime(name, int(size), int(reps))
            return
        size = tuple(int(v) for v in size.split("x")) if "x" in size else int(size)
        _worker(name, size, mode, int(reps))
        return
    if args.vs_onnxruntime:
        _main_vs_onnxruntime(args)
        return
    if args.onnx_exports:
        print(f"load average {os.getloadavg()[0]:.1f}; onnxruntime ms per image (median of "
              f"{args.reps or 9} alternating rounds), ratio to ours, max |diff| to Keras")
        for name in (args.models.split(",") if args.models else ["android-26"]):
            for size in (args.sizes or "512,1024").split(","):
                r = _run([name, size, "onnx_exports", str(args.reps or 9)])
                print(f"{name} {size}x{size}: " + ", ".join(
                    f"{k} {r['ms'][k]:.0f} ms ({r['ratio'][k]:.2f}x, diff {r['max_diff'][k]:.1e})"
                    for k in r["ms"]) + f"; load {r['load']:.1f}", flush=True)
        return

    from magenta_style.storage import model_format

    models = (args.models.split(",") if args.models
              else model_format.shipped_models() + [ALPHA1])
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
          f"numpy matmul {_matmul_gflops():.0f} GFLOP/s")
    print(f"{'model':<16} {'size':>9} {'mode':>6} {'ms/image':>9} {'median':>8} "
          f"{'CPU ms':>8} {'1st call':>9} {'peak RSS':>9}")
    for name in models:
        for size in (int(s) for s in (args.sizes or "512,1024").split(",")):
            for mode in args.modes.split(","):
                r = _run([name, str(size), mode, str(args.reps or 3)])
                print(f"{name:<16} {f'{size}x{size}':>9} {mode:>6} {r['ms']:9.0f} "
                      f"{r['median_ms']:8.0f} {r['cpu_ms']:8.0f} {r['first_ms']:9.0f} "
                      f"{r['peak_kb'] / 1e6:8.2f}G", flush=True)
    if not args.no_tiled:
        width, height = (int(v) for v in args.tiled.split("x"))
        for name in models[:1]:
            r = _run([name, f"{height}x{width}", "tiled", "1"])
            print(f"{name:<16} {args.tiled:>9} {'tiled':>6} {r['ms']:9.0f} {'':>8} "
                  f"{r['cpu_ms']:8.0f} {'':>9} "
                  f"{r['peak_kb'] / 1e6:8.2f}G  (stylize(); RSS after model load "
                  f"{r['rss_before_kb'] / 1e6:.2f}G)", flush=True)
    print("reference (issue 3): PyTorch TransformerNet alpha=1: 1000 ms @512, 4800 ms @1024 as "
          "quoted; re-measure it here with bench/compare_with_pytorch.sh")


if __name__ == "__main__":
    main()
