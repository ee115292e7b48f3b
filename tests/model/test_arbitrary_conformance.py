"""Conformance with Magenta's released arbitrary-style networks (float graphs, onnxruntime).

`../shared/models/arbitrary_v1/reference.npz` holds the float ONNX graphs'
outputs on preprocessed inputs; its README suggests atol 1e-5 for style
vectors and 1e-4 for images. Both the freshly converted networks and the
shipped `arbitrary-v1` must meet them.
"""

import os

import numpy as np
import pytest

from magenta_style.storage import model_format
from magenta_style.storage import onnx_weights
from tests.conftest import SHARED

pytestmark = pytest.mark.needs_shared

ARBITRARY_DIR = os.path.join(SHARED, "models", "arbitrary_v1")


@pytest.fixture(scope="module")
def reference():
    if not os.path.isdir(ARBITRARY_DIR):
        pytest.skip(f"{ARBITRARY_DIR} is absent")
    return np.load(os.path.join(ARBITRARY_DIR, "reference.npz"))


@pytest.fixture(scope="module", params=["converted", "shipped"])
def networks(request, reference):
    if request.param == "converted":
        return onnx_weights.from_arbitrary_weights(
            dict(np.load(os.path.join(ARBITRARY_DIR, "weights.npz"))))
    model = model_format.load_model("arbitrary-v1")
    return model.predictor, model.transformer


def test_style_vectors_of_three_paintings_and_a_photo(networks, reference):
    predictor, _ = networks
    got = np.asarray(predictor(reference["style_image"]))
    np.testing.assert_allclose(got, reference["style_vector_float"], rtol=0, atol=1e-5)
    own = np.asarray(predictor(reference["photo_style_image"]))
    np.testing.assert_allclose(own, reference["photo_style_vector_float"], rtol=0, atol=1e-5)


def test_pastiches_of_three_photos_by_three_paintings(networks, reference):
    _, transformer = networks
    vectors = reference["style_vector_float"]
    for i in range(3):
        photo = np.repeat(reference["content_image"][i:i + 1], 3, axis=0)
        out = np.asarray(transformer([photo, vectors]))
        assert out.shape == (3, 384, 384, 3)
        np.testing.assert_allclose(out[:, ::4, ::4], reference["stylized_float_s4"][i],
                                   rtol=0, atol=1e-4, err_msg=f"photo {i}")
        np.testing.assert_allclose(out.mean(axis=(1, 2)),
                                   reference["stylized_float_channel_mean"][i],
                                   rtol=0, atol=1e-4, err_msg=f"photo {i} channel means")


def test_interpolated_style_vector(networks, reference):
    predictor, transformer = networks
    i, j = int(reference["interp_photo_index"]), int(reference["interp_style_index"])
    # Magenta's strength 0.5: the mean of the painting's and the photo's own vector.
    mixed = 0.5 * reference["style_vector_float"][j] + 0.5 * reference["photo_style_vector_float"]
    np.testing.assert_allclose(mixed, reference["interp_style_vector_float"], atol=1e-6)
    out = np.asarray(transformer([reference["content_image"][i:i + 1],
                                  reference["interp_style_vector_float"]]))
    np.testing.assert_allclose(out, reference["stylized_interp_float"], rtol=0, atol=1e-4)


def test_any_size_256x320(networks, reference):
    _, transformer = networks
    out = np.asarray(transformer([reference["content_image"][2:3, :256, :320],
                                  reference["style_vector_float"][2:3]]))
    np.testing.assert_allclose(out, reference["stylized_256x320_float"], rtol=0, atol=1e-4)
