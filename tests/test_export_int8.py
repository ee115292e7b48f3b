"""`bin/export --tflite --int8`: a calibrated int8 TFLite model, checked against float."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from magenta_style.errors import UserError
from magenta_style.export import export_saved_model
from magenta_style.storage import image_io

from .conftest import styled_model

SIZE = 32


def smooth(seed, h=40, w=44):
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    phase = np.random.default_rng(seed).uniform(0, 3, 3)
    return np.stack([np.sin(3 * x + phase[0]), np.cos(4 * y + phase[1]),
                     np.sin(2 * (x + y) + phase[2])], -1) * 0.4 + 0.5


@pytest.fixture(scope="module")
def model():
    return styled_model(2, 3, ("dots", "waves"))


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calibration")
    for i in range(4):
        image_io.save_image(smooth(i), folder / f"p{i}.png")
    return folder


def run_tflite(path, image, weights):
    interpreter = tf.lite.Interpreter(model_path=path)
    interpreter.allocate_tensors()
    for d in interpreter.get_input_details():
        interpreter.set_tensor(d["index"], image if "image" in d["name"] else weights)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


@pytest.mark.slow
def test_int8_tflite_is_int8_and_close_to_float(model, photos, tmp_path):
    path = str(tmp_path / "export")
    export_saved_model(model, path, tflite=True, tflite_image_size=SIZE, int8=True,
                       calibration_images=str(photos))
    with open(os.path.join(path, "assets.extra", "model_config.json")) as f:
        meta = json.load(f)
    assert meta["tflite_int8"] == {"file": "stylize_int8.tflite", "image_size": SIZE,
                                   "calibration_photos": 4}
    int8_path = os.path.join(path, "stylize_int8.tflite")
    interpreter = tf.lite.Interpreter(model_path=int8_path)
    types = {d["dtype"] for d in interpreter.get_tensor_details()}
    assert np.int8 in types  # really quantised, not a float copy
    image = np.asarray(smooth(9, SIZE, SIZE), np.float32)[None]
    styles = np.eye(2, dtype=np.float32)
    exact = [np.asarray(model([image, w[None]])) for w in styles]
    for i, weights in enumerate(styles):
        out = run_tflite(int8_path, image, weights)
        assert out.shape == exact[i].shape and out.dtype == np.float32
        # int8's error (levels of 255) is far below what tells the styles apart.
        error = np.abs(out - exact[i]).mean() * 255
        between = np.abs(exact[1 - i] - exact[i]).mean() * 255
        assert error < 16 and error < 0.5 * between, (error, between)


def test_int8_needs_tflite_and_photos(model, tmp_path):
    with pytest.raises(UserError, match="add --tflite"):
        export_saved_model(model, str(tmp_path / "a"), int8=True)
    with pytest.raises(UserError, match="--calibration_images"):
        export_saved_model(model, str(tmp_path / "b"), tflite=True, int8=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError):
        export_saved_model(model, str(tmp_path / "c"), tflite=True, int8=True,
                           calibration_images=str(tmp_path / "empty"))
    assert sorted(os.listdir(tmp_path)) == ["empty"]  # nothing written
