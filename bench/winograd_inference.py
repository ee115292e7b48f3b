"""Inference of the full-width network: direct vs Winograd 3x3 convolutions vs onnxruntime.

    .venv/bin/python bench/winograd_inference.py --sizes=256,512,1024 --reps=7
    .venv/bin/python bench/winograd_inference.py --sizes=1024 --xla

Not a test: run by hand. The residual blocks of `build_transformer(26,
alpha=1.0)` (128 -> 128 channels) are the only inference convolutions big
enough for Winograd's F(2x2, 3x3) (`fast_conv._winograd_3x3`). Inference uses
the direct convolution (`layers.PaddedConv2D`); this times the model's call
both ways, in one process, alternating with onnxruntime on the same network
(`bin/export --onnx`), and prints the medians in ms per 1-image call. The
numbers behind that choice are in docs/stylize.md (Speed).
"""

import argparse
import os
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512,1024")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--xla", action="store_true", help="jit_compile the model call")
    args = parser.parse_args()

    import numpy as np
    import onnxruntime
    import tensorflow as tf

    from magenta_style import onnx_export
    from magenta_style.model import fast_conv
    from magenta_style.model import transformer

    model = transformer.build_transformer(26, alpha=1.0)
    direct_conv = fast_conv.conv2d_valid

    def winograd_conv(x, kernel, strides=1, inference=False, winograd=None):
        return direct_conv(x, kernel, strides, inference=inference, winograd=True)

    print(f"load average {os.getloadavg()[0]:.1f}, xla={args.xla}; median ms of "
          f"{args.reps} alternating rounds")
    for size in (int(s) for s in args.sizes.split(",")):
        yy, xx = np.mgrid[0:size, 0:size] / size
        x = np.stack([np.sin(9 * xx + 6 * yy), np.cos(5 * xx - 6 * yy), xx * yy], -1)
        x = tf.constant((0.4 * x + 0.5)[None].astype(np.float32))
        w = tf.constant(np.eye(26, dtype=np.float32)[:1])
        calls, outs = {}, {}
        for name, conv in (("direct", direct_conv), ("winograd", winograd_conv)):
            fast_conv.conv2d_valid = conv  # read when the function is traced
            fn = tf.function(lambda a, b: model([a, b], training=False),
                             jit_compile=args.xla)
            outs[name] = np.asarray(fn(x, w))  # traces with this form
            calls[name] = fn
        fast_conv.conv2d_valid = direct_conv
        with tempfile.TemporaryDirectory() as tmp:
            path = onnx_export.export_onnx(model, os.path.join(tmp, "m.onnx"))
            session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        feed = {"image": x.numpy(), "style_weights": w.numpy()}
        calls["onnxruntime"] = lambda a, b, s=session, f=feed: s.run(None, f)[0]
        outs["onnxruntime"] = calls["onnxruntime"](x, w)
        diff = max(float(np.abs(o - outs["direct"]).max()) for o in outs.values())
        times = {name: [] for name in calls}
        for _ in range(args.reps):
            for name, call in calls.items():
                start = time.perf_counter()
                np.asarray(call(x, w))
                times[name].append(time.perf_counter() - start)
        print(f"{size}x{size}: " + ", ".join(
            f"{name} {1000 * float(np.median(t)):.0f}" for name, t in times.items())
            + f"; max |diff| {diff:.1e}; load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
