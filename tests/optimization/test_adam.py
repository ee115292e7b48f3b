"""The optimisation's Keras Adam against a numpy reference."""

import numpy as np
import tensorflow as tf

from magenta_style.optimization import adam


def test_adam_matches_reference(rng):
    x0 = rng.normal(size=5)
    grads = rng.normal(size=(4, 5))
    x, m, v = x0.copy(), 0.0, 0.0
    ref = []
    for k, g in enumerate(grads, 1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        x = x - 0.1 * (m / (1 - 0.9 ** k)) / (np.sqrt(v / (1 - 0.999 ** k)) + 1e-8)
        ref.append(x)
    var = tf.Variable(x0.astype(np.float32))
    opt = adam.KerasAdam(var, learning_rate=0.1)
    got = []
    for g in grads:
        opt.apply(tf.constant(g, tf.float32))
        got.append(var.numpy().copy())
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
