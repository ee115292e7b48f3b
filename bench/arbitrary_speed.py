"""arbitrary-v1 (Keras, float32) against onnxruntime on Magenta's float graphs, same inputs.

    PYTHONPATH=. python bench/arbitrary_speed.py [--sizes 384,1024] [--repeats 7]

For each size S: a photo scaled to longer side S (both sides cut to
multiples of 4, which the float transfer graph needs to keep its size) and
a 256x256 painting (reference.npz's preprocessed starry_night_crop). One
"image" is the whole pipeline: predictor (painting -> style vector) +
transformer (photo, vector -> pastiche). Ours runs the two Keras models as
the library does: the predictor as `stylize` calls it (eager Keras call) and
through a `tf.function` (the compiled form), the transformer through
`stylization.runner` (dynamic-shape graph, the `stylize` default).
onnxruntime: `CPUExecutionProvider`, default options and threads, the
shared folder's `*_float.onnx` (the peer), and the same without its
worker threads' spin-waiting (kinder to a loaded machine).

The machine is shared: ours and onnxruntime alternate in the same process,
repeat by repeat, and the report gives medians and the ratio ours / ORT of
the medians (<= 1.0 is the goal). Outputs are checked equal to 1e-4 first.
"""

import argparse
import os
import statistics
import time

import numpy as np

from magenta_style.storage import image_io
from magenta_style.storage import model_format
from magenta_style.stylization import runner as runner_lib

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared")
FOLDER = os.path.join(SHARED, "models", "arbitrary_v1")
VECTOR = "mobilenet_conv/Conv/BiasAdd"


def photo_at(path, size):
    """`[1, h, w, 3]`: the photo Lanczos-scaled to longer side `size`, sides cut to x4."""
    img = image_io.load_image(path)
    h, w = img.shape[:2]
    scale = size / max(h, w)
    img = image_io.resize(img, (round(w * scale), round(h * scale)))
    h, w = (d - d % 4 for d in img.shape[:2])
    return np.ascontiguousarray(img[:h, :w])[None].astype(np.float32)


def timed(fn, *args):
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def main():
    import onnxruntime as ort
    import tensorflow as tf

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="384,1024")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--photo", default=os.path.join(SHARED, "images", "content", "newyork.jpg"))
    args = p.parse_args()

    ref = np.load(os.path.join(FOLDER, "reference.npz"))
    painting = ref["style_image"][:1]
    model = model_format.load_model("arbitrary-v1")
    transform = runner_lib.runner(model.transformer)
    predict_compiled = tf.function(lambda x: model.predictor(x, training=False),
                                   reduce_retracing=True)
    def sessions(spinning):
        options = ort.SessionOptions()
        if not spinning:
            # ORT's workers spin while waiting for work; on a machine whose
            # cores other jobs hold, that spinning costs more than it saves.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return [ort.InferenceSession(os.path.join(FOLDER, f"arbitrary_{n}_float.onnx"),
                                     options, providers=["CPUExecutionProvider"])
                for n in ("predict", "transform")]

    predict_sess, transform_sess = sessions(spinning=True)
    quiet_sessions = sessions(spinning=False)

    def ours(photo, predict):
        vector = predict(painting)
        return np.asarray(transform(photo, vector))

    def onnx(photo, pair=(predict_sess, transform_sess)):
        vector = pair[0].run(None, {"style_image": painting})[0]
        return pair[1].run(None, {"content_image": photo, VECTOR: vector})[0]

    variants = {
        "ours (predictor eager, as stylize)": lambda x: ours(
            x, lambda s: np.asarray(model.predictor(s, training=False))),
        "ours (predictor tf.function)": lambda x: ours(x, predict_compiled),
        "onnxruntime float": onnx,
        "onnxruntime float, no spinning": lambda x: onnx(x, quiet_sessions),
    }
    print(f"{os.cpu_count()} CPUs (shared with other jobs: the machine is loaded); "
          f"TF {tf.__version__}, onnxruntime {ort.__version__}; medians of "
          f"{args.repeats} alternating repeats")
    for size in (int(s) for s in args.sizes.split(",")):
        photo = photo_at(args.photo, size)
        outs = {k: fn(photo) for k, fn in variants.items()}  # Warm-up (traces, arenas).
        ref_out = outs["onnxruntime float"]
        for k, out in outs.items():
            err = float(np.abs(out - ref_out).max())
            assert err < 1e-4, (k, err)
        times = {k: [] for k in variants}
        vector = np.asarray(predict_compiled(painting))
        parts = {
            "predictor eager": lambda: np.asarray(model.predictor(painting, training=False)),
            "ort predictor": lambda: predict_sess.run(None, {"style_image": painting}),
            "predictor tf.function": lambda: np.asarray(predict_compiled(painting)),
            "transformer runner": lambda x, v: np.asarray(transform(x, v)),
            "ort transformer": lambda x, v: transform_sess.run(
                None, {"content_image": x, VECTOR: v.reshape(1, 1, 1, -1)}),
        }
        part_times = {k: [] for k in parts}
        for _ in range(args.repeats):
            for k, fn in variants.items():
                times[k].append(timed(fn, photo))
            for k, fn in parts.items():
                part_times[k].append(timed(fn, photo, vector) if k.startswith(
                    ("transformer", "ort transformer")) else timed(fn))
        med = {k: statistics.median(v) for k, v in times.items()}
        peer = med["onnxruntime float"]
        print(f"\n{photo.shape[1]}x{photo.shape[2]} (longer side {size}):")
        for k, v in med.items():
            print(f"  {k:38s} {v * 1000:8.1f} ms   ratio {v / peer:.2f}")
        for k, v in part_times.items():
            print(f"    part: {k:30s} {statistics.median(v) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
