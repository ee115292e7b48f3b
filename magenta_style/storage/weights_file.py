"""The weights file of a model directory, keyed by layer name.

Layout (HDF5): one dataset per variable at its Keras path,
`contract_conv1/kernel`, `residual3_conv2_norm/gamma`, ... Keras's own
`save_weights` keys layers by class name and position (`layers/conv2d_4`),
so a file breaks as soon as a layer's class changes; our layer names are
stable (they map Magenta's scopes), so files keyed by them stay readable
when the implementation of a layer changes. Files of format 1 (written
with Keras's layout) are still read, by position within each layer kind.
"""

import re

import h5py
import numpy as np


def write(model, path):
    """Writes every variable of `model` to the HDF5 file `path`."""
    with h5py.File(path, "w") as f:
        for variable in model.weights:
            f.create_dataset(variable.path, data=np.asarray(variable))


def _stored(f):
    arrays = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            arrays[name] = obj[()]

    f.visititems(visit)
    return arrays


def _suffix_number(name):
    match = re.search(r"_(\d+)$", name)
    return int(match.group(1)) if match else 0


def _legacy(f, model):
    """Keras 3 `save_weights` layout: `layers/<class_snake>[_<n>]/vars/<i>`.

    Keras numbers layers of one class in model order; we pair them with our
    layers of the same kind in the same order.
    """
    groups = f.get("layers")
    if groups is None:
        raise ValueError("no 'layers' group (not a Keras weights file)")
    by_kind = {}
    for key in groups:
        kind = re.sub(r"_\d+$", "", key)
        by_kind.setdefault(kind, []).append(key)
    # Format 1 named the style tables after the layer they were then part of.
    kinds = {"StyleTable": "conditional_instance_normalization",
             "PaddedConv2D": "conv2d"}
    arrays, seen = {}, {}
    for layer in model.layers:
        kind = kinds.get(type(layer).__name__)
        if kind is None or not layer.weights:
            continue
        keys = sorted(by_kind.get(kind, []), key=_suffix_number)
        i = seen.get(kind, 0)
        seen[kind] = i + 1
        if i >= len(keys):
            raise ValueError(f"the file has fewer {kind} layers than the model")
        stored = groups[keys[i]]["vars"]
        for j, variable in enumerate(layer.weights):
            if str(j) in stored:
                arrays[variable.path] = stored[str(j)][()]
    return arrays


def assign(pairs, stored):
    """Assigns `stored[key]` to each `(key, variable)` of `pairs`, all or none.

    Raises:
        ValueError: a key missing from `stored`, an extra one in it, or a
            shape mismatch (the message counts them and names the first).
    """
    wanted = dict(pairs)
    problems = [f"missing {k}" for k in wanted if k not in stored]
    problems += [f"unexpected {k}" for k in stored if k not in wanted]
    problems += [f"{k}: shape {tuple(stored[k].shape)}, model wants {tuple(v.shape)}"
                 for k, v in wanted.items()
                 if k in stored and tuple(stored[k].shape) != tuple(v.shape)]
    if problems:
        raise ValueError(f"{len(problems)} mismatches, first: {problems[0]}")
    for key, variable in wanted.items():
        variable.assign(stored[key])


def read(model, path, legacy=False):
    """Assigns the variables of `model` from the file `path`.

    Raises:
        ValueError: see `assign`.
        OSError: the file cannot be read as HDF5.
    """
    with h5py.File(path, "r") as f:
        stored = _legacy(f, model) if legacy else _stored(f)
    assign([(v.path, v) for v in model.weights], stored)
