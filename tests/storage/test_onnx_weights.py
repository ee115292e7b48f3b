"""Conformance with a real network trained by Google with Magenta's code."""

import os

import numpy as np
import pytest

from magenta_style.storage import model_format
from magenta_style.storage import onnx_weights
from tests.conftest import ANDROID_DIR

pytestmark = pytest.mark.needs_shared


@pytest.fixture(scope="module")
def reference():
    if not os.path.isdir(ANDROID_DIR):
        pytest.skip(f"{ANDROID_DIR} is absent")
    return np.load(os.path.join(ANDROID_DIR, "reference.npz"))


@pytest.mark.parametrize("source", ["converted", "shipped"])
def test_android26_reproduces_all_18_reference_outputs(reference, source):
    if source == "converted":
        weights = dict(np.load(os.path.join(ANDROID_DIR, "weights.npz")))
        model = onnx_weights.from_onnx_weights(weights)
    else:
        model = model_format.load_model("android-26")
    weights = reference["style_weights"]
    assert weights.shape == (6, 26)
    for i in range(3):
        image = reference[f"image_{i}"]
        want = reference[f"stylized_{i}"]
        got = np.asarray(model([np.repeat(image[None], 6, 0), weights]))
        err = np.abs(got - want).max(axis=(1, 2, 3))
        assert got.shape == want.shape
        assert err.max() < 2e-4, f"image {i}: max abs error per style vector {err}"
