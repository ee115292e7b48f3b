"""Limited-memory BFGS and Adam steps on one `tf.Variable`, graph-compatible.

Both optimisers expose `apply(grad)`: given the gradient of the loss at the
variable's current value, move the variable in place. `apply` is plain
TensorFlow, so a caller can put the loss, its gradient and the update in one
`tf.function(jit_compile=True)` (one compiled call per iteration).

`LBFGS` follows `torch.optim.LBFGS(line_search_fn=None)` (itself a port of
Torch7's `optim.lbfgs`, which jcjohnson's neural-style uses): the two-loop
recursion over the last `history_size` curvature pairs, the initial inverse
Hessian `s.y / y.y`, pairs with `s.y <= 1e-10` skipped, and a fixed step
`learning_rate` except on the first iteration (`min(1, 1/|g|_1) * lr`, a
cautious first step before any curvature is known). No line search: it costs
extra loss evaluations, and style transfer works well without one.
"""

import tensorflow as tf


class LBFGS:
    """L-BFGS on a `tf.Variable` of any shape (float32).

    Memory: `2 * history_size` copies of the variable (a 512x512 RGB image
    with the default 100 pairs: 630 MB).

    Attributes:
        converged: bool variable, set once the gradient is below
            `tolerance_grad` (max-norm) or the direction is no longer a
            descent direction (`g.d > -tolerance_change`); `apply` then leaves
            the variable unchanged.
        iterations: int variable, number of `apply` calls that moved it.
    """

    def __init__(self, variable, learning_rate=1.0, history_size=100,
                 tolerance_grad=1e-7, tolerance_change=1e-9):
        if history_size < 1:
            raise ValueError(f"history_size must be >= 1. Received: {history_size}")
        self.variable = variable
        self.learning_rate = float(learning_rate)
        self.history_size = int(history_size)
        self.tolerance_grad = float(tolerance_grad)
        self.tolerance_change = float(tolerance_change)
        n = int(tf.size(variable))
        m = self.history_size
        zeros = tf.zeros_initializer()

        def var(shape, dtype=tf.float32, name=None):
            return tf.Variable(zeros(shape, dtype), trainable=False, name=name)

        self._s = var([m, n], name="lbfgs_s")
        self._y = var([m, n], name="lbfgs_y")
        self._rho = var([m], name="lbfgs_rho")
        self._start = var([], tf.int32, name="lbfgs_start")  # oldest pair
        self._count = var([], tf.int32, name="lbfgs_count")  # pairs stored
        self._prev_g = var([n], name="lbfgs_prev_g")
        self._prev_step = var([n], name="lbfgs_prev_step")  # t * d
        self._h_diag = tf.Variable(1.0, trainable=False, name="lbfgs_h_diag")
        self.iterations = var([], tf.int32, name="lbfgs_iterations")
        self.converged = tf.Variable(False, trainable=False, name="lbfgs_converged")

    def _update_history(self, g):
        """Stores (s, y) from the last step if it has positive curvature."""
        m = self.history_size
        y = g - self._prev_g
        s = self._prev_step
        ys = tf.tensordot(y, s, 1)
        ok = tf.logical_and(self.iterations > 0, ys > 1e-10)
        full = self._count >= m
        pos = tf.where(full, self._start, (self._start + self._count) % m)
        old_s = tf.gather(self._s, pos)
        old_y = tf.gather(self._y, pos)
        old_rho = tf.gather(self._rho, pos)
        safe_ys = tf.where(ok, ys, 1.0)
        self._s.scatter_nd_update([[pos]], tf.where(ok, s, old_s)[None])
        self._y.scatter_nd_update([[pos]], tf.where(ok, y, old_y)[None])
        self._rho.scatter_nd_update([[pos]], tf.where(ok, 1.0 / safe_ys, old_rho)[None])
        shift = tf.logical_and(ok, full)
        self._start.assign(tf.where(shift, (self._start + 1) % m, self._start))
        self._count.assign(tf.where(tf.logical_and(ok, tf.logical_not(full)),
                                    self._count + 1, self._count))
        yy = tf.tensordot(y, y, 1)
        self._h_diag.assign(tf.where(ok, safe_ys / tf.where(ok, yy, 1.0), self._h_diag))

    def _direction(self, g):
        """Two-loop recursion: -H g with the stored pairs."""
        m = self.history_size
        start, count = self._start, self._count

        def newest_first(i, q, al):
            j = (start + count - 1 - i) % m
            a = tf.gather(self._rho, j) * tf.tensordot(tf.gather(self._s, j), q, 1)
            al = tf.tensor_scatter_nd_update(al, [[j]], a[None])
            return i + 1, q - a * tf.gather(self._y, j), al

        _, q, al = tf.while_loop(
            lambda i, q, al: i < count, newest_first,
            (tf.constant(0), -g, tf.zeros([m])))
        r = q * self._h_diag

        def oldest_first(i, r):
            j = (start + i) % m
            be = tf.gather(self._rho, j) * tf.tensordot(tf.gather(self._y, j), r, 1)
            return i + 1, r + tf.gather(self._s, j) * (tf.gather(al, j) - be)

        _, r = tf.while_loop(lambda i, r: i < count, oldest_first, (tf.constant(0), r))
        return r

    def apply(self, grad):
        """One L-BFGS iteration from the gradient at the current value.

        Args:
            grad: float32 tensor shaped like the variable.
        """
        g = tf.reshape(tf.cast(grad, tf.float32), [-1])
        self._update_history(g)
        d = self._direction(g)
        first = tf.equal(self.iterations, 0)
        abs_sum = tf.reduce_sum(tf.abs(g))
        t = tf.where(first, tf.minimum(1.0, 1.0 / tf.maximum(abs_sum, 1e-30)), 1.0)
        t = t * self.learning_rate
        gtd = tf.tensordot(g, d, 1)
        done = tf.logical_or(
            self.converged,
            tf.logical_or(tf.reduce_max(tf.abs(g)) <= self.tolerance_grad,
                          gtd > -self.tolerance_change))
        t = tf.where(done, 0.0, t)
        step = t * d
        self.variable.assign_add(tf.reshape(step, tf.shape(self.variable)))
        self._prev_g.assign(g)
        self._prev_step.assign(step)
        self.converged.assign(done)
        self.iterations.assign_add(tf.where(done, 0, 1))


class Adam:
    """Adam (Kingma & Ba) on a `tf.Variable`, with bias correction.

    Defaults beta1=0.9, beta2=0.999, epsilon=1e-8 (the paper's, and
    neural-style's). `converged` is never set; it exists so callers can treat
    both optimisers alike.
    """

    def __init__(self, variable, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.variable = variable
        self.learning_rate = float(learning_rate)
        self.beta1, self.beta2, self.epsilon = float(beta1), float(beta2), float(epsilon)
        self._m = tf.Variable(tf.zeros_like(variable), trainable=False, name="adam_m")
        self._v = tf.Variable(tf.zeros_like(variable), trainable=False, name="adam_v")
        self.iterations = tf.Variable(0, trainable=False, name="adam_iterations")
        self.converged = tf.Variable(False, trainable=False, name="adam_converged")

    def apply(self, grad):
        """One Adam step from the gradient at the current value."""
        self.iterations.assign_add(1)
        t = tf.cast(self.iterations, tf.float32)
        self._m.assign(self.beta1 * self._m + (1.0 - self.beta1) * grad)
        self._v.assign(self.beta2 * self._v + (1.0 - self.beta2) * tf.square(grad))
        m_hat = self._m / (1.0 - tf.pow(self.beta1, t))
        v_hat = self._v / (1.0 - tf.pow(self.beta2, t))
        self.variable.assign_sub(self.learning_rate * m_hat / (tf.sqrt(v_hat) + self.epsilon))
