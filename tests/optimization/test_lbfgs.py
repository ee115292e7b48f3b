"""L-BFGS against numpy (and torch.optim.LBFGS-equivalent) references."""

import numpy as np
import pytest
import tensorflow as tf

from magenta_style.optimization import lbfgs


def reference_lbfgs(grad_fn, x, iterations, lr=1.0, history_size=100, bounds=None,
                    loss_fn=None):
    """numpy float64 port of torch.optim.LBFGS(line_search_fn=None) iterates.

    With `bounds`, the projected active-set form `LBFGS(bounds=...)`
    documents: out-pointing gradient entries at a bound are zeroed for the
    recursion, the direction is zeroed there, the point is clipped, and the
    pair is the step taken with the full gradients' change. With `loss_fn`,
    `LBFGS(backtracking=True)`: a step failing Armijo's test is halved, and
    later steps keep within the trust radius that sets.
    Returns the iterates and how many calls backtracked.
    """
    old_s, old_y = [], []
    h_diag = 1.0
    prev_g = s = prev_loss = prev_gs = None
    moves = halvings = backtracks = 0
    radius = np.inf
    xs = []
    for _ in range(iterations):
        g_full = grad_fn(x)
        if loss_fn is not None and moves > 0 and halvings < 30:
            if not loss_fn(x) <= prev_loss + 1e-4 * prev_gs:
                s = 0.5 * s
                x = x - s
                prev_gs *= 0.5
                halvings += 1
                backtracks += 1
                xs.append(x)
                continue
        if loss_fn is not None and moves:
            radius = 2.0 * (np.abs(s).max() if halvings else radius)
        halvings = 0
        g = g_full
        active = np.zeros(x.shape, bool)
        if bounds is not None:
            active = ((x <= bounds[0]) & (g > 0)) | ((x >= bounds[1]) & (g < 0))
            g = np.where(active, 0.0, g)
        if moves == 0:
            d = -g
        else:
            y = g_full - prev_g
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
        d = np.where(active, 0.0, d)
        prev_g = g_full
        if loss_fn is not None:
            prev_loss = loss_fn(x)
        t = min(1.0, 1.0 / np.abs(g).sum()) * lr if moves == 0 else lr
        if loss_fn is not None and t * np.abs(d).max() > radius:
            t *= radius / (t * np.abs(d).max())
        new_x = x + t * d
        if bounds is not None:
            new_x = np.clip(new_x, *bounds)
        s, x = new_x - x, new_x
        prev_gs = g_full @ s
        moves += 1
        xs.append(x)
    return (np.array(xs), backtracks) if loss_fn is not None else np.array(xs)


def run_tf(grad_fn_tf, x0, iterations, loss_fn_tf=None, **kwargs):
    var = tf.Variable(x0.astype(np.float32))
    opt = lbfgs.LBFGS(var, **kwargs)

    @tf.function(jit_compile=True)
    def step():
        opt.apply(grad_fn_tf(var), loss=None if loss_fn_tf is None else loss_fn_tf(var))

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


def box_quadratic(rng, n=8):
    """A quadratic whose unconstrained minimum lies partly outside [-0.5, 0.5]^n."""
    a, _ = quadratic(rng, n)
    x_star = np.linspace(-2.0, 2.0, n)
    return a, a @ x_star


def test_bounded_lbfgs_matches_reference_with_active_bounds(rng):
    a, b = box_quadratic(rng)
    x0 = rng.uniform(-0.4, 0.4, size=8)
    ref = reference_lbfgs(lambda x: a @ x - b, x0, 12, history_size=4, bounds=(-0.5, 0.5))
    assert ((ref == -0.5) | (ref == 0.5)).any(), "the test must reach the bounds"
    a32, b32 = tf.constant(a, tf.float32), tf.constant(b, tf.float32)
    got, _ = run_tf(lambda v: tf.linalg.matvec(a32, v) - b32, x0, 12, history_size=4,
                    bounds=(-0.5, 0.5))
    np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-4)


def test_bounded_lbfgs_stays_in_the_box_and_reaches_the_constrained_minimum(rng):
    a, b = box_quadratic(rng)
    # Reference minimum over the box: projected gradient descent, step 1/L.
    step = 1.0 / np.linalg.eigvalsh(a).max()
    ref = np.zeros(8)
    for _ in range(20000):
        ref = np.clip(ref - step * (a @ ref - b), -0.5, 0.5)
    a32, b32 = tf.constant(a, tf.float32), tf.constant(b, tf.float32)
    got, _ = run_tf(lambda v: tf.linalg.matvec(a32, v) - b32, np.zeros(8), 60,
                    bounds=(-0.5, 0.5))
    assert got.min() >= -0.5 and got.max() <= 0.5
    np.testing.assert_allclose(got[-1], ref, atol=1e-3)
    # The unconstrained minimum is elsewhere: the bounds did something.
    assert np.abs(np.linalg.solve(a, b) - ref).max() > 0.1


def test_backtracking_halves_failed_steps_as_the_reference_does(rng):
    a, b = quadratic(rng)
    ref, backtracks = reference_lbfgs(lambda x: a @ x - b, np.zeros(6), 12, lr=2.0,
                                      loss_fn=lambda x: 0.5 * x @ a @ x - b @ x)
    assert backtracks >= 2, "the fixed step must overshoot for this test to mean anything"
    a32, b32 = tf.constant(a, tf.float32), tf.constant(b, tf.float32)

    def grad(v):
        return tf.linalg.matvec(a32, v) - b32

    def loss(v):
        return 0.5 * tf.tensordot(v, tf.linalg.matvec(a32, v), 1) - tf.tensordot(b32, v, 1)

    got, _ = run_tf(grad, np.zeros(6), 12, loss_fn_tf=loss, learning_rate=2.0,
                    backtracking=True)
    np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-4)
    # Without the loss passed in, it is the plain fixed-step method.
    plain, _ = run_tf(grad, np.zeros(6), 12, learning_rate=2.0, backtracking=True)
    np.testing.assert_allclose(plain, reference_lbfgs(lambda x: a @ x - b, np.zeros(6), 12,
                                                      lr=2.0), rtol=1e-3, atol=1e-4)


def test_backtracking_keeps_a_diverging_fixed_step_bounded():
    # lr=3 overshoots the quadratic's minimum: the plain method's loss grows
    # without bound, with backtracking it falls to the minimum.
    a = np.diag([1.0, 4.0, 9.0])
    x0 = np.array([1.0, 1.0, 1.0])
    a32 = tf.constant(a, tf.float32)

    def loss(v):
        return 0.5 * tf.tensordot(v, tf.linalg.matvec(a32, v), 1)

    plain, _ = run_tf(lambda v: tf.linalg.matvec(a32, v), x0, 30, learning_rate=3.0)
    got, _ = run_tf(lambda v: tf.linalg.matvec(a32, v), x0, 30, loss_fn_tf=loss,
                    learning_rate=3.0, backtracking=True)
    assert not np.abs(plain[-1]).max() < 1.0
    np.testing.assert_allclose(got[-1], 0.0, atol=1e-3)


def test_a_nan_loss_backtracks():
    var = tf.Variable([2.0, -1.0])
    opt = lbfgs.LBFGS(var, backtracking=True)
    opt.apply(tf.constant([1.0, -1.0]), loss=tf.constant(5.0))
    moved = var.numpy().copy()
    opt.apply(tf.constant([np.nan, np.nan]), loss=tf.constant(np.nan))
    # Half way back along the first step, and the NaN gradient is not used.
    np.testing.assert_allclose(var.numpy(), (np.array([2.0, -1.0]) + moved) / 2, rtol=1e-6)
    assert int(opt.backtracks.numpy()) == 1 and not bool(opt.converged.numpy())


def test_lbfgs_rejects_empty_history():
    with pytest.raises(ValueError, match="history_size"):
        lbfgs.LBFGS(tf.Variable([0.0]), history_size=0)


def test_lbfgs_rejects_an_empty_box():
    with pytest.raises(ValueError, match=r"Received: \(1.0, 1.0\)"):
        lbfgs.LBFGS(tf.Variable([0.0]), bounds=(1.0, 1.0))


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


def test_reset_restarts_exactly_like_a_new_optimiser(rng):
    # optimize reuses one compiled step (and its LBFGS) for the next problem of
    # the same shape: after `reset` the iterates must be a new run's, bit
    # for bit, from a state left mid-backtrack with a wrapped history.
    a, b = quadratic(rng)
    a32, b32 = tf.constant(a, tf.float32), tf.constant(b, tf.float32)
    var = tf.Variable(np.zeros(6, np.float32))
    opt = lbfgs.LBFGS(var, learning_rate=2.0, history_size=3, backtracking=True,
                      bounds=(-0.3, 0.3))

    @tf.function(jit_compile=True)
    def step():
        loss = 0.5 * tf.tensordot(var, tf.linalg.matvec(a32, var), 1) - tf.tensordot(b32, var, 1)
        opt.apply(tf.linalg.matvec(a32, var) - b32, loss=loss)

    def run(x0, iterations):
        var.assign(x0)
        xs = []
        for _ in range(iterations):
            step()
            xs.append(var.numpy().copy())
        return np.array(xs)

    x0 = rng.uniform(-0.3, 0.3, 6).astype(np.float32)
    run(np.zeros(6, np.float32), 9)
    assert int(opt._count.numpy()) == 3 and int(opt.iterations.numpy()) > 0
    opt.reset()
    again = run(x0, 7)
    fresh, _ = run_tf(lambda v: tf.linalg.matvec(a32, v) - b32, x0, 7,
                      loss_fn_tf=lambda v: 0.5 * tf.tensordot(v, tf.linalg.matvec(a32, v), 1)
                      - tf.tensordot(b32, v, 1),
                      learning_rate=2.0, history_size=3, backtracking=True, bounds=(-0.3, 0.3))
    np.testing.assert_array_equal(again, fresh)
