"""Limited-memory BFGS on one `tf.Variable`, graph-compatible.

`apply(grad)`: given the gradient of the loss at the variable's current
value, move the variable in place. `apply` is plain TensorFlow, so a caller
can put the loss, its gradient and the update in one
`tf.function(jit_compile=True)` (one compiled call per iteration). Keras has
no L-BFGS; for Adam the optimisation uses Keras's (`adam.KerasAdam`).

`LBFGS` follows `torch.optim.LBFGS(line_search_fn=None)` (itself a port of
Torch7's `optim.lbfgs`, which jcjohnson's neural-style uses): the two-loop
recursion over the last `history_size` curvature pairs, the initial inverse
Hessian `s.y / y.y`, pairs with `s.y <= 1e-10` skipped, and a fixed step
`learning_rate` except on the first iteration (`min(1, 1/|g|_1) * lr`, a
cautious first step before any curvature is known). No line search: it costs
extra loss evaluations, and style transfer works well without one.

With `bounds=(low, high)` the iterate stays inside the box, by the
projected form of L-BFGS-B's active set (Byrd, Lu, Nocedal & Zhu, 1995;
simpler than its Cauchy-point search): gradient entries at a bound that
point out of the box are zeroed before the two-loop recursion, the direction
is zeroed there too, the new point is clipped into the box, and the
curvature pair is the step actually taken with the full gradients' change.
For images this keeps the loss measured on the pixels the user gets: an
unbounded iterate that is clipped only at the end loses part of what the
optimisation reached (docs/optimize.md, "Time to a good result").

With `backtracking=True` and the loss passed to `apply`, a step that fails
Armijo's sufficient-decrease test, `f(x + s) <= f(x) + c1 g.s` (c1 = 1e-4,
or any non-finite loss), is halved instead of followed: the next `apply`
moves back to `x + s/2` and stores no curvature pair. This is a backtracking
line search spread over calls, so it costs nothing while the fixed step
works (the iterates are then exactly those without it) and one loss
evaluation per halving when it does not. A halving also sets a trust
radius: later steps move no entry by more than twice the largest move of
the step that was accepted, the radius doubling with every accepted step,
so a direction that stays too long (a constrained problem whose
unconstrained steps leave the box) does not cost halvings on every step.
Without it, a fixed step that overshoots can send the loss up by orders of
magnitude and never recover, which projected steps made more likely
(docs/optimize.md).
"""

import numpy as np
import tensorflow as tf

# Armijo's sufficient-decrease constant (Nocedal & Wright's suggestion), and
# the most halvings of one step (2**-30 of it) before it is taken anyway.
_ARMIJO_C1 = 1e-4
_MAX_BACKTRACKS = 30


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
                 tolerance_grad=1e-7, tolerance_change=1e-9, bounds=None,
                 backtracking=False):
        if history_size < 1:
            raise ValueError(f"history_size must be >= 1. Received: {history_size}")
        if bounds is not None and not float(bounds[0]) < float(bounds[1]):
            raise ValueError(f"bounds must be (low, high) with low < high. Received: {bounds}")
        self.bounds = None if bounds is None else (float(bounds[0]), float(bounds[1]))
        self.backtracking = bool(backtracking)
        self.variable = variable
        self.learning_rate = float(learning_rate)
        self.history_size = int(history_size)
        self.tolerance_grad = float(tolerance_grad)
        self.tolerance_change = float(tolerance_change)
        n = int(tf.size(variable))
        m = self.history_size
        zeros = tf.zeros_initializer()
        self._initial = []  # (variable, its first value) for `reset`

        def var(shape, dtype=tf.float32, name=None, value=None):
            v = tf.Variable(zeros(shape, dtype) if value is None else value,
                            trainable=False, name=name)
            self._initial.append((v, value))
            return v

        self._s = var([m, n], name="lbfgs_s")
        self._y = var([m, n], name="lbfgs_y")
        self._rho = var([m], name="lbfgs_rho")
        self._sy = var([m, m], name="lbfgs_sy")  # s_i . y_j, by slot
        self._yy = var([m, m], name="lbfgs_yy")  # y_i . y_j, by slot
        self._start = var([], tf.int32, name="lbfgs_start")  # oldest pair
        self._count = var([], tf.int32, name="lbfgs_count")  # pairs stored
        self._prev_g = var([n], name="lbfgs_prev_g")
        self._prev_step = var([n], name="lbfgs_prev_step")  # t * d
        self._h_diag = var([], name="lbfgs_h_diag", value=1.0)
        # For backtracking: the loss where the last step started, g.s of that
        # step, and how many times it has been halved.
        self._prev_loss = var([], name="lbfgs_prev_loss", value=np.inf)
        self._prev_gs = var([], name="lbfgs_prev_gs")
        self.backtracks = var([], tf.int32, name="lbfgs_backtracks")
        # The largest move of any entry the next step may make (backtracking).
        self._radius = var([], name="lbfgs_radius", value=np.inf)
        self.iterations = var([], tf.int32, name="lbfgs_iterations")
        self.converged = var([], tf.bool, name="lbfgs_converged", value=False)
        # The pair `apply` made, until `commit` stores it (slot, or -1: none).
        self._pending_s = var([n], name="lbfgs_pending_s")
        self._pending_y = var([n], name="lbfgs_pending_y")
        self._pending_pos = var([], tf.int32, name="lbfgs_pending_pos", value=-1)

    def reset(self):
        """Forgets every step: the state of a new `LBFGS` on the same variable.

        So one compiled step (which captures these variables) can serve the
        next problem of the same shape (`step_cache` keeps steps across calls).
        """
        for variable, value in self._initial:
            variable.assign(tf.zeros_like(variable) if value is None
                            else tf.fill(tf.shape(variable), tf.cast(value, variable.dtype)))

    def _new_pair(self, g, q, skip):
        """The pair (s, y) from the last step, its slot, and the dot products.

        `g` is the full gradient (it makes `y`), `q` the vector the two-loop
        recursion multiplies (`g` with its active-bound entries zeroed, or
        `g` itself without bounds). `skip`: store no pair (a backtrack).

        Reads the stored history (two matrix-vector products, at memory
        speed) but does not write it: the rows are written by `commit`.
        Inside an XLA-compiled step, writing a row of the `[m, n]` history
        and then multiplying by it makes XLA:CPU copy and re-lay out the
        whole history every iteration (timings: docs/optimize.md,
        docs/optimize.md).
        Returns `(s, y, at_pos, slot, sg, yg)`: `at_pos` `[m]` bool marks the
        slot the pair takes (all False when it is skipped), `slot` is that
        slot or -1, `sg`/`yg` are `S g`/`Y g` by slot with the new pair in it.
        """
        m = self.history_size
        y = g - self._prev_g
        s = self._prev_step.read_value()  # a snapshot: apply reassigns the variable
        ys = tf.tensordot(y, s, 1)
        ok = tf.logical_and(tf.logical_and(self.iterations > 0, ys > 1e-10),
                            tf.logical_not(skip))
        full = self._count >= m
        pos = tf.where(full, self._start, (self._start + self._count) % m)
        s_dots = tf.linalg.matmul(self._s, tf.stack([y, q], axis=1))  # [m, 2]
        y_dots = tf.linalg.matmul(self._y, tf.stack([s, y, q], axis=1))  # [m, 3]
        at_pos = tf.logical_and(ok, tf.equal(tf.range(m), pos))
        yy_new = tf.tensordot(y, y, 1)
        # sy[i, j] = s_i . y_j: column pos is S y, row pos is Y s (by slot).
        col, row = at_pos[None, :], at_pos[:, None]
        sy = tf.where(col, s_dots[:, :1], self._sy)
        sy = tf.where(row, y_dots[:, 0][None, :], sy)
        sy = tf.where(tf.logical_and(col, row), ys, sy)
        yy = tf.where(col, y_dots[:, 1:2], self._yy)
        yy = tf.where(row, y_dots[:, 1][None, :], yy)
        yy = tf.where(tf.logical_and(col, row), yy_new, yy)
        self._sy.assign(sy)
        self._yy.assign(yy)
        safe_ys = tf.where(ok, ys, 1.0)
        self._rho.assign(tf.where(at_pos, 1.0 / safe_ys, self._rho))
        self._start.assign(tf.where(tf.logical_and(ok, full), (self._start + 1) % m,
                                    self._start))
        self._count.assign(tf.where(tf.logical_and(ok, tf.logical_not(full)),
                                    self._count + 1, self._count))
        self._h_diag.assign(tf.where(ok, safe_ys / tf.where(ok, yy_new, 1.0), self._h_diag))
        sg = tf.where(at_pos, tf.tensordot(s, q, 1), s_dots[:, 1])
        yg = tf.where(at_pos, tf.tensordot(y, q, 1), y_dots[:, 2])
        return s, y, at_pos, tf.where(ok, pos, -1), sg, yg

    def _direction(self, g, new_pair):
        """-H g by the two-loop recursion, on dot products.

        The recursion's vector updates are linear in the stored pairs, so
        every dot product it takes is a combination of `S g`, `Y g` and the
        pairs' mutual dot products (`s_i . y_j`, `y_i . y_j`, kept up to date
        as pairs arrive). The two loops run on those `m`-vectors and the
        direction is assembled from two matrix-vector products,
        `-gamma g - gamma Y^T alpha + S^T (alpha - beta)`, with the stored
        rows plus the new pair (whose slot's old row gets coefficient 0).
        Same iterates as the vector form to float rounding
        (tests/optimization/test_lbfgs.py, a float64 port of PyTorch's).
        """
        s, y, at_pos, _, sg, yg = new_pair
        m = self.history_size
        order = (self._start + tf.range(m)) % m  # oldest first
        live = tf.range(m) < self._count
        rho = tf.where(live, tf.gather(self._rho, order), 0.0)
        sy = tf.gather(tf.gather(self._sy, order), order, axis=1)
        yy = tf.gather(tf.gather(self._yy, order), order, axis=1)
        sg, yg = tf.gather(sg, order), tf.gather(yg, order)
        gamma = self._h_diag

        # The first loop, newest pair first, is back-substitution of
        #   alpha_k + rho_k sum_{j newer} s_k . y_j alpha_j = -rho_k s_k . g,
        # the second, oldest first, forward substitution of
        #   c_k + rho_k sum_{j older} s_j . y_k c_j = alpha_k - gamma rho_k y_k . q.
        # As triangular solves they need no `tf.while_loop` (inside the
        # compiled step XLA:CPU made each loop iteration cost seconds).
        # Unused slots have rho = 0: rows of the identity, zero solutions.
        upper = np.triu(np.ones((m, m), "float32"), 1)
        eye = np.eye(m, dtype="float32")
        first = eye + rho[:, None] * sy * upper
        alpha = tf.linalg.triangular_solve(first, (-rho * sg)[:, None], lower=False)[:, 0]
        yq = -yg - tf.linalg.matvec(yy, alpha)  # y_k . q for the final q
        second = eye + rho[:, None] * tf.transpose(sy) * upper.T
        c = tf.linalg.triangular_solve(second, (alpha - gamma * rho * yq)[:, None],
                                       lower=True)[:, 0]
        # Back to slot order; the new pair's slot is taken by (s, y).
        c = tf.scatter_nd(order[:, None], c, [m])
        alpha = tf.scatter_nd(order[:, None], alpha, [m])
        c_new = tf.reduce_sum(tf.where(at_pos, c, 0.0))
        a_new = tf.reduce_sum(tf.where(at_pos, alpha, 0.0))
        c, alpha = tf.where(at_pos, 0.0, c), tf.where(at_pos, 0.0, alpha)
        coefficients = tf.stack([c, -gamma * alpha])  # [2, m]
        stored = (tf.linalg.matmul(coefficients[:1], self._s)
                  + tf.linalg.matmul(coefficients[1:], self._y))[0]
        return -gamma * g + stored + c_new * s - gamma * a_new * y

    def apply(self, grad, write_history=True, loss=None):
        """One L-BFGS iteration from the gradient at the current value.

        Args:
            grad: float32 tensor shaped like the variable.
            write_history: store the new curvature pair in the history now.
                Pass False inside an XLA-compiled step and call `commit()`
                after it, outside: XLA:CPU is several times slower when it
                must write the history it also reads (see `_new_pair`).
            loss: the loss at the current value, a float32 scalar; needed
                for `backtracking` (without it no step is ever halved).
        """
        g = tf.reshape(tf.cast(grad, tf.float32), [-1])
        back = tf.constant(False)
        if self.backtracking and loss is not None:
            loss = tf.cast(loss, tf.float32)
            sufficient = loss <= self._prev_loss + _ARMIJO_C1 * self._prev_gs
            # `not <=` so that a NaN loss backtracks too.
            back = tf.logical_and(
                tf.logical_and(self.iterations > 0, tf.logical_not(sufficient)),
                tf.logical_and(tf.logical_not(self.converged),
                               self.backtracks < _MAX_BACKTRACKS))
        q, active = g, None
        if self.bounds is not None:
            x = tf.reshape(self.variable, [-1])  # read once: assigned below
            low, high = self.bounds
            # At a bound with the descent direction (-g) pointing out of the box.
            active = tf.logical_or(tf.logical_and(x <= low, g > 0),
                                   tf.logical_and(x >= high, g < 0))
            q = tf.where(active, 0.0, g)
        new_pair = self._new_pair(g, q, back)
        d = self._direction(q, new_pair)
        if active is not None:
            d = tf.where(active, 0.0, d)
        first = tf.equal(self.iterations, 0)
        abs_sum = tf.reduce_sum(tf.abs(q))
        t = tf.where(first, tf.minimum(1.0, 1.0 / tf.maximum(abs_sum, 1e-30)), 1.0)
        t = t * self.learning_rate
        prev_step = self._prev_step.read_value()
        radius = self._radius.read_value()
        if self.backtracking:
            # Accepted after halvings: the radius is twice that step's largest
            # move; accepted at once: the radius doubles (inf stays inf).
            radius = 2.0 * tf.where(self.backtracks > 0,
                                    tf.reduce_max(tf.abs(prev_step)), radius)
            largest = t * tf.reduce_max(tf.abs(d))
            t = tf.where(largest > radius, t * radius / largest, t)
        gtd = tf.tensordot(q, d, 1)
        done = tf.logical_or(
            self.converged,
            tf.logical_or(tf.reduce_max(tf.abs(q)) <= self.tolerance_grad,
                          gtd > -self.tolerance_change))
        t = tf.where(done, 0.0, t)
        step = t * d
        # A backtrack returns half way: from x + s to x + s/2.
        move = tf.where(back, -0.5 * prev_step, step)
        if self.bounds is not None:
            # The step actually taken, after clipping into the box.
            new_x = tf.clip_by_value(x + move, *self.bounds)
            step = tf.where(back, step, new_x - x)
            self.variable.assign(tf.reshape(new_x, tf.shape(self.variable)))
        else:
            self.variable.assign_add(tf.reshape(move, tf.shape(self.variable)))
        done = tf.logical_and(done, tf.logical_not(back))
        self._prev_step.assign(tf.where(back, 0.5 * prev_step, step))
        self._prev_gs.assign(tf.where(back, 0.5 * self._prev_gs, tf.tensordot(g, step, 1)))
        if loss is not None:
            self._prev_loss.assign(tf.where(back, self._prev_loss, loss))
        self._prev_g.assign(tf.where(back, self._prev_g, g))
        self.backtracks.assign(tf.where(back, self.backtracks + 1, 0))
        self._radius.assign(tf.where(back, self._radius, radius))
        self.converged.assign(done)
        self.iterations.assign_add(tf.where(tf.logical_or(done, back), 0, 1))
        s, y, _, slot = new_pair[:4]
        self._pending_s.assign(s)
        self._pending_y.assign(y)
        self._pending_pos.assign(slot)
        if write_history:
            self.commit()

    def commit(self):
        """Writes the curvature pair of the last `apply` into the history.

        Needed (once, before the next `apply`) only after
        `apply(..., write_history=False)`; a second call does nothing. Run it
        outside XLA: there TensorFlow updates the rows in place.
        """
        pos = self._pending_pos
        write = pos >= 0
        row = tf.maximum(pos, 0)
        self._s.scatter_nd_update([[row]], tf.where(write, self._pending_s,
                                                    tf.gather(self._s, row))[None])
        self._y.scatter_nd_update([[row]], tf.where(write, self._pending_y,
                                                    tf.gather(self._y, row))[None])
        self._pending_pos.assign(-1)
