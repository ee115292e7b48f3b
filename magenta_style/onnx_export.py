"""ONNX export of a pastiche network, written from its layer weights.

The graph uses standard ONNX operators only (opset 17): Transpose, Pad
(reflect), Conv, InstanceNormalization, MatMul, Mul, Add, Relu, Sigmoid,
Resize (nearest), Slice, and integer shape arithmetic for the padding to a
multiple of 4 and the crop back. Inputs and output (dynamic batch, H, W):

| name | shape | dtype / range |
| --- | --- | --- |
| `image` (input) | `[B, H, W, 3]` (NHWC, as `stylize`) | float32 in [0, 1], H, W >= 5 |
| `style_weights` (input) | `[1, N]` (one mixture for all) or `[B, N]` | float32, used as given |
| `stylized_image` (output) | `[B, H, W, 3]` | float32 in [0, 1] |

Why a writer of our own rather than Keras's `model.export(format="onnx")`
(through tf2onnx), measured in onnxruntime on android-26 (docs/stylize.md):
Keras's export of the default model
carries the CPU convolution forms of `model.fast_conv` (slices, einsums,
concatenations) and runs 1.6-1.7x slower; exported with the plain forms
(`MAGENTA_STYLE_FAST_CONV=0` set before tracing) it runs about as fast as
this graph, but keeps TensorFlow's shape logic and instance norm as
GlobalAveragePool/Sub/Mul chains and needs tf2onnx. Here each layer is the
one standard operator runtimes have a tuned kernel for, `style_weights` may
hold one row or one per image, and the graph is exact by construction: the
same weights, the same arithmetic (reflection padding, nearest x2
upsampling, instance norm with the model's epsilon, gamma/beta mixed from
the style table as `style_weights @ table`), checked against Keras to 1e-4
in tests/test_onnx_export.py. The `onnx` package only builds and checks the
protobuf; it is imported lazily and is needed only to export.
"""

import numpy as np

from magenta_style.errors import UserError
from magenta_style.storage import atomic

OPSET = 17
INPUT_IMAGE = "image"
INPUT_STYLE_WEIGHTS = "style_weights"
OUTPUT = "stylized_image"
FILENAME = "stylize.onnx"  # its name in a `bin/export --onnx` folder
SIGNATURE_DOC = ("image float32 [B,H,W,3] in [0,1], style_weights float32 [1 or B, N] "
                 "-> stylized_image float32 [B,H,W,3] in [0,1]")


def _onnx():
    try:
        import onnx
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise UserError("ONNX export needs the `onnx` package: pip install "
                        "'magenta_style[onnx]' (or pip install onnx).") from error
    return onnx


class _Graph:
    """Accumulates nodes and initializers with unique names."""

    def __init__(self, onnx):
        self.onnx = onnx
        self.helper = onnx.helper
        self.nodes = []
        self.initializers = []
        self._count = 0

    def name(self, hint):
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint, array):
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, hint=None, **attrs):
        out = self.name(hint or op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out],
                                                name=out, **attrs))
        return out


def _conv_block(g, x, weights, block, epsilon):
    """`[Resize x2,] Pad reflect k//2, Conv, InstanceNorm, gamma/beta, activation` (NCHW)."""
    conv = block.conv
    kernel = np.asarray(conv.kernel.numpy(), np.float32)  # [K, K, C, O]
    k, stride = int(kernel.shape[0]), int(conv.strides[0])
    out_channels = kernel.shape[3]
    name = block.name
    if block.upsample > 1:
        scales = g.const(f"{name}_scales", np.array([1, 1, block.upsample, block.upsample],
                                                    np.float32))
        x = g.op("Resize", [x, "", scales], f"{name}_upsample", mode="nearest",
                 coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    p = k // 2
    if p:
        pads = g.const(f"{name}_pads", np.array([0, 0, p, p, 0, 0, p, p], np.int64))
        x = g.op("Pad", [x, pads], f"{name}_pad", mode="reflect")
    w = g.const(f"{name}_kernel", np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
    inputs = [x, w]
    if conv.use_bias:
        inputs.append(g.const(f"{name}_bias", np.asarray(conv.bias.numpy(), np.float32)))
    x = g.op("Conv", inputs, f"{name}_conv", kernel_shape=[k, k], strides=[stride, stride],
             pads=[0, 0, 0, 0])
    ones = g.const(f"{name}_ones", np.ones(out_channels, np.float32))
    zeros = g.const(f"{name}_zeros", np.zeros(out_channels, np.float32))
    x = g.op("InstanceNormalization", [x, ones, zeros], f"{name}_in", epsilon=epsilon)
    # gamma, beta = style_weights @ table: [Bw, C] -> [Bw, C, 1, 1].
    shape = g.const(f"{name}_cshape", np.array([-1, out_channels, 1, 1], np.int64))
    for part in ("gamma", "beta"):
        table = g.const(f"{name}_{part}_table",
                        np.asarray(getattr(block.table, part).numpy(), np.float32))
        value = g.op("Reshape", [g.op("MatMul", [weights, table], f"{name}_{part}"), shape],
                     f"{name}_{part}_4d")
        x = g.op("Mul" if part == "gamma" else "Add", [x, value], f"{name}_{part}_apply")
    if block.activation is not None:
        kind = block.activation.get_config()["activation"]
        if kind not in ("relu", "sigmoid"):
            raise UserError(f"ONNX export knows relu and sigmoid activations. Received: {kind!r}")
        x = g.op("Relu" if kind == "relu" else "Sigmoid", [x], f"{name}_{kind}")
    return x


def onnx_model(model, opset=OPSET):
    """The ONNX `ModelProto` of `model` (see the module docstring for the graph).

    Args:
        model: a `PasticheNetwork` (`load_model`, `build_transformer`).
        opset: ONNX opset (>= 13: Resize with empty roi, Pad with pads as input).

    Returns:
        An `onnx.ModelProto` that passes `onnx.checker.check_model`, with
        the style names and the architecture in its metadata.
    """
    import json

    from magenta_style.model import transformer as transformer_lib

    onnx = _onnx()
    cfg = model.transformer_config
    n = cfg.num_styles
    g = _Graph(onnx)
    image = g.op("Transpose", [INPUT_IMAGE], "to_nchw", perm=[0, 3, 1, 2])
    # Reflection-pad bottom and right to a multiple of 4 (PadToMultiple).
    m = transformer_lib.SIZE_MULTIPLE
    hw = g.op("Slice", [g.op("Shape", [image], "shape"), g.const("two", np.array([2])),
                        g.const("four", np.array([4]))], "hw")
    mult = g.const("multiple", np.array([m], np.int64))
    extra = g.op("Mod", [g.op("Sub", [mult, g.op("Mod", [hw, mult])]), mult], "extra")
    pads = g.op("Concat", [g.const("zeros6", np.zeros(6, np.int64)), extra], "pads", axis=0)
    x = g.op("Pad", [image, pads], "pad_to_multiple", mode="reflect")
    blocks = model.blocks
    eps = float(cfg.epsilon)
    for block in blocks.contract:
        x = _conv_block(g, x, INPUT_STYLE_WEIGHTS, block, eps)
    for first, second in blocks.residual:
        h = _conv_block(g, x, INPUT_STYLE_WEIGHTS, first, eps)
        h = _conv_block(g, h, INPUT_STYLE_WEIGHTS, second, eps)
        x = g.op("Add", [x, h], f"{first.name[:-len('_conv1')]}_add")
    for block in blocks.expand:
        x = _conv_block(g, x, INPUT_STYLE_WEIGHTS, block, eps)
    x = _conv_block(g, x, INPUT_STYLE_WEIGHTS, blocks.output, eps)
    x = g.op("Slice", [x, g.const("zeros2", np.zeros(2, np.int64)), hw,
                       g.const("axes_hw", np.array([2, 3]))], "crop_to_input")
    g.nodes.append(onnx.helper.make_node("Transpose", [x], [OUTPUT], name="to_nhwc",
                                         perm=[0, 2, 3, 1]))
    helper = onnx.helper
    graph = helper.make_graph(
        g.nodes, model.name,
        [helper.make_tensor_value_info(INPUT_IMAGE, onnx.TensorProto.FLOAT,
                                       ["batch", "height", "width", 3]),
         helper.make_tensor_value_info(INPUT_STYLE_WEIGHTS, onnx.TensorProto.FLOAT,
                                       ["style_batch", n])],
        [helper.make_tensor_value_info(OUTPUT, onnx.TensorProto.FLOAT,
                                       ["batch", "height", "width", 3])],
        initializer=g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", int(opset))],
                              producer_name="magenta_style")
    proto.ir_version = min(proto.ir_version, 8)  # readable by onnxruntime >= 1.14
    helper.set_model_props(proto, {
        "style_names": json.dumps(list(model.style_names)),
        "architecture": json.dumps(cfg.to_dict()),
        "signature": SIGNATURE_DOC,
    })
    onnx.checker.check_model(proto)
    return proto


def export_onnx(model, path, *, num_styles=None, opset=OPSET):
    """Writes `model` as an ONNX file (atomically).

    Args:
        model: a loaded transformer or anything `model_format.load_model` accepts
            (shipped name, model directory, Magenta checkpoint, None).
        path: the `.onnx` file to write; written to a temp file beside it and
            renamed into place.
        num_styles: optional int, checked against the model.
        opset: ONNX opset.

    Returns:
        `path`. Run it with onnxruntime:
        `InferenceSession(path).run(None, {"image": x, "style_weights": w})`.
    """
    from magenta_style.storage import model_format

    if not path:
        raise UserError("No ONNX file given: pass the path of the .onnx file to write.")
    model = model_format.load_model(model, num_styles, cached=True)
    data = onnx_model(model, opset).SerializeToString()

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(data)

    return atomic.write_file(path, write, suffix=".onnx")
