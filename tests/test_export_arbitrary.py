"""Export of an arbitrary-style model: the three signatures and Magenta's TFLite pair."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from magenta_style import export

from .conftest import tiny_arbitrary_model

DIM = 100


@pytest.fixture(scope="module")
def model():
    return tiny_arbitrary_model(0)


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("export") / "saved")
    export.export_saved_model(model, path)
    return path


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(exported)


def keras_out(model, images, vectors):
    return np.asarray(model.transformer([images, np.asarray(vectors, np.float32)]))


def test_image_and_style_vector_signature_for_any_batch_and_size(model, loaded):
    images = np.random.default_rng(1).random((2, 37, 50, 3), dtype=np.float32)
    v = np.random.default_rng(2).normal(size=DIM).astype(np.float32)
    serve = loaded.signatures["serving_default"]
    out = serve(image=tf.constant(images), style_vector=tf.constant(v))["stylized_image"]
    np.testing.assert_allclose(out.numpy(), keras_out(model, images, np.stack([v, v])),
                               atol=1e-5)
    both = np.random.default_rng(3).normal(size=(2, DIM)).astype(np.float32)
    out = serve(image=tf.constant(images), style_vector=tf.constant(both))["stylized_image"]
    np.testing.assert_allclose(out.numpy(), keras_out(model, images, both), atol=1e-5)


def test_image_and_style_image_signature(model, loaded):
    images = np.random.default_rng(4).random((2, 24, 28, 3), dtype=np.float32)
    painting = np.random.default_rng(5).random((1, 64, 64, 3), dtype=np.float32)
    v = np.asarray(model.predictor(painting))
    out = loaded.signatures["stylize_style_image"](image=tf.constant(images),
                                                     style_image=tf.constant(painting))
    np.testing.assert_allclose(out["style_vector"].numpy(), v, atol=1e-5)
    np.testing.assert_allclose(out["stylized_image"].numpy(),
                               keras_out(model, images, np.repeat(v, 2, 0)), atol=1e-5)
    predicted = loaded.signatures["predict_style_vector"](style_image=tf.constant(painting))
    np.testing.assert_allclose(predicted["style_vector"].numpy(), v, atol=1e-5)


def test_metadata_names_the_signatures(exported):
    with open(os.path.join(exported, "assets.extra", "model_config.json")) as f:
        meta = json.load(f)
    assert set(meta["signatures"]) == {"serving_default", "stylize_style_image",
                                       "predict_style_vector"}
    assert meta["style_dim"] == DIM and "tflite" not in meta


def run_tflite(path, *arrays):
    interpreter = tf.lite.Interpreter(model_path=path)
    interpreter.allocate_tensors()
    details = sorted(interpreter.get_input_details(), key=lambda d: len(d["shape"]) == 4
                     and d["shape"][1] == 1)  # the [1, 1, 1, D] vector last
    for d, array in zip(details, arrays):
        assert list(d["shape"]) == list(array.shape), (d["name"], d["shape"])
        interpreter.set_tensor(d["index"], array)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


@pytest.mark.slow
def test_tflite_pair_has_magentas_shapes_and_the_keras_numbers(model, tmp_path):
    export.export_saved_model(model, str(tmp_path / "e"), tflite=True, tflite_image_size=32)
    with open(tmp_path / "e" / "assets.extra" / "model_config.json") as f:
        assert json.load(f)["tflite"]["files"] == list(export.ARBITRARY_TFLITE_FILES)
    predict, transform = (str(tmp_path / "e" / n) for n in export.ARBITRARY_TFLITE_FILES)
    painting = np.random.default_rng(6).random((1, 256, 256, 3), dtype=np.float32)
    v = run_tflite(predict, painting)
    assert v.shape == (1, 1, 1, DIM)
    np.testing.assert_allclose(v.reshape(1, DIM), np.asarray(model.predictor(painting)),
                               atol=1e-4)
    image = np.random.default_rng(7).random((1, 32, 32, 3), dtype=np.float32)
    out = run_tflite(transform, image, v)
    np.testing.assert_allclose(out, keras_out(model, image, v.reshape(1, DIM)), atol=1e-4)


def test_onnx_of_an_arbitrary_model_is_refused_in_one_line_before_writing(model, tmp_path):
    from magenta_style.errors import UserError

    with pytest.raises(UserError, match="--onnx exports multi-style models only"):
        export.export_saved_model(model, str(tmp_path / "x"), onnx=True)
    assert not os.path.exists(tmp_path / "x")
