"""The VGG loss network: structure, names, preprocessing, real weights."""

import os

import keras
import numpy as np
import pytest

from magenta_style.errors import UserError
from magenta_style.losses import vgg


def test_magenta_endpoints_map_to_last_conv_of_each_block():
    assert [vgg.resolve_layer(f"vgg_16/conv{b}") for b in range(1, 6)] == [
        "block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"]
    assert vgg.resolve_layer("vgg_19/conv4", "vgg19") == "block4_conv4"
    assert vgg.resolve_layer("vgg_16/conv4/conv4_2") == "block4_conv2"
    assert vgg.resolve_layer("vgg_16/pool2") == "block2_pool"
    assert vgg.resolve_layer("block3_conv1") == "block3_conv1"


def test_unknown_layer_lists_valid_names():
    with pytest.raises(UserError, match="Valid names: vgg_16/conv1, "):
        vgg.resolve_layer("vgg_16/conv6")
    with pytest.raises(UserError, match="block4_conv4"):
        vgg.resolve_layer("block4_conv4", "vgg16")


def test_structure_and_pooling_without_weights():
    model = vgg.build_loss_network("vgg19", pooling="max", weights=None,
                                   endpoints=["vgg_19/conv3", "block1_conv1"])
    names = [layer.name for layer in model.layers]
    assert names[-1] == "block3_conv4"  # built only as deep as needed
    assert isinstance(model.get_layer("block2_pool"), keras.layers.MaxPooling2D)
    out = model(np.zeros((1, 32, 32, 3), "float32"))
    assert out["vgg_19/conv3"].shape == (1, 8, 8, 256)
    assert out["block1_conv1"].shape == (1, 32, 32, 64)
    avg = vgg.build_loss_network(weights=None)
    assert isinstance(avg.get_layer("block1_pool"), keras.layers.AveragePooling2D)
    assert not avg.trainable_weights


def test_preprocessing_is_keras_caffe_mode(rng):
    x = rng.random((2, 4, 5, 3), dtype=np.float32)
    got = np.asarray(vgg.VGGPreprocess()(x))
    want = keras.applications.vgg16.preprocess_input(x * 255.0)
    np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.parametrize("bad", [dict(arch="vgg11"), dict(pooling="mean")])
def test_bad_arch_or_pooling(bad):
    with pytest.raises(UserError, match="Received"):
        vgg.build_loss_network(weights=None, **bad)


def test_missing_weights_file_is_one_clear_line(tmp_path):
    missing = str(tmp_path / "nope.h5")
    with pytest.raises(UserError, match="VGG weights file not found: .*nope.h5") as e:
        vgg.build_loss_network(weights=missing)
    assert "\n" not in str(e.value)


def test_offline_imagenet_without_cache_explains_how_to_provide_it(tmp_path, monkeypatch):
    monkeypatch.delenv(vgg.WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    with pytest.raises(UserError) as e:
        vgg.resolve_weights_file("imagenet")
    message = str(e.value)
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert vgg.WEIGHTS_ENV in message and "\n" not in message


@pytest.mark.needs_weights
def test_env_variable_names_the_weights(vgg16_file, monkeypatch):
    monkeypatch.setenv(vgg.WEIGHTS_ENV, vgg16_file)
    assert vgg.resolve_weights_file("imagenet") == vgg16_file
    monkeypatch.setenv(vgg.WEIGHTS_ENV, vgg16_file + ".missing")
    with pytest.raises(UserError, match=vgg.WEIGHTS_ENV):
        vgg.resolve_weights_file("imagenet")


@pytest.mark.needs_weights
@pytest.mark.parametrize("winograd", [False, True])
def test_matches_keras_vgg16_with_max_pooling(vgg16_file, rng, winograd):
    ours = vgg.build_loss_network(pooling="max", weights=vgg16_file,
                                  endpoints=["vgg_16/conv3", "vgg_16/conv5"],
                                  xla=winograd)
    base = keras.applications.VGG16(include_top=False, weights=vgg16_file)
    ref = keras.Model(base.input, [base.get_layer("block3_conv3").output,
                                   base.get_layer("block5_conv3").output])
    x = rng.random((2, 48, 64, 3), dtype=np.float32)
    want = ref(keras.applications.vgg16.preprocess_input(x * 255.0))
    got = ours(x)
    # Features reach ~1e3; Winograd rounds differently (~1e-6 of the scale).
    atol = 3e-3 if winograd else 1e-3
    np.testing.assert_allclose(np.asarray(got["vgg_16/conv3"]), np.asarray(want[0]),
                               rtol=1e-4, atol=atol)
    np.testing.assert_allclose(np.asarray(got["vgg_16/conv5"]), np.asarray(want[1]),
                               rtol=1e-4, atol=atol)


@pytest.mark.needs_weights
def test_golden_features_of_the_shared_weights(vgg16_file):
    # tests/testdata/generate_goldens.py wrote these with keras.applications.
    testdata = os.path.join(os.path.dirname(os.path.dirname(__file__)), "testdata")
    goldens = np.load(os.path.join(testdata, "goldens.npz"))
    model = vgg.build_loss_network(pooling=str(goldens["pooling"]), weights=vgg16_file)
    out = model(goldens["vgg_input"])
    for b in range(1, 6):
        got = np.asarray(out[f"vgg_16/conv{b}"])[0, :3, :3, :4]
        np.testing.assert_allclose(got, goldens[f"vgg_16/conv{b}"], rtol=1e-4, atol=1e-3)


def test_winograd_network_has_the_same_features_and_input_gradient(rng):
    # What optimisation and XLA training rely on: the Winograd layers are the
    # same function (to float rounding), values and gradient w.r.t. the image.
    import tensorflow as tf

    plain = vgg.build_loss_network(weights=None, endpoints=["vgg_16/conv3"])
    fast = vgg.build_loss_network(weights=None, endpoints=["vgg_16/conv3"], xla=True)
    fast.set_weights(plain.get_weights())
    x = tf.constant(rng.random((1, 20, 24, 3), dtype=np.float32))

    def value_and_grad(net):
        with tf.GradientTape() as tape:
            tape.watch(x)
            features = net(x)["vgg_16/conv3"]
            loss = tf.reduce_sum(features * features)
        return features.numpy(), tape.gradient(loss, x).numpy()

    (want, want_grad), (got, got_grad) = value_and_grad(plain), value_and_grad(fast)
    scale = np.abs(want).max()
    np.testing.assert_allclose(got, want, atol=1e-5 * scale)
    np.testing.assert_allclose(got_grad, want_grad, atol=1e-5 * np.abs(want_grad).max())
    assert [type(layer).__name__ for layer in fast.layers].count("VGGConv2D") == 7


@pytest.mark.parametrize("kwargs", [dict(kernel_size=5), dict(strides=2), dict(padding="valid")])
def test_vgg_conv_rejects_other_shapes(kwargs):
    with pytest.raises(ValueError, match="Received|padding"):
        vgg.VGGConv2D(8, **kwargs)


@pytest.mark.parametrize("kwargs", [dict(pool_size=3), dict(strides=1), dict(padding="same")])
def test_vgg_max_pooling_rejects_other_shapes(kwargs):
    with pytest.raises(ValueError, match="Received"):
        vgg.VGGMaxPooling2D(**kwargs)


def test_vgg_conv_config_round_trip():
    layer = vgg.VGGConv2D(8, winograd=True, name="block1_conv1")
    config = layer.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is vgg.VGGConv2D and restored.get_config() == config
    assert config["winograd"] is True
    pool = vgg.VGGMaxPooling2D(2, xla_gradient=True, name="block1_pool")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(pool))
    assert type(restored) is vgg.VGGMaxPooling2D and restored.get_config() == pool.get_config()
    assert restored.xla_gradient is True
    pre = vgg.VGGPreprocess(name="preprocess")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(pre))
    assert type(restored) is vgg.VGGPreprocess


@pytest.mark.parametrize("jit", [False, True])
def test_max_pooling_has_keras_values_and_gradient(rng, jit):
    # Small integers make many ties: the gradient must go to the first
    # maximum of each window, as TensorFlow's; odd sizes drop the last row.
    import tensorflow as tf

    x = tf.constant(rng.integers(0, 3, size=(2, 7, 9, 4)).astype(np.float32))
    upstream = tf.constant(rng.normal(size=(2, 3, 4, 4)).astype(np.float32))

    def value_and_grad(layer):
        def f(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x)
                loss = tf.reduce_sum(y * upstream)
            return y, tape.gradient(loss, x)
        return (tf.function(f, jit_compile=True) if jit else f)(x)

    want_y, want_dx = value_and_grad(keras.layers.MaxPooling2D(2))
    got_y, got_dx = value_and_grad(vgg.VGGMaxPooling2D(2, xla_gradient=True))
    np.testing.assert_array_equal(got_y.numpy(), want_y.numpy())
    np.testing.assert_array_equal(got_dx.numpy(), want_dx.numpy())
