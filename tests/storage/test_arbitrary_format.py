"""Arbitrary-style model directories: round trip, shipped name, bad input."""

import json
import os

import numpy as np
import pytest

from magenta_style.errors import UserError
from magenta_style.model import arbitrary_transformer
from magenta_style.model import style_predictor
from magenta_style.storage import arbitrary_format
from magenta_style.storage import atomic
from magenta_style.storage import model_format


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(0)
    predictor = style_predictor.build_style_predictor(style_dim=8)
    transformer = arbitrary_transformer.build_arbitrary_transformer(0.25, style_dim=8)
    for var in predictor.weights + transformer.weights:
        var.assign(rng.normal(0, 0.05, var.shape).astype("float32"))
    return arbitrary_transformer.ArbitraryStyleModel(predictor, transformer, name="tiny",
                                                     provenance={"source": "test"})


def test_round_trip_keeps_outputs_config_and_provenance(pair, tmp_path):
    path = tmp_path / "tiny"
    model_format.save_model(pair, path)
    assert sorted(os.listdir(path)) == [atomic.MARKER_FILE, "config.json",
                                        "predictor.weights.h5", "transformer.weights.h5"]
    loaded = model_format.load_model(str(path))
    assert isinstance(loaded, arbitrary_transformer.ArbitraryStyleModel)
    assert loaded.name == "tiny" and loaded.provenance == {"source": "test"}
    assert loaded.transformer.arbitrary_config == pair.transformer.arbitrary_config
    painting = np.random.default_rng(1).random((1, 64, 64, 3), dtype=np.float32)
    v = np.asarray(pair.predictor(painting))
    np.testing.assert_array_equal(np.asarray(loaded.predictor(painting)), v)
    photo = np.random.default_rng(2).random((1, 20, 24, 3), dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(loaded.transformer([photo, v])),
                                  np.asarray(pair.transformer([photo, v])))


def test_shipped_arbitrary_v1_loads_by_name_with_its_notice():
    assert "arbitrary-v1" in model_format.shipped_models()
    model = model_format.load_model("arbitrary-v1")
    assert isinstance(model, arbitrary_transformer.ArbitraryStyleModel)
    assert model.style_dim == 100 and model.transformer.arbitrary_config.alpha == 0.25
    notice = os.path.join(model_format.checkpoints_dir(), "arbitrary-v1", "NOTICE")
    assert "Apache License, Version 2.0" in open(notice).read()
    with pytest.raises(UserError, match="no trained styles"):
        model_format.load_model("arbitrary-v1", num_styles=3)


def test_weights_that_do_not_fit_and_broken_configs_are_one_line(pair, tmp_path):
    path = tmp_path / "m"
    model_format.save_model(pair, path)
    meta = json.loads((path / "config.json").read_text())
    del meta[model_format.CONFIG_SHA256_KEY]  # edited by hand below
    meta["transformer"]["style_dim"] = 9
    (path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="must agree on style_dim"):
        model_format.load_model(str(path))
    meta["predictor"]["style_dim"] = 9
    (path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="predictor.weights.h5 do not fit the architecture"):
        model_format.load_model(str(path))
    meta["transformer"]["nope"] = 1
    (path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="Broken model config .* unknown keys"):
        model_format.load_model(str(path))
    os.remove(path / "config.json")
    (path / "config.json").write_text(json.dumps({**meta, "transformer": {"style_dim": 9}}))
    os.remove(path / "predictor.weights.h5")
    with pytest.raises(UserError, match="no predictor.weights.h5"):
        arbitrary_format.load_arbitrary_model(str(path))


def test_multi_style_only_parts_refuse_the_arbitrary_model_in_one_line(pair):
    with pytest.raises(UserError, match="Fine-tuning needs a multi-style model"):
        model_format.require_multi_style(pair, "Fine-tuning")
    from magenta_style.training import base_model

    with pytest.raises(UserError, match="multi-style model"):
        base_model.load_base_model("arbitrary-v1")


def test_damaged_weights_are_refused_by_their_checksum(pair, tmp_path):
    path = tmp_path / "m"
    model_format.save_model(pair, path)
    meta = json.loads((path / "config.json").read_text())
    assert set(meta["checksums"]) == {"predictor.weights.h5", "transformer.weights.h5"}
    weights = path / "transformer.weights.h5"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the arrays
    weights.write_bytes(bytes(data))
    with pytest.raises(UserError, match="transformer.weights.h5 are damaged: their SHA-256"):
        model_format.load_model(str(path))
    weights.write_bytes(bytes(data[:1000]))
    with pytest.raises(UserError, match="cut short"):
        model_format.load_model(str(path))
