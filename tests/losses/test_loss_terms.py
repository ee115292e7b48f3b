"""Losses against numpy references of Magenta's formulas."""

import numpy as np
import pytest

from magenta_style import config
from magenta_style.losses import loss_terms


def np_gram(f):
    b, h, w, c = f.shape
    flat = f.reshape(b, h * w, c)
    return np.einsum("bnc,bnd->bcd", flat, flat) / (h * w)


def test_gram_matrix_is_divided_by_positions_not_channels(rng):
    f = rng.normal(size=(2, 3, 5, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(loss_terms.gram_matrix(f)), np_gram(f), rtol=1e-5)


@pytest.mark.parametrize("jit", [False, True])
def test_gram_matrix_gradient(rng, jit):
    # Written out by hand (dF = F (dG + dG^T) / HW); checked with a
    # non-symmetric upstream gradient, eagerly and inside an XLA function.
    import tensorflow as tf

    f = rng.normal(size=(2, 3, 5, 4)).astype("float32")
    g = rng.normal(size=(2, 4, 4)).astype("float32")

    def grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(loss_terms.gram_matrix(x) * g)
        return tape.gradient(loss, x)

    got = (tf.function(grad, jit_compile=True) if jit else grad)(tf.constant(f))
    flat = f.reshape(2, 15, 4)
    want = (flat @ (g + g.transpose(0, 2, 1))).reshape(f.shape) / 15
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)


def test_content_loss(rng):
    a = {"l1": rng.normal(size=(2, 4, 4, 3)).astype("float32"),
         "l2": rng.normal(size=(2, 2, 2, 5)).astype("float32")}
    b = {k: v + rng.normal(size=v.shape).astype("float32") for k, v in a.items()}
    weights = {"l1": 1.0, "l2": 0.5}
    total, parts = loss_terms.content_loss(a, b, weights)
    want = {k: np.mean((b[k] - a[k]) ** 2) for k in a}
    np.testing.assert_allclose(float(parts["content_loss/l1"]), want["l1"], rtol=1e-5)
    np.testing.assert_allclose(float(parts["weighted_content_loss/l2"]), 0.5 * want["l2"],
                               rtol=1e-5)
    np.testing.assert_allclose(float(total), want["l1"] + 0.5 * want["l2"], rtol=1e-5)


def test_style_loss_with_per_example_coefficients(rng):
    feats = {"s": rng.normal(size=(2, 4, 4, 3)).astype("float32")}
    target = {"s": np_gram(rng.normal(size=(2, 4, 4, 3)).astype("float32"))}
    coeffs = np.array([1.0, 3.0], "float32")
    total, parts = loss_terms.style_loss(target, feats, {"s": 1e-2}, sample_weights=coeffs)
    per_example = np.mean((np_gram(feats["s"]) - target["s"]) ** 2, axis=(1, 2))
    want = np.mean(per_example * coeffs)
    np.testing.assert_allclose(float(parts["style_loss/s"]), want, rtol=1e-5)
    np.testing.assert_allclose(float(total), 1e-2 * want, rtol=1e-5)


def test_style_targets_broadcast_from_one_style(rng):
    feats = {"s": rng.normal(size=(3, 4, 4, 2)).astype("float32")}
    one = np_gram(rng.normal(size=(1, 4, 4, 2)).astype("float32"))
    a, _ = loss_terms.style_loss({"s": one}, feats, {"s": 1.0})
    b, _ = loss_terms.style_loss({"s": np.repeat(one, 3, 0)}, feats, {"s": 1.0})
    np.testing.assert_allclose(float(a), float(b), rtol=1e-6)


def test_total_variation_matches_magenta_formula(rng):
    x = rng.random((2, 5, 6, 3), dtype=np.float32)
    total, parts = loss_terms.total_variation_loss(x, weight=10.0)
    dy = np.sum((x[:, 1:] - x[:, :-1]) ** 2) / 2 / (4 * 6 * 3)
    dx = np.sum((x[:, :, 1:] - x[:, :, :-1]) ** 2) / 2 / (5 * 5 * 3)
    tv = (dy + dx) / 2
    np.testing.assert_allclose(float(parts["total_variation_loss"]), tv, rtol=1e-5)
    np.testing.assert_allclose(float(total), 10 * tv, rtol=1e-5)


def test_total_loss_parts_and_defaults(rng):
    cfg = config.LossConfig()
    assert cfg.content_weights == {"vgg_16/conv3": 1.0}
    assert cfg.style_weights == {f"vgg_16/conv{i}": 1e-4 for i in range(1, 5)}
    names = [f"vgg_16/conv{i}" for i in range(1, 5)]
    feats = {n: rng.normal(size=(2, 4, 4, 3)).astype("float32") for n in names}
    content = {n: v * 0.5 for n, v in feats.items()}
    grams = {n: np_gram(v) * 2 for n, v in feats.items()}
    images = rng.random((2, 8, 8, 3), dtype=np.float32)
    total, parts = loss_terms.total_loss(images, feats, content, grams, cfg)
    assert "content_loss/vgg_16/conv3" in parts
    assert "weighted_style_loss/vgg_16/conv1" in parts
    assert "total_variation_loss" not in parts  # Magenta has no TV term
    np.testing.assert_allclose(
        float(total), float(parts["total_content_loss"]) + float(parts["total_style_loss"]),
        rtol=1e-6)
    with_tv = config.LossConfig(total_variation_weight=1.0)
    total_tv, parts_tv = loss_terms.total_loss(images, feats, content, grams, with_tv)
    assert float(total_tv) > float(total) and "total_variation_loss" in parts_tv


def test_unknown_layer_in_weights_is_reported(rng):
    feats = {"a": rng.normal(size=(1, 2, 2, 1)).astype("float32")}
    with pytest.raises(ValueError, match="Available: \\['a'\\]"):
        loss_terms.content_loss(feats, feats, {"b": 1.0})
