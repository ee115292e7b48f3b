"""Layers: numerics against numpy, shapes, config round trips."""

import keras
import numpy as np
import pytest

from magenta_style.model import conditioning
from magenta_style.model import layers


def np_cin(x, w, gamma, beta, eps=1e-5):
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    g = (w @ gamma)[:, None, None, :]
    b = (w @ beta)[:, None, None, :]
    return (x - mean) / np.sqrt(var + eps) * g + b


def make_table(num_styles, channels, rng):
    table = conditioning.StyleTable(num_styles, channels)
    table.build((None, num_styles))
    table.gamma.assign(rng.normal(size=(num_styles, channels)).astype("float32"))
    table.beta.assign(rng.normal(size=(num_styles, channels)).astype("float32"))
    return table


def conditional_norm(table, x, w):
    gamma, beta = table(w)
    return layers.InstanceNormalization()([x, gamma, beta])


def test_style_table_then_norm_match_numpy_for_labels_and_mixtures(rng):
    table = make_table(4, 5, rng)
    x = rng.normal(2.0, 3.0, size=(3, 6, 7, 5)).astype("float32")
    # A one-hot label, a normalised mixture, an unnormalised one.
    w = np.array([[0, 0, 1, 0], [0.5, 0, 0, 0.5], [1.5, 0.25, 0, 0]], "float32")
    got = np.asarray(conditional_norm(table, x, w))
    want = np_cin(x, w, np.asarray(table.gamma), np.asarray(table.beta))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_instance_norm_takes_gamma_beta_from_any_source(rng):
    # The seam: gamma/beta per example from anywhere (here: plain arrays).
    x = rng.normal(size=(2, 5, 6, 3)).astype("float32")
    gamma = rng.normal(size=(2, 3)).astype("float32")
    beta = rng.normal(size=(2, 3)).astype("float32")
    got = np.asarray(layers.InstanceNormalization(epsilon=1e-3)([x, gamma, beta]))
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    want = (x - mean) / np.sqrt(var + 1e-3) * gamma[:, None, None] + beta[:, None, None]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match=r"gamma must hold one value per channel \(3\)"):
        layers.InstanceNormalization()([x, gamma[:, :2], beta])


def test_instance_norm_takes_a_gamma_beta_map_with_whole_image_statistics(rng):
    # Styles in regions: a gamma/beta per pixel; statistics stay per example.
    x = rng.normal(1.0, 2.0, size=(2, 5, 6, 3)).astype("float32")
    gamma = rng.normal(size=(2, 5, 6, 3)).astype("float32")
    beta = rng.normal(size=(2, 5, 6, 3)).astype("float32")
    got = np.asarray(layers.InstanceNormalization()([x, gamma, beta]))
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(got, (x - mean) / np.sqrt(var + 1e-5) * gamma + beta,
                               rtol=1e-4, atol=1e-4)
    # A map that is constant per example gives the [B, C] result.
    flat = gamma[:, 0, 0], beta[:, 0, 0]
    norm = layers.InstanceNormalization()
    np.testing.assert_allclose(
        np.asarray(norm([x, *(np.broadcast_to(t[:, None, None], x.shape) for t in flat)])),
        np.asarray(norm([x, *flat])), atol=1e-6)


def test_a_fresh_style_table_gives_plain_instance_norm(rng):
    table = conditioning.StyleTable(2, 3)
    x = rng.normal(size=(2, 4, 4, 3)).astype("float32")
    out = np.asarray(conditional_norm(table, x, np.array([[1, 0], [0, 1]], "float32")))
    np.testing.assert_allclose(out.mean(axis=(1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(1, 2)), 1, atol=1e-3)


def test_style_table_weights_are_magenta_tables():
    table = conditioning.StyleTable(7, 3)
    table.build((None, 7))
    assert [tuple(w.shape) for w in table.weights] == [(7, 3), (7, 3)]
    assert [w.path.split("/")[-1] for w in table.weights] == ["gamma", "beta"]


def test_style_table_rejects_wrong_style_vector_length():
    table = conditioning.StyleTable(3, 2)
    with pytest.raises(ValueError, match="num_styles=3"):
        table(np.zeros((1, 5), "float32"))


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_style_table_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="Received: num_styles"):
        conditioning.StyleTable(bad, 3)
    with pytest.raises(ValueError, match="Received: channels"):
        conditioning.StyleTable(3, bad)


@pytest.mark.parametrize("k,stride,upsample,cout", [
    (9, 1, 1, 3), (3, 2, 1, 4), (3, 1, 2, 5), (5, 1, 2, 2), (3, 1, 1, 64)])
def test_padded_conv_is_upsample_mirror_pad_conv(rng, k, stride, upsample, cout):
    cin = 64 if cout == 64 else 3
    x = rng.normal(size=(2, 7, 10, cin)).astype("float32")
    layer = layers.PaddedConv2D(cout, k, strides=stride, upsample=upsample, use_bias=True,
                                bias_initializer="random_normal")
    got = np.asarray(layer(x))
    kernel, bias = (np.asarray(w, np.float64) for w in layer.weights)
    up = np.repeat(np.repeat(x, upsample, axis=1), upsample, axis=2)
    padded = np.pad(up, [(0, 0), (k // 2, k // 2), (k // 2, k // 2), (0, 0)], mode="reflect")
    out_h = (padded.shape[1] - k) // stride + 1
    out_w = (padded.shape[2] - k) // stride + 1
    want = np.zeros((2, out_h, out_w, cout)) + bias
    for i in range(k):
        for j in range(k):
            patch = padded[:, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
            want += patch @ kernel[i, j]
    assert got.shape == layer.compute_output_shape(x.shape) == want.shape
    np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=4), dict(kernel_size=3, upsample=3),
                                    dict(kernel_size=3, padding="same")])
def test_padded_conv_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="Received|padding"):
        layers.PaddedConv2D(4, **kwargs)


def test_winograd_in_training_changes_only_the_arithmetic(rng):
    x = rng.normal(size=(2, 9, 12, 128)).astype("float32")
    plain = layers.PaddedConv2D(128, 3)
    fast = layers.PaddedConv2D(128, 3, winograd_in_training=True)
    plain.build(x.shape)
    fast.build(x.shape)
    fast.set_weights(plain.get_weights())
    want = np.asarray(plain(x, training=True))
    got = np.asarray(fast(x, training=True))
    assert not np.array_equal(got, want)  # a different computation ...
    np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(want).max())  # ... same values


def test_pad_to_multiple_and_crop(rng):
    x = rng.normal(size=(1, 5, 10, 3)).astype("float32")
    padded = np.asarray(layers.PadToMultiple(4)(x))
    assert padded.shape == (1, 8, 12, 3)
    np.testing.assert_array_equal(
        padded, np.pad(x, [(0, 0), (0, 3), (0, 2), (0, 0)], mode="reflect"))
    cropped = np.asarray(layers.CropLike()([padded, x]))
    np.testing.assert_array_equal(cropped, x)


@pytest.mark.parametrize("layer", [
    conditioning.StyleTable(3, 4, name="t"),
    layers.InstanceNormalization(epsilon=1e-3, name="n"),
    layers.PaddedConv2D(5, 3, strides=2, upsample=2, use_bias=False, name="p"),
    layers.PaddedConv2D(8, 3, winograd_in_training=True, name="w"),
    layers.PadToMultiple(8, name="m"),
    layers.CropLike(name="c"),
])
def test_config_round_trip(layer):
    config = layer.get_config()
    clone = layer.__class__.from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer)
    assert restored.get_config() == config


@pytest.mark.parametrize("per_pixel", [False, True])
def test_instance_norm_of_one_image_matches_numpy(rng, per_pixel):
    # One image takes the fused kernel (model/fast_norm.py) under TensorFlow;
    # per-pixel gamma/beta and batches take the keras.ops form. Both must be
    # the formula.
    x = rng.normal(3.0, 2.0, size=(1, 6, 7, 5)).astype("float32")
    shape = (1, 6, 7, 5) if per_pixel else (1, 5)
    gamma = rng.normal(size=shape).astype("float32")
    beta = rng.normal(size=shape).astype("float32")
    layer = layers.InstanceNormalization(epsilon=1e-3)
    got = np.asarray(layer([x, gamma, beta]))
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    g, b = (gamma, beta) if per_pixel else (gamma[:, None, None], beta[:, None, None])
    want = (x - mean) / np.sqrt(var + 1e-3) * g + b
    np.testing.assert_allclose(got, want, atol=1e-5)
    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    # Inside a graph with a dynamic batch (the runner's), one image and two agree.
    fn = tf.function(lambda a, c, d: layer([a, c, d]), reduce_retracing=True)
    fn(np.repeat(x, 2, 0), np.repeat(gamma, 2, 0), np.repeat(beta, 2, 0))
    np.testing.assert_allclose(np.asarray(fn(x, gamma, beta)), want, atol=1e-5)
