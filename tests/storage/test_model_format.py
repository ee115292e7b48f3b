"""Model directories, shipped names and Magenta TF1 checkpoints."""

import json
import os

import numpy as np
import pytest

from magenta_style.errors import UserError
from magenta_style.model import transformer
from magenta_style.storage import magenta_checkpoint
from magenta_style.storage import model_format
from magenta_style.storage import weights_file


@pytest.fixture(scope="module")
def model():
    m = transformer.build_transformer(3, alpha=0.25)
    rng = np.random.default_rng(5)
    for v in m.weights:
        v.assign(rng.normal(0, 0.3, v.shape).astype("float32"))
    return m


def run(m, seed=0):
    x = np.random.default_rng(seed).random((1, 20, 24, 3), dtype=np.float32)
    return np.asarray(m([x, np.array([[0.2, 0.0, 1.0]], "float32")]))


def test_save_and_load_round_trip(model, tmp_path):
    path = tmp_path / "m"
    model_format.save_model(model, path, style_names=["a", "b", "c"], provenance={"steps": 7})
    meta = json.loads((path / "config.json").read_text())
    assert meta["num_styles"] == 3 and meta["architecture"]["alpha"] == 0.25
    loaded = model_format.load_model(str(path))
    assert loaded.style_names == ("a", "b", "c")
    assert loaded.provenance == {"steps": 7}
    np.testing.assert_array_equal(run(loaded), run(model))
    # Saving again replaces the folder whole, leaving no temp folders behind.
    model_format.save_model(loaded, path)
    assert sorted(os.listdir(tmp_path)) == ["m"]


def test_shipped_default_model_loads():
    assert {"android-26", "varied", "varied-small"} <= set(model_format.shipped_models())
    m = model_format.load_model()
    assert m.transformer_config.num_styles == 36 and m.transformer_config.alpha == 1.0
    assert len(m.style_names) == 36 and m.provenance["steps"] == 40000


def test_unknown_name_lists_shipped_models():
    with pytest.raises(UserError, match="shipped: .*android-26"):
        model_format.load_model("no-such-model")


@pytest.mark.parametrize("content,match", [
    ("{not json", "config.json is damaged or not JSON"),
    ('{"format": "other"}', "expected \"format\""),
    ('{"format": "magenta_style.transformer/1", "architecture": {"num_styles": 2, "x": 1}}',
     "architecture has unknown keys"),
    ('{"format": "magenta_style.transformer/1", "architecture": {"num_styles": 2},'
     ' "style_names": ["a"]}', "style_names must list 2 names"),
])
def test_broken_config_is_one_clear_line(tmp_path, content, match):
    (tmp_path / "config.json").write_text(content)
    with pytest.raises(UserError, match=match) as e:
        model_format.load_model(str(tmp_path))
    assert "\n" not in str(e.value)


def test_weights_of_another_architecture_are_reported(model, tmp_path):
    model_format.save_model(model, tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    cfg["architecture"]["alpha"] = 0.5
    del cfg[model_format.CONFIG_SHA256_KEY]  # edited by hand: its checksum would refuse it
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(UserError, match="do not fit the architecture"):
        model_format.load_model(str(tmp_path / "m"))


def test_magenta_variable_names():
    assert magenta_checkpoint.magenta_variable_name("contract_conv1", "kernel") == \
        "transformer/contract/conv1/weights"
    assert magenta_checkpoint.magenta_variable_name("residual3_conv2_norm", "gamma") == \
        "transformer/residual/residual3/conv2/InstanceNorm/gamma"
    assert magenta_checkpoint.magenta_variable_name("expand_conv3_norm", "beta") == \
        "transformer/expand/conv3/conv/InstanceNorm/beta"


def test_magenta_checkpoint_written_in_tf1_layout_loads(model, tmp_path):
    import tensorflow as tf

    prefix = str(tmp_path / "multistyle-pastiche-generator-test.ckpt")
    magenta_checkpoint.save_magenta_checkpoint(model, prefix)
    shapes = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
    assert shapes["transformer/contract/conv1/weights"] == [9, 9, 3, 8]
    assert shapes["transformer/expand/conv1/conv/InstanceNorm/gamma"] == [3, 16]
    assert len(shapes) == 16 * 3  # kernel, gamma, beta for 16 conv layers
    loaded = magenta_checkpoint.load_magenta_checkpoint(prefix)
    # Widths come from the shapes: (32, 64, 128) and (64, 32) at alpha 0.25.
    assert loaded.transformer_config.contract_widths == (8, 16, 32)
    assert loaded.transformer_config.expand_widths == (16, 8)
    np.testing.assert_array_equal(run(loaded), run(model))
    # load_model recognises the checkpoint prefix and its directory.
    np.testing.assert_array_equal(run(model_format.load_model(str(tmp_path))), run(model))


def test_magenta_checkpoint_at_alpha_0_3_loads_without_alpha(tmp_path):
    # Magenta's int(0.3 * 64) = 19 is not 2 * int(0.3 * 32) = 18: the widths
    # cannot be derived from the first layer alone.
    odd = transformer.build_transformer(2, alpha=0.3)
    rng = np.random.default_rng(4)
    for v in odd.weights:
        v.assign(rng.normal(0, 0.1, v.shape).astype("float32"))
    prefix = str(tmp_path / "alpha03.ckpt")
    magenta_checkpoint.save_magenta_checkpoint(odd, prefix)
    loaded = model_format.load_model(prefix)  # The one loading function.
    assert loaded.transformer_config.contract_widths == (9, 19, 38)
    x = np.random.default_rng(5).random((1, 20, 20, 3), dtype=np.float32)
    w = np.array([[0.3, 0.7]], "float32")
    np.testing.assert_allclose(np.asarray(loaded([x, w])), np.asarray(odd([x, w])), atol=1e-6)


def test_magenta_checkpoint_num_styles_mismatch(model, tmp_path):
    prefix = str(tmp_path / "c.ckpt")
    magenta_checkpoint.save_magenta_checkpoint(model, prefix)
    with pytest.raises(UserError, match="--num_styles=10 does not match .* 3 styles"):
        magenta_checkpoint.load_magenta_checkpoint(prefix, num_styles=10)


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "x.ckpt.index").write_text("garbage")
    with pytest.raises(UserError, match="Cannot read Magenta checkpoint"):
        magenta_checkpoint.load_magenta_checkpoint(str(tmp_path / "x.ckpt"))


def test_format_1_directory_in_keras_layout_still_loads(model, tmp_path):
    """Format 1 stored Keras's class-keyed layout (`layers/conv2d_4/vars/0`)."""
    import h5py

    path = tmp_path / "old"
    model_format.save_model(model, path, style_names=["a", "b", "c"])
    meta = json.loads((path / "config.json").read_text())
    meta["format"] = "magenta_style.transformer/1"
    for key in (model_format.SHA256_KEY, model_format.SIZE_KEY,
                model_format.CONFIG_SHA256_KEY):  # format 1 had none
        meta.pop(key)
    (path / "config.json").write_text(json.dumps(meta))
    kinds = {"PaddedConv2D": "conv2d",
             "StyleTable": "conditional_instance_normalization"}
    counts = {}
    with h5py.File(path / model_format.WEIGHTS_FILE, "w") as f:
        for layer in model.layers:
            kind = kinds.get(type(layer).__name__)
            if kind is None:
                continue
            n = counts[kind] = counts.get(kind, -1) + 1
            group = f.create_group(f"layers/{kind}{f'_{n}' if n else ''}/vars")
            for i, w in enumerate(layer.weights):
                group.create_dataset(str(i), data=np.asarray(w))
    np.testing.assert_array_equal(run(model_format.load_model(str(path))), run(model))


def test_a_directory_written_by_earlier_code_still_loads(caplog):
    # tests/testdata/model_format2 was written by tests/testdata/make_model_fixture.py
    # (commit 457cf32); its pastiches must not change.
    from tests.testdata.make_model_fixture import HERE
    from tests.testdata.make_model_fixture import fixture_input

    directory = os.path.join(HERE, "model_format2")
    loaded = model_format.load_model(directory)
    # Saved before checksums: it loads, and says it could not be verified.
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "no weights checksum" in caplog.records[0].getMessage()
    assert loaded.style_names == ("dots", "waves")
    assert loaded.provenance == {"made_by": "tests/testdata/make_model_fixture.py"}
    image, weights = fixture_input()
    expected = np.load(os.path.join(directory, "expected.npz"))["pastiche"]
    np.testing.assert_allclose(np.asarray(loaded([image, weights])), expected, atol=1e-6)


def _saved(model, tmp_path):
    path = tmp_path / "m"
    model_format.save_model(model, path, style_names=["a", "b", "c"])
    return path, path / model_format.WEIGHTS_FILE


def test_save_records_the_weights_checksum(model, tmp_path):
    import hashlib

    path, weights = _saved(model, tmp_path)
    meta = json.loads((path / "config.json").read_text())
    assert meta[model_format.SHA256_KEY] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert meta[model_format.SIZE_KEY] == weights.stat().st_size


@pytest.mark.parametrize("where", [0.3, 0.6, 0.9])
def test_a_flipped_byte_in_the_weights_is_refused(model, tmp_path, where):
    path, weights = _saved(model, tmp_path)
    data = bytearray(weights.read_bytes())
    data[int(len(data) * where)] ^= 0x40
    weights.write_bytes(bytes(data))
    with pytest.raises(UserError, match="are damaged: their SHA-256") as e:
        model_format.load_model(str(path))
    assert "\n" not in str(e.value)


def test_a_truncated_weights_file_says_so(model, tmp_path):
    path, weights = _saved(model, tmp_path)
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match=r"are damaged: .* bytes, .* when saved \(cut short\)"):
        model_format.load_model(str(path))
    # A model saved before checksums: still "damaged", not "does not fit".
    meta = json.loads((path / "config.json").read_text())
    for key in (model_format.SHA256_KEY, model_format.SIZE_KEY, model_format.CONFIG_SHA256_KEY):
        meta.pop(key)
    (path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="cannot be read: the file is damaged or cut short") as e:
        model_format.load_model(str(path))
    assert "do not fit" not in str(e.value)


@pytest.mark.parametrize("name", ["android-26", "varied", "varied-small"])
def test_shipped_models_are_verified(name, caplog):
    meta = model_format.read_model_config(name)
    weights = os.path.join(meta["directory"], model_format.WEIGHTS_FILE)
    assert weights_file.verify(meta, weights, str(weights)) is True
    assert not caplog.records
