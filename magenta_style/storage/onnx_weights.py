"""Converts foreign weight layouts into `build_transformer` models.

Currently: the ONNX export of Google's 26-style Android demo network
(`../shared/models/android_multistyle26/weights.npz`), whose arrays are
named `contract.0.w` (OIHW kernels), `res.3.1.norm.gamma` ([N, C]), ...
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
