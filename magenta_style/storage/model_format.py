"""Model directories, shipped model names, and Magenta TF1 checkpoints.

A model directory holds:
- `config.json`: {"format": "magenta_style.transformer/2", "architecture":
  TransformerConfig fields, "num_styles", "style_names", "provenance"};
- `model.weights.h5`: the weights of `build_transformer(...)`, keyed by layer
  name (`weights_file`; format 1 used Keras's class-keyed layout and is
  still read).
`config.json` also records the weights file's SHA-256 and size
(`weights_sha256`, `weights_bytes`), checked on load: flipped bytes in an
HDF5 file mostly load silently with wrong weights, and a file cut short
reads as a mismatch. Models saved before these keys still load, with a
warning.
It loads without VGG and without the training code.

Magenta's TF1 checkpoints are `storage.magenta_checkpoint`'s.
"""

import dataclasses
import glob
import json
import os

from magenta_style import config as config_lib
from magenta_style.errors import UserError
from magenta_style.model import transformer as transformer_lib
from magenta_style.storage import atomic
from magenta_style.storage import magenta_checkpoint
from magenta_style.storage import model_cache
from magenta_style.storage import model_config
from magenta_style.storage import weights_file

FORMAT = "magenta_style.transformer/2"
_READABLE_FORMATS = (FORMAT, "magenta_style.transformer/1")
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
# The project's own 36-style network: on the 20 held-out photos it matches
# each of its paintings closer than android-26's nearest style does and keeps
# more of the photo (docs/models/varied.md, "Which model is the
# default"). The live studio keeps the 4x cheaper android-26 (StudioConfig).
DEFAULT_MODEL = "varied"
# Checksum keys of config.json (see `weights_file.verify`).
SHA256_KEY = weights_file.SHA256_KEY
SIZE_KEY = weights_file.SIZE_KEY
CONFIG_SHA256_KEY = weights_file.CONFIG_SHA256_KEY

def checkpoints_dir():
    """Folder of shipped models: inside the installed package, else the repo's."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    installed = os.path.join(package, "checkpoints")
    for candidate in (installed, os.path.join(os.path.dirname(package), "checkpoints")):
        if os.path.isdir(candidate):
            return candidate
    return installed


def shipped_models():
    """Names of the shipped models (subfolders of `checkpoints_dir()`)."""
    root = checkpoints_dir()
    if not os.path.isdir(root):
        return []
    return sorted(d for d in os.listdir(root)
                  if os.path.isfile(os.path.join(root, d, CONFIG_FILE)))


def resolve_model_dir(name_or_dir):
    """A model directory from a shipped model name or a path."""
    if name_or_dir is None:
        name_or_dir = DEFAULT_MODEL
    path = os.fspath(name_or_dir)
    if os.path.isdir(path):
        return path
    shipped = os.path.join(checkpoints_dir(), path)
    if os.path.isdir(shipped):
        return shipped
    raise UserError(
        f"No model named {path!r}: not a directory and not a shipped model "
        f"(shipped: {', '.join(shipped_models()) or 'none'})."
    )


def save_model(model, directory, style_names=None, provenance=None, overwrite=False):
    """Writes a transformer to a model directory (atomically).

    Args:
        model: a model from `build_transformer` (carries `transformer_config`),
            or an `ArbitraryStyleModel` (`storage.arbitrary_format`; it has no
            style names).
        directory: output folder; replaced whole if it exists and holds only
            an earlier model (`check_model_output`).
        style_names: optional list of num_styles names (default the
            model's `style_names`).
        provenance: optional JSON-able dict (training steps, losses, sources).
        overwrite: replace `directory` even when it holds other files.

    Raises:
        UserError: `directory` holds files that are not an earlier model's.
    """
    if is_arbitrary(model):
        from magenta_style.storage import arbitrary_format

        return arbitrary_format.save_arbitrary_model(model, directory, provenance=provenance,
                                                     overwrite=overwrite)
    cfg = model.transformer_config
    names = list(style_names if style_names is not None else model.style_names)
    if len(names) != cfg.num_styles:
        raise UserError(
            f"Got {len(names)} style names for a model of {cfg.num_styles} "
            f"styles. Received: style_names={names}"
        )
    meta = {
        "format": FORMAT,
        "architecture": cfg.to_dict(),
        "num_styles": cfg.num_styles,
        "style_names": names,
        "provenance": dict(provenance if provenance is not None else model.provenance),
    }

    def write(tmp):
        weights = os.path.join(tmp, WEIGHTS_FILE)
        weights_file.write(model, weights)
        checked = dict(meta, **weights_file.checksum(weights))
        checked.update(weights_file.config_checksum(checked))
        with open(os.path.join(tmp, CONFIG_FILE), "w") as f:
            json.dump(checked, f, indent=2)
            f.write("\n")

    atomic.write_dir(directory, write, overwrite=overwrite, earlier=model_config.is_model_output,
                     what="model folder")


def check_model_output(directory, what="model folder", *, overwrite=False, inputs=()):
    """`atomic.check_replaceable` for a model folder: before training or converting."""
    atomic.check_replaceable(directory, what, overwrite=overwrite, inputs=inputs,
                             earlier=model_config.is_model_output)


def read_model_config(name_or_dir):
    """The parsed `config.json` of a model directory or shipped name (bounds checked)."""
    directory = resolve_model_dir(name_or_dir)
    path = os.path.join(directory, CONFIG_FILE)
    try:
        meta = model_config.read_config_json(path, _READABLE_FORMATS)
    except FileNotFoundError:
        raise UserError(
            f"{directory} is not a model directory: it has no {CONFIG_FILE}."
        ) from None
    fields = [f.name for f in dataclasses.fields(config_lib.TransformerConfig)]
    arch = model_config.check_architecture(meta.get("architecture"), path, fields)
    meta["architecture"] = config_lib.TransformerConfig.from_dict(arch)
    model_config.check_style_names(meta.get("style_names"), meta["architecture"].num_styles,
                                   path)
    meta["directory"] = directory
    return meta


def _load_model_dir(name_or_dir):
    """A model directory or shipped name (see `load_model`)."""
    from magenta_style.storage import arbitrary_format

    directory = resolve_model_dir(name_or_dir)
    if arbitrary_format.is_arbitrary_dir(directory):
        return arbitrary_format.load_arbitrary_model(directory)
    meta = read_model_config(directory)
    weights = os.path.join(meta["directory"], WEIGHTS_FILE)
    if not os.path.isfile(weights):
        raise UserError(f"Model directory {meta['directory']} has no {WEIGHTS_FILE}.")
    weights_file.verify(meta, weights, os.path.join(meta["directory"], CONFIG_FILE))
    model = transformer_lib.build_transformer_from_config(
        meta["architecture"], style_names=meta["style_names"],
        provenance=meta.get("provenance", {}))
    try:
        weights_file.read(model, weights, legacy=meta["format"] != FORMAT)
    except (OSError, RuntimeError) as e:  # h5py: not HDF5, truncated, corrupt B-tree
        raise UserError(
            f"Weights {weights} cannot be read: the file is damaged or cut short "
            f"({str(e).splitlines()[0] if str(e) else type(e).__name__}). Copy or download "
            "the model again.") from None
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(
            f"Weights {weights} do not fit the architecture in its config: "
            f"{str(e).splitlines()[0]}"
        ) from None
    return model


def load_model(model=None, num_styles=None, alpha=None, *, cached=False):
    """Loads a transformer from whatever a user passes as `model` / `--checkpoint`.

    The one loader: scripts, `stylize`, the studio, export and the trainers
    all read models through it.

    Args:
        model: None (the default shipped model), a shipped model name
            (`shipped_models()`), a model directory, a Magenta TF1
            checkpoint prefix or a directory holding one, or a loaded
            model (returned as is, after the `num_styles` check).
        num_styles: optional; checked against the model.
        alpha: optional width multiplier for a Magenta checkpoint whose
            widths cannot be read from its shapes (see
            `load_magenta_checkpoint`); ignored for model directories.
        cached: share one loaded copy per model files (`storage.model_cache`;
            read again when a file changes). For inference only: a caller
            that changes the weights (training) loads its own copy.

    Returns:
        The `PasticheNetwork` of `build_transformer`, with attributes
        `transformer_config`, `style_names` (tuple of str) and `provenance`;
        for an arbitrary-style directory (`arbitrary-v1`), an
        `ArbitraryStyleModel` (`storage.arbitrary_format`).

    Raises:
        UserError: unknown name, not a model directory or checkpoint, broken
            config, weights that do not fit, or another `num_styles`.
    """
    if model is not None and not isinstance(model, (str, os.PathLike)):
        check_num_styles(model, num_styles)
        return model
    path = DEFAULT_MODEL if model is None else os.fspath(model)
    if not os.path.exists(path) and not os.path.exists(path + ".index"):
        path = resolve_model_dir(path)  # a shipped name (or one clear line)
    if cached:
        key = (model_cache.fingerprint(path, model_files(path)), alpha)
        loaded = model_cache.get(key, lambda: _read(path, alpha))
    else:
        loaded = _read(path, alpha)
    check_num_styles(loaded, num_styles)
    return loaded


def model_files(path):
    """The files whose change makes the model at `path` another model."""
    from magenta_style.storage import arbitrary_format

    real = os.path.realpath(path)
    return [os.path.join(real, WEIGHTS_FILE), os.path.join(real, CONFIG_FILE),
            os.path.join(real, arbitrary_format.PREDICTOR_WEIGHTS),
            os.path.join(real, arbitrary_format.TRANSFORMER_WEIGHTS),
            real + ".index", os.path.join(real, "checkpoint")]


def _read(path, alpha):
    """A model directory, or a Magenta TF1 checkpoint (prefix or directory)."""
    if not os.path.isfile(os.path.join(path, CONFIG_FILE)):
        is_tf_ckpt = (os.path.isfile(path + ".index")
                      or (os.path.isdir(path)
                          and (os.path.isfile(os.path.join(path, "checkpoint"))
                               or glob.glob(os.path.join(path, "*.index")))))
        if is_tf_ckpt:
            return magenta_checkpoint.load_magenta_checkpoint(path, alpha=alpha)
    return _load_model_dir(path)


def check_num_styles(model, num_styles):
    """Refuses a `num_styles` (None: any) other than the model's, in one line."""
    if is_arbitrary(model):
        if num_styles is not None:
            raise UserError(f"--num_styles={num_styles} does not apply to {model.name}, an "
                            "arbitrary-style model: it has no trained styles (pass a style "
                            "image instead).")
        return
    n = model.transformer_config.num_styles
    if num_styles is not None and num_styles != n:
        raise UserError(
            f"--num_styles={num_styles} does not match the model, which holds {n} styles.")


def is_arbitrary(model):
    """True for an arbitrary-style model (predictor + transformer), not a multi-style one."""
    from magenta_style.model import arbitrary_transformer

    return isinstance(model, arbitrary_transformer.ArbitraryStyleModel)


def require_multi_style(model, purpose):
    """Refuses an arbitrary-style model where trained styles are needed, in one line."""
    if is_arbitrary(model):
        raise UserError(f"{purpose} needs a multi-style model (trained styles); {model.name} is "
                        "an arbitrary-style model (style images), which this does not take.")
    return model
