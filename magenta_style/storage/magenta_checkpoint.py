"""Magenta's TF1 `image_stylization` checkpoints, read and written.

Magenta names variables by TF1 scope (`transformer/residual/residual3/conv2/
InstanceNorm/gamma`); `magenta_variable_name` maps our layer names to those,
so a Magenta checkpoint loads into `build_transformer` and a trained model
saves as one (`load_magenta_checkpoint`, `save_magenta_checkpoint`).
"""

import dataclasses
import glob
import os
import re

import numpy as np

from magenta_style import config as config_lib
from magenta_style.errors import UserError
from magenta_style.model import transformer as transformer_lib
from magenta_style.storage import model_config

MODEL_NAME = re.compile(
    r"^(contract_conv(\d)|residual(\d+)_conv([12])|expand_conv(\d))(_norm)?$")


def magenta_variable_name(layer_name, weight_name):
    """Our (layer, weight) -> Magenta TF1 variable name.

    `contract_conv1`/kernel -> `transformer/contract/conv1/weights`;
    `residual3_conv2_norm`/gamma ->
    `transformer/residual/residual3/conv2/InstanceNorm/gamma`;
    `expand_conv1`/kernel -> `transformer/expand/conv1/conv/weights`
    (Magenta's `upsampling` adds a `conv` scope).
    """
    m = MODEL_NAME.match(layer_name)
    if not m:
        raise ValueError(f"Layer {layer_name!r} has no Magenta counterpart.")
    if m.group(2):
        scope = f"transformer/contract/conv{m.group(2)}"
    elif m.group(3):
        scope = f"transformer/residual/residual{m.group(3)}/conv{m.group(4)}"
    else:
        scope = f"transformer/expand/conv{m.group(5)}/conv"
    if m.group(6):
        return f"{scope}/InstanceNorm/{weight_name}"
    return f"{scope}/weights"


def weight_items(model):
    """(layer, variable, Magenta name) for every weight of a transformer."""
    items = []
    for layer in model.layers:
        if not MODEL_NAME.match(layer.name):
            continue
        for var in layer.weights:
            short = var.name.split("/")[-1].split(":")[0]
            items.append((layer, var, magenta_variable_name(layer.name, short)))
    return items


def load_magenta_checkpoint(path, num_styles=None, alpha=None, **arch):
    """Loads one of Magenta's TF1 `image_stylization` checkpoints.

    Args:
        path: checkpoint prefix (`multistyle-pastiche-generator-varied.ckpt`)
            or a directory (its latest checkpoint).
        num_styles: optional; checked against the checkpoint (Monet 10,
            Varied 32). Read from the checkpoint when None.
        alpha: optional width multiplier (Magenta's `--alpha`). When None,
            every width is read from the checkpoint's shapes (so a model
            trained at any alpha loads: Magenta's `int(alpha * 64)` is not
            always `2 * int(alpha * 32)`), and the config says alpha 1.0
            with those widths.
        **arch: other `build_transformer` keyword arguments.

    Returns:
        A transformer with the checkpoint's weights.

    Raises:
        UserError: unreadable checkpoint, missing variables, or a num_styles
            that does not match.
    """
    import tensorflow as tf

    path = os.fspath(path)
    if os.path.isdir(path):
        path = _latest_checkpoint(path)
    try:
        reader = tf.train.load_checkpoint(path)
    except Exception as e:  # TF raises several types here.
        raise UserError(
            f"Cannot read Magenta checkpoint {path}: {str(e).splitlines()[0]}"
        ) from None
    try:
        return _read(reader, path, num_styles, alpha, arch)
    except (tf.errors.OpError, IndexError, TypeError, KeyError, ValueError) as e:
        if isinstance(e, UserError):
            raise
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"Magenta checkpoint {path} is damaged or incomplete (a shard missing "
                        f"or cut short?): {first[:200]}") from None


def _read(reader, path, num_styles, alpha, arch):
    """`load_magenta_checkpoint`'s body, once `reader` opened `path`."""
    shapes = reader.get_variable_to_shape_map()
    gamma = shapes.get("transformer/contract/conv1/InstanceNorm/gamma")
    kernel = shapes.get("transformer/contract/conv1/weights")
    if gamma is None or kernel is None or len(gamma) != 2 or len(kernel) != 4:
        raise UserError(
            f"{path} is not a Magenta image_stylization checkpoint: no "
            "transformer/contract/conv1 variables of the expected shapes."
        )
    found_styles = int(gamma[0])
    if num_styles is not None and num_styles != found_styles:
        raise UserError(
            f"--num_styles={num_styles} does not match the checkpoint, which "
            f"holds {found_styles} styles."
        )
    if alpha is None:
        alpha = 1.0
        widths = [shapes.get(f"transformer/contract/conv{i}/weights") for i in (1, 2, 3)]
        expand = [shapes.get(f"transformer/expand/conv{i}/conv/weights") for i in (1, 2)]
        if all(w is not None and len(w) == 4 for w in widths + expand):
            arch.setdefault("contract_widths", tuple(int(w[-1]) for w in widths))
            arch.setdefault("expand_widths", tuple(int(w[-1]) for w in expand))
            arch.setdefault("kernel_sizes", (int(widths[0][0]), int(widths[1][0]),
                                             int(expand[0][0])))
    if "num_residual_blocks" not in arch:
        arch["num_residual_blocks"] = len({
            m.group(1) for m in (re.match(r"transformer/residual/residual(\d+)/", n)
                                 for n in shapes) if m})
    # The shapes are untrusted as a config.json is: bounded before building.
    fields = [f.name for f in dataclasses.fields(config_lib.TransformerConfig)]
    model_config.check_architecture(
        {k: v for k, v in dict(arch, num_styles=found_styles, alpha=alpha).items()
         if k in fields and v is not None}, path, fields)
    model = transformer_lib.build_transformer(found_styles, alpha, **arch)
    for _, var, name in weight_items(model):
        if name not in shapes:
            raise UserError(f"Magenta checkpoint {path} lacks variable {name}.")
        value = reader.get_tensor(name)
        if tuple(value.shape) != tuple(var.shape):
            raise UserError(
                f"Variable {name} has shape {value.shape} in {path} but the "
                f"architecture needs {tuple(var.shape)}; pass matching "
                "alpha/widths."
            )
        if not np.all(np.isfinite(value)):
            raise UserError(f"Magenta checkpoint {path} is damaged: variable {name} holds "
                            "NaN or infinite values.")
        var.assign(value)
    model.provenance = {"source": "magenta checkpoint", "path": path}
    return model


def _latest_checkpoint(directory):
    """The newest checkpoint prefix in `directory` (state file or *.index)."""
    import tensorflow as tf

    try:
        latest = tf.train.latest_checkpoint(directory)
    except (tf.errors.OpError, ValueError) as e:  # a damaged `checkpoint` state file
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"The checkpoint state file in {directory} is damaged "
                        f"({first[:160]}).") from None
    if latest is None:
        indexes = sorted(glob.glob(os.path.join(directory, "*.index")), key=os.path.getmtime)
        if not indexes:
            raise UserError(f"No TF checkpoint found in directory {directory}.")
        latest = indexes[-1][: -len(".index")]
    return latest


def save_magenta_checkpoint(model, prefix):
    """Writes a transformer as a Magenta-layout TF1 checkpoint at `prefix`.

    The variable names are those `load_magenta_checkpoint` (and Magenta's
    `image_stylization_transform`) read.
    """
    import tensorflow as tf

    items = weight_items(model)
    names = [name for _, _, name in items]
    tensors = [tf.convert_to_tensor(np.asarray(var)) for _, var, _ in items]
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names,
                      shape_and_slices=[""] * len(names), tensors=tensors)
