"""Sources of gamma/beta: the style vector projection (the style table: test_transformer)."""

import numpy as np
import pytest

from magenta_style.model import conditioning


def test_projection_is_two_affine_maps_of_the_style_vector():
    layer = conditioning.StyleVectorProjection(6, 4)
    v = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    layer.build(v.shape)
    rng = np.random.default_rng(1)
    for var in layer.weights:
        var.assign(rng.normal(size=var.shape).astype("float32"))
    gamma, beta = (np.asarray(t) for t in layer(v))
    g_k, g_b, b_k, b_b = (np.asarray(w) for w in (layer.gamma_kernel, layer.gamma_bias,
                                                   layer.beta_kernel, layer.beta_bias))
    np.testing.assert_allclose(gamma, v @ g_k + g_b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(beta, v @ b_k + b_b, rtol=1e-5, atol=1e-5)
    assert gamma.shape == beta.shape == (3, 4)


def test_projection_config_round_trips_and_checks_the_vector_length():
    layer = conditioning.StyleVectorProjection(100, 32, name="p")
    clone = conditioning.StyleVectorProjection.from_config(layer.get_config())
    assert (clone.style_dim, clone.channels, clone.name) == (100, 32, "p")
    with pytest.raises(ValueError, match="style_dim=100"):
        clone.build((1, 99))
    with pytest.raises(ValueError, match="channels=0"):
        conditioning.StyleVectorProjection(100, 0)
