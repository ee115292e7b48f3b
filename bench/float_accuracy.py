"""How far each float32 run of android-26 is from a float64 evaluation (run by hand).

    .venv/bin/python bench/float_accuracy.py 512

Evaluates the network in float64 (TensorFlow ops on the layer weights:
reflection pad, plain convolution, instance norm) on the benchmark's photo
and prints the largest difference to it of Keras (eager), Keras under XLA
and onnxruntime on the `onnx_export` graph, and between Keras and
onnxruntime. Tells whether a difference between two float32 runs is one
being wrong or both rounding.
"""

import os
import sys

import numpy as np
import onnxruntime as ort
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stylize import _photo  # noqa: E402

from magenta_style import onnx_export  # noqa: E402
from magenta_style.storage import model_format  # noqa: E402


def _block64(h, blk, w):
    """One conv block in float64 with the plain ops."""
    k = tf.constant(blk.conv.kernel.numpy().astype(np.float64))
    if blk.upsample > 1:
        h = tf.repeat(tf.repeat(h, 2, 1), 2, 2)
    p = k.shape[0] // 2
    h = tf.pad(h, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT")
    h = tf.nn.conv2d(h, k, blk.conv.strides[0], "VALID")
    mean, var = tf.nn.moments(h, [1, 2], keepdims=True)
    w = w.astype(np.float64)
    g = (w @ blk.table.gamma.numpy().astype(np.float64))[:, None, None]
    b = (w @ blk.table.beta.numpy().astype(np.float64))[:, None, None]
    h = (h - mean) / tf.sqrt(var + 1e-5) * g + b
    if blk.activation is not None:
        h = tf.nn.relu(h) if "relu" in blk.activation.name else tf.sigmoid(h)
    return h


def main():
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 512
    model = model_format.load_model("android-26")
    x = _photo(size, size)[None]
    w = np.eye(26, dtype=np.float32)[:1]
    blocks = model.blocks
    h = tf.constant(x.astype(np.float64))
    for blk in blocks.contract:
        h = _block64(h, blk, w)
    for first, second in blocks.residual:
        h = h + _block64(_block64(h, first, w), second, w)
    for blk in blocks.expand:
        h = _block64(h, blk, w)
    ref = _block64(h, blocks.output, w).numpy()
    keras32 = np.asarray(model([x, w], training=False))
    xla = np.asarray(tf.function(lambda a, b: model([a, b], training=False),
                                 jit_compile=True)(x, w))
    session = ort.InferenceSession(onnx_export.onnx_model(model).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    onnx_out = session.run(None, {"image": x, "style_weights": w})[0]
    print(f"android-26 {size}x{size}, max |diff| to float64: Keras eager "
          f"{np.abs(keras32 - ref).max():.1e}, Keras XLA {np.abs(xla - ref).max():.1e}, "
          f"onnxruntime {np.abs(onnx_out - ref).max():.1e}; Keras vs onnxruntime "
          f"{np.abs(keras32 - onnx_out).max():.1e}")


if __name__ == "__main__":
    main()
