"""ONNX export: onnxruntime on the written graph gives the Keras model's pixels."""

import json
import os

import numpy as np
import pytest

from magenta_style.errors import UserError

from .conftest import ANDROID_DIR
from .conftest import styled_model

onnx = pytest.importorskip("onnx", reason="the onnx package is not installed "
                           "(pip install '.[test]' or '.[onnx]')")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed "
                          "(a test extra: pip install '.[test]')")

from magenta_style import onnx_export  # noqa: E402

NUM_STYLES = 3
TOLERANCE = 1e-4  # what the export promises (measured: ~1e-5)


def session(path):
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def run(sess, images, weights):
    return sess.run(None, {"image": np.asarray(images, np.float32),
                           "style_weights": np.asarray(weights, np.float32)})[0]


def keras_out(model, images, weights):
    return np.asarray(model([images, np.asarray(weights, np.float32)], training=False))


@pytest.fixture(scope="module")
def model():
    return styled_model(NUM_STYLES, 2, ("starry", "wave", "scream"))


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    return onnx_export.export_onnx(model, str(tmp_path_factory.mktemp("onnx") / "m.onnx"))


@pytest.mark.parametrize("shape", [(1, 32, 32), (2, 37, 50), (3, 21, 8)])
def test_matches_keras_for_any_batch_size_and_mixture(model, exported, shape):
    sess = session(exported)
    images = np.random.default_rng(0).random(shape + (3,), dtype=np.float32)
    per_image = np.random.default_rng(1).random((shape[0], NUM_STYLES), dtype=np.float32)
    out = run(sess, images, per_image)
    assert out.shape == images.shape
    np.testing.assert_allclose(out, keras_out(model, images, per_image), atol=TOLERANCE)
    # One row of weights applies to every image (unnormalised, as given).
    mixture = np.array([[0.2, 0.0, 1.3]], np.float32)
    np.testing.assert_allclose(run(sess, images, mixture),
                               keras_out(model, images, np.repeat(mixture, shape[0], 0)),
                               atol=TOLERANCE)


def test_styles_differ_and_metadata_names_them(model, exported):
    """The style-weight input really selects the style (not a constant baked in)."""
    sess = session(exported)
    images = np.random.default_rng(3).random((1, 24, 24, 3), dtype=np.float32)
    a, b = (run(sess, images, np.eye(NUM_STYLES, dtype=np.float32)[[i]]) for i in (0, 2))
    assert np.abs(a - b).max() > 0.05
    props = {p.key: p.value for p in onnx.load(exported).metadata_props}
    assert json.loads(props["style_names"]) == ["starry", "wave", "scream"]
    assert json.loads(props["architecture"])["num_styles"] == NUM_STYLES


def test_shipped_android26_matches_keras():
    from magenta_style.storage import model_format

    model = model_format.load_model("android-26")
    sess = session(onnx_export.onnx_model(model).SerializeToString())
    images = np.random.default_rng(4).random((1, 45, 62, 3), dtype=np.float32)
    weights = np.zeros((1, 26), np.float32)
    weights[0, [0, 3]] = 0.5
    np.testing.assert_allclose(run(sess, images, weights), keras_out(model, images, weights),
                               atol=TOLERANCE)


@pytest.mark.needs_shared
def test_android26_export_reproduces_googles_onnx_outputs():
    """Against the outputs of Google's own graph (../shared reference.npz)."""
    from magenta_style.storage import model_format

    sess = session(onnx_export.onnx_model(model_format.load_model("android-26"))
                   .SerializeToString())
    ref = np.load(os.path.join(ANDROID_DIR, "reference.npz"))
    weights = ref["style_weights"]
    for i in range(3):
        image = ref[f"image_{i}"][None]
        out = np.concatenate([run(sess, image, weights[[j]]) for j in range(len(weights))])
        np.testing.assert_allclose(out, ref[f"stylized_{i}"], atol=TOLERANCE)


def test_export_writes_atomically_and_rejects_no_path(model, tmp_path):
    path = tmp_path / "sub" / "model.onnx"
    assert onnx_export.export_onnx(model, str(path)) == str(path)
    onnx.checker.check_model(str(path))
    assert [p.name for p in tmp_path.joinpath("sub").iterdir()] == ["model.onnx"]
    with pytest.raises(UserError, match="No ONNX file given"):
        onnx_export.export_onnx(model, "")


def test_bin_export_onnx_flag_writes_stylize_onnx(model, tmp_path):
    from magenta_style.export import ExportConfig
    from magenta_style.export import export_from_config
    from magenta_style.storage import model_format

    model_dir = str(tmp_path / "model")
    model_format.save_model(model, model_dir)
    out = str(tmp_path / "export")
    export_from_config(ExportConfig(checkpoint=model_dir, export_dir=out, onnx=True))
    images = np.random.default_rng(5).random((1, 20, 28, 3), dtype=np.float32)
    weights = np.eye(NUM_STYLES, dtype=np.float32)[[1]]
    got = run(session(os.path.join(out, onnx_export.FILENAME)), images, weights)
    np.testing.assert_allclose(got, keras_out(model, images, weights), atol=TOLERANCE)
    with open(os.path.join(out, "assets.extra", "model_config.json")) as f:
        assert json.load(f)["onnx"]["file"] == onnx_export.FILENAME
