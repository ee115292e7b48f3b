"""Random damage to every file format the project reads: one line, or the right result.

Each format is written once, small, by the project's own writer; each
example copies it, damages one file (cut short, a flipped byte, a span of
garbage, garbage appended) and reads it back. The reader must either raise
one `UserError` line or return exactly what was written (damage that
changes nothing, such as a flip in ignored padding).
"""

import json
import os
import shutil
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from magenta_style.data import style_grams
from magenta_style.errors import UserError
from magenta_style.model import transformer
from magenta_style.storage import magenta_checkpoint
from magenta_style.storage import model_format
from magenta_style.storage import weights_file
from magenta_style.training import curves
from magenta_style.training import train_state

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@st.composite
def damage(draw):
    """A function `bytes -> bytes` that damages a file's content (`.kind` says how)."""
    kind = draw(st.sampled_from(["cut", "flip", "garbage", "append"]))
    where = draw(st.floats(0.0, 1.0))
    mask = draw(st.integers(1, 255))
    junk = draw(st.binary(min_size=1, max_size=64))

    def harm(data):
        at = int(where * (len(data) - 1))
        if kind == "cut":
            return data[:at]
        if kind == "flip":
            return data[:at] + bytes([data[at] ^ mask]) + data[at + 1:]
        if kind == "append":
            return data + junk
        return data[:at] + junk + data[at + len(junk):]

    harm.kind = kind
    return harm


def _damaged_copy(source, name, harm):
    """A temp copy of folder `source` with file `name` damaged by `harm`."""
    folder = tempfile.mkdtemp()
    shutil.rmtree(folder)
    shutil.copytree(source, folder)
    path = os.path.join(folder, name)
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(harm(data))
    return folder


def _one_line_or(read, check):
    """Calls `read()`: a `UserError` must be one line; a result must pass `check`."""
    try:
        result = read()
    except UserError as e:
        assert "\n" not in str(e) and str(e), repr(str(e))
        return
    check(result)


def _same_weights(a, b):
    assert len(a.weights) == len(b.weights)
    for x, y in zip(a.weights, b.weights):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture(scope="module")
def model():
    net = transformer.build_transformer(2, alpha=0.25, num_residual_blocks=1)
    rng = np.random.default_rng(0)
    for v in net.weights:
        v.assign(rng.normal(0, 0.1, v.shape).astype("float32"))
    return net


@pytest.fixture(scope="module")
def model_dir(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m"
    model_format.save_model(model, path, style_names=["a", "b"])
    return str(path)


@pytest.fixture(scope="module")
def legacy_dir(model_dir, tmp_path_factory):
    """The model as saved before any checksum: damage is not caught by one."""
    path = str(tmp_path_factory.mktemp("legacy") / "m")
    shutil.copytree(model_dir, path)
    with open(os.path.join(path, "config.json")) as f:
        meta = json.load(f)
    for key in (weights_file.SHA256_KEY, weights_file.SIZE_KEY, weights_file.CONFIG_SHA256_KEY):
        del meta[key]
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(meta, f)
    return path


@given(harm=damage())
@SETTINGS
def test_damaged_config_json(model_dir, model, harm):
    folder = _damaged_copy(model_dir, "config.json", harm)
    _one_line_or(lambda: model_format.load_model(folder),
                 lambda loaded: _same_weights(loaded, model))


@given(harm=damage())
@SETTINGS
def test_damaged_weights(model_dir, model, harm):
    folder = _damaged_copy(model_dir, model_format.WEIGHTS_FILE, harm)
    _one_line_or(lambda: model_format.load_model(folder),
                 lambda loaded: _same_weights(loaded, model))


@given(harm=damage(), name=st.sampled_from(["config.json", model_format.WEIGHTS_FILE]))
@SETTINGS
def test_damaged_model_without_checksums_loads_its_architecture_or_is_one_line(
        legacy_dir, model, harm, name):
    folder = _damaged_copy(legacy_dir, name, harm)
    # Unverified weights may load changed (what checksums are for); never a traceback.
    _one_line_or(lambda: model_format.load_model(folder),
                 lambda loaded: loaded.transformer_config == model.transformer_config)


@pytest.fixture(scope="module")
def magenta_dir(model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("magenta")
    magenta_checkpoint.save_magenta_checkpoint(model, str(folder / "model.ckpt"))
    return str(folder)


@given(harm=damage(), which=st.sampled_from(["index", "data"]))
@SETTINGS
def test_damaged_magenta_checkpoint(magenta_dir, model, harm, which):
    name = "model.ckpt.index" if which == "index" else next(
        n for n in os.listdir(magenta_dir) if ".data-" in n)
    folder = _damaged_copy(magenta_dir, name, harm)
    _one_line_or(lambda: model_format.load_model(os.path.join(folder, "model.ckpt")),
                 lambda loaded: _same_weights(loaded, model))


@pytest.fixture(scope="module")
def train_dir(model, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("train"))
    train_state.seed_from_model(folder, model, 5, {"architecture": "tiny"})
    return folder


@given(harm=damage())
@SETTINGS
def test_damaged_training_checkpoint(train_dir, model, harm):
    (name,) = [n for n in os.listdir(train_dir) if n.endswith(".npz")]
    folder = _damaged_copy(train_dir, name, harm)
    fresh = transformer.build_transformer(2, alpha=0.25, num_residual_blocks=1)

    def check(header):
        assert header["step"] == 5
        _same_weights(fresh, model)

    _one_line_or(lambda: train_state.restore_checkpoint(os.path.join(folder, name), fresh,
                                                        None), check)


@pytest.fixture(scope="module")
def style_set_dir(tmp_path_factory):
    rng = np.random.default_rng(0)
    styles = style_grams.StyleSet(
        ["a", "b"], {"vgg_16/conv1": rng.random((2, 4, 4)).astype("float32")},
        [rng.integers(0, 256, (6, 5, 3), dtype=np.uint8) for _ in range(2)],
        {"format": style_grams.FORMAT})
    folder = tmp_path_factory.mktemp("styles")
    style_grams.save_style_set(styles, str(folder / "s.npz"))
    return str(folder), styles


@given(harm=damage())
@SETTINGS
def test_damaged_style_set(style_set_dir, harm):
    source, styles = style_set_dir
    folder = _damaged_copy(source, "s.npz", harm)

    def check(loaded):
        assert loaded.names == styles.names
        np.testing.assert_array_equal(loaded.grams["vgg_16/conv1"], styles.grams["vgg_16/conv1"])
        for a, b in zip(loaded.images, styles.images):
            np.testing.assert_array_equal(a, b)

    _one_line_or(lambda: style_grams.load_style_set(os.path.join(folder, "s.npz")), check)


@pytest.fixture(scope="module")
def metrics_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("metrics")
    records = [{"step": s, "losses/total_loss": 10.0 / s} for s in range(1, 6)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(folder), records


@given(harm=damage())
@SETTINGS
def test_damaged_metrics_log(metrics_dir, harm):
    source, records = metrics_dir
    folder = _damaged_copy(source, "metrics.jsonl", harm)

    def check(loaded):
        # A plain-text log (people read and edit it) has no checksum: a flipped
        # digit is another number. What is read must still be records of numbers.
        assert [r["step"] for r in loaded] == sorted({r["step"] for r in loaded})
        for record in loaded:
            assert all(isinstance(v, (int, float)) for v in record.values())
        if harm.kind == "cut":  # only the unfinished tail is lost
            assert loaded == records[:len(loaded)]

    _one_line_or(lambda: curves.read_metrics(os.path.join(folder, "metrics.jsonl")), check)
