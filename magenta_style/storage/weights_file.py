"""The weights file of a model directory, keyed by layer name.

Layout (HDF5): one dataset per variable at its Keras path,
`contract_conv1/kernel`, `residual3_conv2_norm/gamma`, ... Keras's own
`save_weights` keys layers by class name and position (`layers/conv2d_4`),
so a file breaks as soon as a layer's class changes; our layer names are
stable (they map Magenta's scopes), so files keyed by them stay readable
when the implementation of a layer changes. Files of format 1 (written
with Keras's layout) are still read, by position within each layer kind.
"""

import hashlib
import json
import logging
import os
import re

import h5py
import numpy as np

from magenta_style.errors import UserError

# Keys under which a config.json records its weights file's checksum.
SHA256_KEY = "weights_sha256"
SIZE_KEY = "weights_bytes"
# Key under which a config.json records the SHA-256 of its own content
# (`config_checksum`), so a changed width or style count is caught too.
CONFIG_SHA256_KEY = "config_sha256"


def write(model, path):
    """Writes every variable of `model` to the HDF5 file `path`."""
    with h5py.File(path, "w") as f:
        for variable in model.weights:
            f.create_dataset(variable.path, data=np.asarray(variable))


def stored_weights(f):
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
        stored = _legacy(f, model) if legacy else stored_weights(f)
    assign([(v.path, v) for v in model.weights], stored)


def checksum(path):
    """`{SHA256_KEY: hex digest, SIZE_KEY: bytes}` of the file at `path`, for config.json."""
    return {SHA256_KEY: file_sha256(path), SIZE_KEY: os.path.getsize(path)}


def file_sha256(path):
    """Hex SHA-256 of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(recorded, weights, config_path):
    """Checks `weights` against the checksum recorded when it was saved.

    Args:
        recorded: a dict holding `SHA256_KEY` and `SIZE_KEY` (a model's
            config.json, or its entry for this file), or neither.
        weights: path of the weights file.
        config_path: the config.json that recorded it (for the messages).

    Returns:
        True when verified; False for a model saved before checksums
        (a warning is logged: it loads unverified).

    Raises:
        UserError: the file differs from the one saved (cut short or changed).
    """
    expected = recorded.get(SHA256_KEY)
    if not expected:
        logging.getLogger("magenta_style.storage.model_format").warning(
            "%s records no weights checksum (saved by an older magenta_style); its weights "
            "load unverified. Saving the model again adds one.", config_path)
        return False
    size, saved_size = os.path.getsize(weights), recorded.get(SIZE_KEY)
    if isinstance(saved_size, int) and size != saved_size:
        how = "cut short" if size < saved_size else "grown"
        raise UserError(
            f"Weights {weights} are damaged: {size:,} bytes, {saved_size:,} when saved "
            f"({how}). Copy or download the model again.")
    actual = file_sha256(weights)
    if actual != expected:
        raise UserError(
            f"Weights {weights} are damaged: their SHA-256 is {actual[:16]}..., not the "
            f"{str(expected)[:16]}... recorded in {os.path.basename(config_path)} when saved. "
            "Copy or download the model again.")
    return True


def config_checksum(meta):
    """`{CONFIG_SHA256_KEY: hex digest}` of a config.json's content (all its other keys).

    The digest is of the content in a canonical form (sorted keys, compact),
    so it survives re-indentation but not a changed value.
    """
    rest = {k: v for k, v in meta.items() if k != CONFIG_SHA256_KEY}
    text = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return {CONFIG_SHA256_KEY: hashlib.sha256(text.encode()).hexdigest()}


def verify_config(meta, config_path):
    """Checks a parsed config.json against the checksum of its content it records.

    Returns:
        True when verified; False for a config saved before config checksums.

    Raises:
        UserError: the content differs from what was saved.
    """
    expected = meta.get(CONFIG_SHA256_KEY)
    if expected is None:
        return False
    if expected != config_checksum(meta)[CONFIG_SHA256_KEY]:
        raise UserError(f"Model config {config_path} is damaged: its content does not match "
                        "the checksum recorded when it was saved. Copy or download the model "
                        "again.")
    return True
