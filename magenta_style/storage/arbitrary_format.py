"""Model directories of arbitrary-style models (a style predictor + its transformer).

Beside the multi-style directories of `model_format`, with the same
conventions (atomic write, `config.json`, HDF5 weights keyed by variable
path):
- `config.json`: {"format": "magenta_style.arbitrary/1", "predictor":
  `StylePredictorConfig` fields, "transformer": `ArbitraryTransformerConfig`
  fields, "name", "provenance", "checksums": {file: SHA-256 and size}, verified
  on load (`weights_file.verify`)};
- `predictor.weights.h5`, `transformer.weights.h5`: the two networks'
  weights (`weights_file`). Keras's Inception-v3 names its layers by a
  process-wide counter (`conv2d_17`), so that trunk is keyed by position.

`model_format.load_model` dispatches here on the format, so shipped names
(`arbitrary-v1`) and paths load the same way as multi-style models.
"""

import dataclasses
import json
import os

import h5py
import numpy as np

from magenta_style import config as config_lib
from magenta_style.errors import UserError
from magenta_style.storage import atomic
from magenta_style.storage import json_file
from magenta_style.storage import model_config
from magenta_style.storage import weights_file

FORMAT = "magenta_style.arbitrary/1"
CONFIG_FILE = "config.json"
PREDICTOR_WEIGHTS = "predictor.weights.h5"
TRANSFORMER_WEIGHTS = "transformer.weights.h5"


def is_arbitrary_dir(directory):
    """True when `directory/config.json` names this format."""
    try:
        return json_file.read(os.path.join(directory, CONFIG_FILE)).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):  # UserError is a ValueError
        return False


def _keyed(model):
    """(key, variable) pairs of a network's weights file."""
    if getattr(model, "predictor_config", None) is not None and \
            model.predictor_config.kind == "inception_v3":
        return [(f"{i:04d}", v) for i, v in enumerate(model.weights)]
    return [(v.path, v) for v in model.weights]


def _write_weights(model, path):
    with h5py.File(path, "w") as f:
        for key, variable in _keyed(model):
            f.create_dataset(key, data=np.asarray(variable))


def _read_weights(model, path):
    with h5py.File(path, "r") as f:
        stored = weights_file.stored_weights(f)
    weights_file.assign(_keyed(model), stored)


NOTICE_FILE = "NOTICE"


def save_arbitrary_model(model, directory, provenance=None, notice=None, overwrite=False):
    """Writes an `ArbitraryStyleModel` to a model directory (atomically, replacing it).

    `notice`: optional text of a `NOTICE` file (licence and origin), written
    in the same atomic step. An existing `directory` is replaced only where
    `model_format.check_model_output` allows it (`overwrite` forces it).
    """
    meta = {
        "format": FORMAT,
        "name": model.name,
        "predictor": model.predictor.predictor_config.to_dict(),
        "transformer": model.transformer.arbitrary_config.to_dict(),
        "provenance": dict(provenance if provenance is not None else model.provenance),
    }

    def write(tmp):
        checksums = {}
        for net, name in ((model.predictor, PREDICTOR_WEIGHTS),
                          (model.transformer, TRANSFORMER_WEIGHTS)):
            _write_weights(net, os.path.join(tmp, name))
            checksums[name] = weights_file.checksum(os.path.join(tmp, name))
        checked = dict(meta, checksums=checksums)
        checked.update(weights_file.config_checksum(checked))
        with open(os.path.join(tmp, CONFIG_FILE), "w") as f:
            json.dump(checked, f, indent=2)
            f.write("\n")
        if notice is not None:
            with open(os.path.join(tmp, NOTICE_FILE), "w") as f:
                f.write(notice)

    atomic.write_dir(directory, write, overwrite=overwrite,
                     earlier=model_config.is_model_output, what="model folder")


def load_arbitrary_model(directory):
    """The `ArbitraryStyleModel` of a model directory written by `save_arbitrary_model`.

    Raises:
        UserError: broken config, missing weights, weights that do not fit.
    """
    from magenta_style.model import arbitrary_transformer
    from magenta_style.model import style_predictor
    path = os.path.join(directory, CONFIG_FILE)
    meta = model_config.read_config_json(path, (FORMAT,))
    fields = [f.name for f in dataclasses.fields(config_lib.ArbitraryTransformerConfig)]
    model_config.check_predictor(meta.get("predictor"), path, style_predictor.KINDS)
    model_config.check_architecture(meta.get("transformer"), path, fields)
    checksums = meta.get("checksums", {})
    if not isinstance(checksums, dict) or not all(isinstance(v, dict)
                                                  for v in checksums.values()):
        raise UserError(f"Broken arbitrary-style model config {path}: checksums must map "
                        "file names to objects.")
    try:
        predictor_cfg = config_lib.StylePredictorConfig.from_dict(meta["predictor"])
        transformer_cfg = config_lib.ArbitraryTransformerConfig.from_dict(meta["transformer"])
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"Broken arbitrary-style model config {path}: {e}") from None
    if not isinstance(meta.get("name", ""), str):
        raise UserError(f"Broken arbitrary-style model config {path}: name must be a string.")
    provenance = meta.get("provenance", {})
    try:
        predictor = style_predictor.StylePredictor(predictor_cfg, provenance=provenance)
        transformer = arbitrary_transformer.ArbitraryTransformer(transformer_cfg,
                                                                 provenance=provenance)
        model = arbitrary_transformer.ArbitraryStyleModel(
            predictor, transformer, name=meta.get("name") or os.path.basename(
                os.path.normpath(directory)), provenance=provenance)
    except ValueError as e:
        raise UserError(f"Broken arbitrary-style model config {path}: {e}") from None
    for net, name in ((predictor, PREDICTOR_WEIGHTS), (transformer, TRANSFORMER_WEIGHTS)):
        weights = os.path.join(directory, name)
        if not os.path.isfile(weights):
            raise UserError(f"Model directory {directory} has no {name}.")
        weights_file.verify(checksums.get(name, {}), weights, path)
        try:
            _read_weights(net, weights)
        except (ValueError, OSError, KeyError, RuntimeError) as e:
            raise UserError(f"Weights {weights} do not fit the architecture in its config: "
                            f"{str(e).splitlines()[0]}") from None
    return model
