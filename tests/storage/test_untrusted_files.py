"""Files the project reads back are untrusted: bad ones are one line naming the file."""

import json
import os

import numpy as np
import pytest

from magenta_style.data import style_grams
from magenta_style.errors import UserError
from magenta_style.model import transformer
from magenta_style.storage import magenta_checkpoint
from magenta_style.storage import model_format
from magenta_style.storage import weights_file
from magenta_style.training import curves


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "tiny"
    model_format.save_model(transformer.build_transformer(2, alpha=0.25, num_residual_blocks=1),
                            path, style_names=["a", "b"])
    return path


def _edit_config(src, dst, edit, keep_checksum=False):
    """Copies model `src` to `dst` with `edit(meta)` applied to its config.json."""
    os.makedirs(dst)
    os.link(src / model_format.WEIGHTS_FILE, dst / model_format.WEIGHTS_FILE)
    meta = json.loads((src / "config.json").read_text())
    if not keep_checksum:
        del meta[weights_file.CONFIG_SHA256_KEY]  # as an older (or hostile) file
    edit(meta)
    (dst / "config.json").write_text(json.dumps(meta))
    return dst


def _arch(key, value):
    return lambda meta: meta["architecture"].__setitem__(key, value)


@pytest.mark.parametrize("edit, words", [
    (_arch("contract_widths", [32, 1_000_000, 128]), "contract_widths must be an integer"),
    (_arch("num_residual_blocks", 1_000_000), "num_residual_blocks must be an integer"),
    (_arch("kernel_sizes", [9, 4, 3]), "must be odd"),
    (_arch("epsilon", -1e-5), "epsilon must be a number in"),
    (_arch("alpha", float("nan")), "alpha must be a number in"),
    (_arch("alpha", "1"), "alpha must be a number in"),
    (_arch("expand_widths", ["64", 32]), "expand_widths must be an integer"),
    (_arch("num_styles", True), "num_styles must be an integer"),
    (lambda meta: meta["architecture"].update(alpha=8.0, contract_widths=[2048] * 3),
     "too large"),
    (lambda meta: meta.__setitem__("style_names", ["a", 7]), "style_names must be strings"),
    (lambda meta: meta.__setitem__("provenance", [1]), "provenance must be"),
])
def test_a_config_out_of_bounds_is_one_line_before_anything_is_built(saved, tmp_path, edit,
                                                                     words, monkeypatch):
    monkeypatch.setattr(transformer, "PasticheNetwork", lambda *a, **k: pytest.fail("built"))
    path = _edit_config(saved, tmp_path / "m", edit)
    with pytest.raises(UserError, match=words) as e:
        model_format.load_model(str(path))
    assert "\n" not in str(e.value) and "config.json" in str(e.value)


def test_a_100k_deep_config_is_one_line(tmp_path):
    (tmp_path / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / model_format.WEIGHTS_FILE).write_bytes(b"")
    with pytest.raises(UserError, match="nests deeper") as e:
        model_format.load_model(str(tmp_path))
    assert "\n" not in str(e.value)


def test_the_checksum_covers_the_config_and_older_configs_still_load(saved, tmp_path):
    renamed = _edit_config(saved, tmp_path / "renamed",
                           lambda meta: meta["style_names"].__setitem__(0, "z"),
                           keep_checksum=True)
    with pytest.raises(UserError, match="config.json is damaged"):
        model_format.load_model(str(renamed))
    older = _edit_config(saved, tmp_path / "older", lambda meta: None)
    assert model_format.load_model(str(older)).style_names == ("a", "b")
    for name in model_format.shipped_models():  # sealed by tools/seal_model_configs.py
        meta = json.loads(open(os.path.join(model_format.checkpoints_dir(), name,
                                            "config.json")).read())
        assert weights_file.verify_config(meta, name)


@pytest.fixture(scope="module")
def magenta_ckpt(tmp_path_factory):
    model = transformer.build_transformer(2, alpha=0.25, num_residual_blocks=1)
    prefix = str(tmp_path_factory.mktemp("magenta") / "model.ckpt")
    magenta_checkpoint.save_magenta_checkpoint(model, prefix)
    return prefix


def _copy_ckpt(prefix, folder):
    import shutil

    for name in os.listdir(os.path.dirname(prefix)):
        shutil.copy(os.path.join(os.path.dirname(prefix), name), folder)
    return os.path.join(folder, os.path.basename(prefix))


def _data_file(prefix):
    (name,) = [n for n in os.listdir(os.path.dirname(prefix)) if ".data-" in n]
    return os.path.join(os.path.dirname(prefix), name)


@pytest.mark.parametrize("damage", ["cut", "flip", "missing shard", "cut index"])
def test_a_damaged_magenta_checkpoint_is_one_line(magenta_ckpt, tmp_path, damage):
    prefix = _copy_ckpt(magenta_ckpt, tmp_path)
    data = _data_file(prefix)
    if damage == "cut":
        os.truncate(data, os.path.getsize(data) // 2)
    elif damage == "flip":
        raw = bytearray(open(data, "rb").read())
        raw[len(raw) // 3] ^= 0x40
        open(data, "wb").write(bytes(raw))
    elif damage == "missing shard":
        os.remove(data)
    else:
        os.truncate(prefix + ".index", os.path.getsize(prefix + ".index") // 2)
    with pytest.raises(UserError) as e:
        model_format.load_model(prefix)
    assert "\n" not in str(e.value) and prefix in str(e.value)


def test_a_truncated_style_set_is_one_line(tmp_path):
    rng = np.random.default_rng(0)
    styles = style_grams.StyleSet(["a", "b"], {"vgg_16/conv1": rng.random((2, 4, 4), "float32")},
                                  [np.zeros((8, 8, 3), np.uint8)] * 2,
                                  {"format": style_grams.FORMAT})
    path = style_grams.save_style_set(styles, str(tmp_path / "s.npz"))
    os.truncate(path, os.path.getsize(path) - 40)
    with pytest.raises(UserError, match="s.npz is damaged") as e:
        style_grams.load_style_set(path)
    assert "\n" not in str(e.value)


def test_a_metrics_log_is_read_past_a_cut_short_last_line_but_not_past_garbage(tmp_path):
    path = tmp_path / "metrics.jsonl"
    lines = [json.dumps({"step": s, "losses/total_loss": 1.0 / s}) for s in (1, 2, 3)]
    path.write_text("\n".join(lines) + "\n" + lines[0][:9])  # a run killed mid-line
    assert [r["step"] for r in curves.read_metrics(str(path))] == [1, 2, 3]
    path.write_text(lines[0] + "\n" + '{"step": 2, "losses/total_loss": "x"}\n' + lines[2])
    with pytest.raises(UserError, match="metrics.jsonl:2 is not a training metrics record"):
        curves.read_metrics(str(path))
    path.write_bytes(b"\xff\xfe" + lines[0].encode())
    with pytest.raises(UserError, match="is damaged"):
        curves.read_metrics(str(path))
