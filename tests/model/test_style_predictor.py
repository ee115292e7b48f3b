"""Style prediction networks: MobileNetV2 (Magenta's mobile) and Inception-v3 (the paper's)."""

import keras
import numpy as np
import pytest

from magenta_style.errors import UserError
from magenta_style.model import style_predictor


@pytest.fixture(scope="module")
def mobilenet():
    return style_predictor.build_style_predictor("mobilenet_v2")


def test_mobilenet_v2_matches_tf_slims_layout(mobilenet):
    # 2,206,816 in the MobileNetV2 body + 128,100 in the 1x1 conv to 100
    # (the counts of the released network).
    assert mobilenet.count_params() == 2_334_916
    # TF SAME padding: 256 -> 128 -> 64 -> 32 -> 16 -> 8, and odd sizes round up.
    assert mobilenet.get_layer("Conv_1").output.shape[-1] == 1280
    trunk = keras.Model(mobilenet.inputs, mobilenet.get_layer("Conv_1_relu6").output)
    assert trunk(np.zeros((1, 256, 256, 3), "float32")).shape == (1, 8, 8, 1280)
    assert trunk(np.zeros((1, 100, 75, 3), "float32")).shape == (1, 4, 3, 1280)
    # Residual adds exactly where stride 1 and channels are kept.
    adds = sorted(int(layer.name.split("_")[2]) for layer in mobilenet.layers
                  if layer.name.endswith("_add"))
    assert adds == [2, 4, 5, 7, 8, 9, 11, 12, 14, 15]


def test_output_is_one_vector_per_image_of_any_size(mobilenet):
    x = np.random.default_rng(0).random((2, 96, 120, 3), dtype=np.float32)
    v = np.asarray(mobilenet(x))
    assert v.shape == (2, 100) and v.dtype == np.float32
    alone = np.asarray(mobilenet(x[1:]))
    np.testing.assert_allclose(v[1], alone[0], atol=1e-5)


def test_config_round_trips(mobilenet):
    clone = style_predictor.StylePredictor.from_config(mobilenet.get_config())
    assert clone.predictor_config == mobilenet.predictor_config
    assert clone.count_params() == mobilenet.count_params()


def test_bad_kind_and_weights_are_refused():
    with pytest.raises(ValueError, match="Received: kind='vgg'"):
        style_predictor.build_style_predictor("vgg")
    with pytest.raises(ValueError, match="no ImageNet weights"):
        style_predictor.build_style_predictor("mobilenet_v2", weights="imagenet")
    with pytest.raises(UserError, match="not found: /nope.h5"):
        style_predictor.build_style_predictor("inception_v3", weights="/nope.h5")


def test_imagenet_inception_weights_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(style_predictor.INCEPTION_WEIGHTS_ENV, str(tmp_path / "missing.h5"))
    with pytest.raises(UserError, match="does not name a file"):
        style_predictor.resolve_inception_weights("imagenet")
    monkeypatch.delenv(style_predictor.INCEPTION_WEIGHTS_ENV)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(UserError, match="not in Keras's cache"):
        style_predictor.resolve_inception_weights("imagenet")
    assert style_predictor.resolve_inception_weights(None) is None


@pytest.mark.slow
def test_inception_v3_up_to_mixed_6e_without_weights(tmp_path):
    model = style_predictor.build_style_predictor("inception_v3", style_dim=100)
    assert model.get_layer("bottleneck").output.shape[-1] == 768  # Mixed_6e
    # Magenta's arg scope: ReLU6 (values above 6 are clipped inside the trunk).
    acts = [layer for layer in model.layers if isinstance(layer, keras.layers.Activation)]
    assert acts and all(a.activation is keras.activations.relu6 for a in acts)
    x = np.random.default_rng(1).random((1, 256, 256, 3), dtype=np.float32)
    assert model(x).shape == (1, 100)
    # A file in the layout of Keras's download (legacy HDF5, read by layer
    # order) loads: write one from a fresh InceptionV3.
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    base = keras.applications.InceptionV3(include_top=False, weights=None)
    path = str(tmp_path / style_predictor.INCEPTION_WEIGHTS_FILE)
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, base)
    loaded = style_predictor.build_style_predictor("inception_v3", weights=path)
    first = [w for w in loaded.weights if len(w.shape) == 4][0]
    np.testing.assert_array_equal(np.asarray(first), np.asarray(base.weights[0]))
