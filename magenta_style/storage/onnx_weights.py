"""Converts foreign weight layouts into this library's models.

- the ONNX export of Google's 26-style Android demo network
  (`../shared/models/android_multistyle26/weights.npz`), whose arrays are
  named `contract.0.w` (OIHW kernels), `res.3.1.norm.gamma` ([N, C]), ...
  -> `build_transformer`;
- Magenta's arbitrary-style mobile release (`../shared/models/arbitrary_v1/
  weights.npz`, keyed by TF scope) -> `build_style_predictor` +
  `build_arbitrary_transformer` (`from_arbitrary_weights`).
"""

import re

import numpy as np

from magenta_style.errors import UserError
from magenta_style.model import transformer as transformer_lib

# The Android demo network's architecture (read from its ONNX graph).
ANDROID26_ARCH = dict(contract_widths=(32, 32, 32), num_residual_blocks=6,
                      expand_widths=(8, 4))

_ONNX_NAME = re.compile(r"^(contract|res|expand)\.(\d+)(?:\.(\d+))?\.(w|norm\.gamma|norm\.beta)$")


def _keras_layer(group, i, j):
    i = int(i)
    if group == "contract":
        return f"contract_conv{i + 1}"
    if group == "expand":
        return f"expand_conv{i + 1}"
    return f"residual{i + 1}_conv{int(j) + 1}"


def from_onnx_weights(arrays, alpha=1.0, **arch):
    """Builds a transformer holding the ONNX-layout `arrays`.

    Args:
        arrays: mapping name -> numpy array (e.g. `np.load(weights.npz)`).
        alpha, **arch: `build_transformer` architecture arguments; default
            the Android demo network's.

    Returns:
        A transformer whose outputs match the ONNX graph's.
    """
    arch = {**ANDROID26_ARCH, **arch}
    gammas = [k for k in arrays if k.endswith("norm.gamma")]
    if not gammas:
        raise UserError("No '*.norm.gamma' arrays: not an ONNX-layout weights file.")
    num_styles = int(arrays[gammas[0]].shape[0])
    model = transformer_lib.build_transformer(num_styles, alpha, **arch)
    assigned = set()
    for name, value in arrays.items():
        m = _ONNX_NAME.match(name)
        if not m:
            raise UserError(f"Unexpected array {name!r} in ONNX-layout weights.")
        layer_name = _keras_layer(m.group(1), m.group(2), m.group(3))
        if m.group(4) == "w":
            layer = model.get_layer(layer_name)
            var = layer.kernel
            value = np.transpose(value, (2, 3, 1, 0))  # OIHW -> HWIO
        else:
            layer = model.get_layer(layer_name + "_norm")
            var = layer.gamma if m.group(4).endswith("gamma") else layer.beta
        if tuple(value.shape) != tuple(var.shape):
            raise UserError(
                f"{name} has shape {value.shape}, the architecture needs "
                f"{tuple(var.shape)}."
            )
        var.assign(value.astype("float32"))
        assigned.add(id(var))
    missing = [v.path for v in model.weights if id(v) not in assigned]
    if missing:
        raise UserError(f"ONNX-layout weights lack {missing}.")
    return model


# --------------------------------------------------------------------------
# Magenta's arbitrary-style networks (`../shared/models/arbitrary_v1/weights.npz`):
# float32 arrays keyed by TensorFlow scope, in ONNX layout (conv [O, I, kh, kw],
# depthwise [C, 1, 3, 3], style-parameter convs [C, 100, 1, 1]).

# The released mobile transformer's width multiplier.
ARBITRARY_V1_ALPHA = 0.25

_ARB_TRANSFORMER = re.compile(
    r"^(style_params/)?transformer/(?:contract/conv(\d)|residual/residual(\d+)/conv([12])"
    r"|expand/conv(\d)/conv)(?:/StyleNorm/(Conv|Conv_1))?/(weights|biases)$")
_ARB_PREDICTOR = re.compile(
    r"^(?:MobilenetV2/(Conv|Conv_1|expanded_conv(?:_\d+)?/(expand|depthwise|project))"
    r"|(mobilenet_conv/Conv))/(weights|depthwise_weights|biases)$")
_ARB_CONSTANTS = {"transformer/StyleNorm/epsilon": 1e-5, "MobilenetV2/relu6_max_value": 6.0}


def _arbitrary_transformer_target(model, m, value):
    """(variable, value in Keras layout) for one transformer array, or None to skip."""
    if m.group(2):
        layer = f"contract_conv{m.group(2)}"
    elif m.group(3):
        layer = f"residual{m.group(3)}_conv{m.group(4)}"
    else:
        layer = f"expand_conv{m.group(5)}"
    kind = m.group(7)
    if m.group(1):  # style_params: Conv is beta, Conv_1 is gamma (see the README)
        proj = model.get_layer(f"{layer}_norm")
        which = "gamma" if m.group(6) == "Conv_1" else "beta"
        if kind == "weights":
            return getattr(proj, f"{which}_kernel"), value[:, :, 0, 0].T
        return getattr(proj, f"{which}_bias"), value
    conv = model.get_layer(layer)
    if kind == "weights":
        return conv.kernel, np.transpose(value, (2, 3, 1, 0))
    if conv.use_bias:
        return conv.bias, value
    if np.any(value):
        raise UserError(f"{m.string} holds non-zero biases, but a bias before the style norm "
                        "cancels and the architecture has none.")
    return None


def _arbitrary_predictor_target(model, m, value):
    if m.group(3):
        layer, dense = "bottleneck_conv", True
    elif m.group(2):
        layer, dense = m.group(1).replace("/", "_"), False
    else:
        layer, dense = m.group(1), False
    target = model.get_layer(layer)
    if m.group(4) == "biases":
        return target.bias, value
    if dense:
        return target.kernel, value[:, :, 0, 0].T
    if m.group(4) == "depthwise_weights":
        return target.kernel, np.transpose(value, (2, 3, 0, 1))
    return target.kernel, np.transpose(value, (2, 3, 1, 0))


def from_arbitrary_weights(arrays, alpha=ARBITRARY_V1_ALPHA):
    """Builds Magenta's arbitrary-style pair holding the scope-keyed `arrays`.

    Args:
        arrays: mapping TF scope -> numpy array (`np.load(weights.npz)` of
            `../shared/models/arbitrary_v1/`).
        alpha: the transformer's width multiplier (the release's 0.25).

    Returns:
        `(predictor, transformer)`: a MobileNetV2 `StylePredictor` and an
        `ArbitraryTransformer` whose outputs match the float ONNX graphs.

    Raises:
        UserError: an unexpected or missing array, a shape that does not
            fit, or constants other than the release's (epsilon 1e-5, ReLU6).
    """
    from magenta_style.model import arbitrary_transformer
    from magenta_style.model import style_predictor

    predictor = style_predictor.build_style_predictor("mobilenet_v2")
    transformer = arbitrary_transformer.build_arbitrary_transformer(alpha)
    assigned = set()
    for name, value in arrays.items():
        value = np.asarray(value, np.float32)
        if name in _ARB_CONSTANTS:
            if not np.isclose(float(value), _ARB_CONSTANTS[name], rtol=1e-6):
                raise UserError(f"{name} is {float(value)}, the architecture has "
                                f"{_ARB_CONSTANTS[name]}.")
            continue
        m = _ARB_TRANSFORMER.match(name)
        if m:
            target = _arbitrary_transformer_target(transformer, m, value)
        else:
            m = _ARB_PREDICTOR.match(name)
            if not m:
                raise UserError(f"Unexpected array {name!r} in arbitrary-style weights.")
            target = _arbitrary_predictor_target(predictor, m, value)
        if target is None:
            continue
        var, value = target
        if tuple(value.shape) != tuple(var.shape):
            raise UserError(f"{name} has shape {value.shape} in Keras layout, the "
                            f"architecture needs {tuple(var.shape)}.")
        var.assign(value)
        assigned.add(id(var))
    missing = [v.path for v in predictor.weights + transformer.weights if id(v) not in assigned]
    if missing:
        raise UserError(f"Arbitrary-style weights lack {len(missing)} arrays, first {missing[0]}.")
    return predictor, transformer
