"""L-BFGS, and the optimisation's Keras Adam, against numpy references."""

import numpy as np
import pytest
import tensorflow as tf

from magenta_style.optimization import gatys
from magenta_style.optimization import lbfgs


def reference_lbfgs(grad_fn, x, iterations, lr=1.0, history_size=100):
    """numpy float64 port of torch.optim.LBFGS(line_search_fn=None) iterates."""
    old_s, old_y = [], []
    h_diag = 1.0
    prev_g = d = t = None
    xs = []
    for k in range(iterations):
        g = grad_fn(x)
        if k == 0:
            d = -g
        else:
            y, s = g - prev_g, d * t
            ys = y @ s
            if ys > 1e-10:
                if len(old_s) == history_size:
                    old_s.pop(0)
                    old_y.pop(0)
                old_s.append(s)
                old_y.append(y)
                h_diag = ys / (y @ y)
            q = -g
            al = []
            for s_i, y_i in zip(reversed(old_s), reversed(old_y)):
                a = (s_i @ q) / (y_i @ s_i)
                al.append(a)
                q = q - a * y_i
            r = q * h_diag
            for s_i, y_i, a in zip(old_s, old_y, reversed(al)):
                be = (y_i @ r) / (y_i @ s_i)
                r = r + s_i * (a - be)
            d = r
        prev_g = g
        t = min(1.0, 1.0 / np.abs(g).sum()) * lr if k == 0 else lr
        x = x + t * d
        xs.append(x)
    return np.array(xs)


def run_tf(grad_fn_tf, x0, iterations, **kwargs):
    var = tf.Variable(x0.astype(np.float32))
    opt = lbfgs.LBFGS(var, **kwargs)

    @tf.function(jit_compile=True)
    def step():
        opt.apply(grad_fn_tf(var))

    xs = []
    for _ in range(iterations):
        step()
        xs.append(var.numpy().copy())
    return np.array(xs), opt


def quadratic(rng, n=6):
    q = rng.normal(size=(n, n))
    a = q @ q.T + n * np.eye(n)
    b = rng.normal(size=n)
    return a, b


def test_lbfgs_matches_reference_on_quadratic_with_wrapping_history(rng):
    a, b = quadratic(rng)
    x0 = rng.normal(size=6)
    ref = reference_lbfgs(lambda x: a @ x - b, x0, 8, history_size=3)
    a32, b32 = tf.constant(a, tf.float32), tf.constant(b, tf.float32)
    got, _ = run_tf(lambda v: tf.linalg.matvec(a32, v) - b32, x0, 8, history_size=3)
    np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-4)


def test_lbfgs_solves_quadratic_and_flags_convergence(rng):
    a, b = quadratic(rng)
    a32, b32 = tf.constant(a, tf.float32), tf.constant(b, tf.float32)
    got, opt = run_tf(lambda v: tf.linalg.matvec(a32, v) - b32, np.zeros(6), 40,
                      tolerance_grad=1e-5)
    np.testing.assert_allclose(got[-1], np.linalg.solve(a, b), atol=1e-4)
    assert bool(opt.converged.numpy())
    # Once converged it stops moving.
    np.testing.assert_array_equal(got[-1], got[-2])


def rosenbrock_grad(x):
    return np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2),
                     200 * (x[1] - x[0] ** 2)])


def test_lbfgs_matches_reference_on_rosenbrock():
    x0 = np.array([-1.2, 1.0])
    ref = reference_lbfgs(rosenbrock_grad, x0, 6, lr=0.5)

    def grad_tf(v):
        with tf.GradientTape() as tape:
            loss = (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2
        return tape.gradient(loss, v)

    got, _ = run_tf(grad_tf, x0, 6, learning_rate=0.5)
    np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-4)


def test_lbfgs_rejects_empty_history():
    with pytest.raises(ValueError, match="history_size"):
        lbfgs.LBFGS(tf.Variable([0.0]), history_size=0)


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
    opt = gatys.KerasAdam(var, learning_rate=0.1)
    got = []
    for g in grads:
        opt.apply(tf.constant(g, tf.float32))
        got.append(var.numpy().copy())
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)


def test_lbfgs_history_written_outside_the_compiled_step_gives_the_same_iterates(rng):
    # What optimization.py does: apply inside XLA without writing the
    # history, commit outside. 20 iterations wrap a 4-pair history 4 times.
    n = 20
    a, b = quadratic(rng, n)
    x0 = rng.normal(size=n)
    ref = reference_lbfgs(lambda x: a @ x - b, x0, 20, history_size=4)
    a32, b32 = tf.constant(a, tf.float32), tf.constant(b, tf.float32)
    var = tf.Variable(x0.astype(np.float32))
    opt = lbfgs.LBFGS(var, history_size=4, tolerance_grad=0.0, tolerance_change=-1.0)
    step = tf.function(lambda: opt.apply(tf.linalg.matvec(a32, var) - b32,
                                         write_history=False), jit_compile=True)
    commit = tf.function(opt.commit)
    got = []
    for _ in range(20):
        step()
        commit()
        commit()  # a second commit must not store the pair again
        got.append(var.numpy().copy())
    np.testing.assert_allclose(np.array(got), ref, rtol=1e-3, atol=1e-4)
    assert int(opt._count.numpy()) == 4
