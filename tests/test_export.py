"""SavedModel / TFLite export: reloaded signatures give the Keras model's pixels."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from magenta_style.errors import UserError
from magenta_style.export import export_saved_model

from .conftest import styled_model

NUM_STYLES = 3


@pytest.fixture(scope="module")
def model():
    return styled_model(NUM_STYLES, 1, ("starry", "wave", "scream"))


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("export") / "saved")
    export_saved_model(model, path, tflite=True, tflite_image_size=32)
    return path


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(exported)


def keras_out(model, images, weights):
    return np.asarray(model([images, np.asarray(weights, np.float32)]))


@pytest.mark.parametrize("shape", [(1, 32, 32), (2, 37, 50), (3, 21, 8)])
def test_serving_default_matches_keras_for_any_batch_and_size(model, loaded, shape):
    images = np.random.default_rng(0).random(shape + (3,), dtype=np.float32)
    weights = np.array([0.2, 0.0, 0.9], np.float32)
    serve = loaded.signatures["serving_default"]
    out = serve(image=tf.constant(images), style_weights=tf.constant(weights))
    expected = keras_out(model, images, np.tile(weights, (shape[0], 1)))
    np.testing.assert_allclose(out["stylized_image"].numpy(), expected, atol=1e-5)
    # [B, N]: one mixture per image.
    per_image = np.eye(NUM_STYLES, dtype=np.float32)[np.arange(shape[0]) % NUM_STYLES]
    out = serve(image=tf.constant(images), style_weights=tf.constant(per_image))
    np.testing.assert_allclose(out["stylized_image"].numpy(),
                               keras_out(model, images, per_image), atol=1e-5)


def test_uint8_and_index_signatures(model, loaded):
    images = np.random.default_rng(1).integers(0, 256, (2, 24, 30, 3), dtype=np.uint8)
    floats = images.astype(np.float32) / 255.0
    one_hot = np.eye(NUM_STYLES, dtype=np.float32)[[2, 2]]
    expected = keras_out(model, floats, one_hot)
    out = loaded.signatures["serving_uint8"](
        image=tf.constant(images), style_weights=tf.constant(one_hot[0]))["stylized_image"]
    assert out.dtype == tf.uint8
    assert np.abs(out.numpy().astype(int) - np.round(expected * 255)).max() <= 1
    out = loaded.signatures["stylize_index"](
        image=tf.constant(floats), style_index=tf.constant(2))["stylized_image"]
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError):
        loaded.signatures["stylize_index"](image=tf.constant(floats), style_index=tf.constant(3))


def test_regions_signature_gives_each_region_its_style(model, loaded):
    from magenta_style.stylization import regions

    images = np.random.default_rng(2).random((2, 24, 30, 3), dtype=np.float32)
    serve = loaded.signatures["stylize_regions"]
    # One region covering everything: the serving_default output.
    mix = np.array([[0.2, 0.0, 0.9]], np.float32)
    out = serve(image=tf.constant(images), region_weights=tf.ones((2, 24, 30, 1)),
                region_styles=tf.constant(mix))
    np.testing.assert_allclose(out["stylized_image"].numpy(),
                               keras_out(model, images, np.tile(mix, (2, 1))), atol=1e-5)
    # Left half style 0, right half style 2: the library's forward pass.
    halves = np.zeros((2, 24, 30, 2), np.float32)
    halves[:, :, :15, 0] = 1
    halves[:, :, 15:, 1] = 1
    rows = np.eye(3, dtype=np.float32)[[0, 2]]
    out = serve(image=tf.constant(images), region_weights=tf.constant(halves),
                region_styles=tf.constant(rows))
    expected = regions.forward(model, images, halves, rows)
    np.testing.assert_allclose(out["stylized_image"].numpy(), np.asarray(expected), atol=1e-5)


def test_export_writes_metadata_and_style_names(exported, loaded):
    with open(os.path.join(exported, "assets.extra", "model_config.json")) as f:
        meta = json.load(f)
    assert meta["num_styles"] == NUM_STYLES
    assert meta["style_names"] == ["starry", "wave", "scream"]
    assert set(meta["signatures"]) == {"serving_default", "serving_uint8", "stylize_index",
                                       "stylize_regions"}
    assert [s.decode() for s in loaded.style_names.numpy()] == meta["style_names"]
    # Atomic write: no temporary folders left beside the export.
    assert not [n for n in os.listdir(os.path.dirname(exported)) if n.startswith(".tmp-")]


def test_tflite_model_runs_in_the_interpreter(model, exported):
    interpreter = tf.lite.Interpreter(model_path=os.path.join(exported, "stylize.tflite"))
    interpreter.allocate_tensors()
    inputs = {d["name"]: d for d in interpreter.get_input_details()}
    image_in = next(d for n, d in inputs.items() if "image" in n)
    weights_in = next(d for n, d in inputs.items() if "style_weights" in n)
    assert list(image_in["shape"]) == [1, 32, 32, 3]  # fixed square, as Magenta's
    assert list(weights_in["shape"]) == [NUM_STYLES]
    image = np.random.default_rng(2).random((1, 32, 32, 3), dtype=np.float32)
    weights = np.array([0.0, 0.5, 0.5], np.float32)
    interpreter.set_tensor(image_in["index"], image)
    interpreter.set_tensor(weights_in["index"], weights)
    interpreter.invoke()
    out = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(out, keras_out(model, image, weights[None]), atol=1e-4)


def test_export_needs_a_folder(model):
    with pytest.raises(UserError, match="export_dir"):
        export_saved_model(model, "")


@pytest.mark.parametrize("make, words", [
    (lambda tmp: (tmp / "a_file").write_text("x") and tmp / "a_file", "is a file"),
    (lambda tmp: (tmp / "a_file").write_text("x") and tmp / "a_file" / "sub", "which is a file"),
])
def test_an_export_dir_that_cannot_be_a_folder_is_one_line_before_exporting(
        model, tmp_path, monkeypatch, make, words):
    import magenta_style.export as export

    monkeypatch.setattr(export, "_serving_module", lambda m: pytest.fail("exported anyway"))
    with pytest.raises(UserError, match=words):
        export_saved_model(model, str(make(tmp_path)))


@pytest.mark.parametrize("size", [0, -1, 15, 31.5, True])
def test_a_bad_tflite_image_size_is_one_line(model, tmp_path, size):
    with pytest.raises(UserError, match="tflite_image_size must be an integer"):
        export_saved_model(model, str(tmp_path / "x"), tflite=True, tflite_image_size=size)
    assert not (tmp_path / "x").exists()
