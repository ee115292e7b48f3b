"""Keras's Adam with the interface of `lbfgs.LBFGS`, for `optimize`.

`optimize(optimizer="adam")` runs it in the same compiled step as L-BFGS
(`scale_step.ScaleStep`), so both are driven the same way: `apply` inside
the step, `commit` outside, `reset` to start the next problem afresh.
"""

import tensorflow as tf


class KerasAdam:
    """Keras's Adam on one `tf.Variable`, with `LBFGS`'s interface.

    Defaults beta1=0.9, beta2=0.999, epsilon=1e-8 (the paper's and
    neural-style's). Keras optimisers update Keras variables, so the step
    runs on a shadow `keras.Variable` copied from and back to the image
    (two image-sized copies per iteration, inside the same compiled step).
    With `bounds=(low, high)` the image is clipped into them after each step
    (the TensorFlow tutorial's recipe). `converged` is never set; `apply`'s
    `write_history` and `commit` do nothing (L-BFGS needs them).
    """

    def __init__(self, variable, learning_rate=1e-3, bounds=None):
        import keras

        self.variable = variable
        self.bounds = bounds
        self._shadow = keras.Variable(tf.zeros_like(variable), trainable=True, name="adam_x")
        self._optimizer = keras.optimizers.Adam(learning_rate, beta_1=0.9, beta_2=0.999,
                                                epsilon=1e-8)
        self._optimizer.build([self._shadow])
        self._initial = [(v, v.numpy()) for v in self._optimizer.variables]
        self.converged = tf.Variable(False, trainable=False, name="adam_converged")

    def reset(self):
        """Forgets every step (moments, step count): like a new `KerasAdam`."""
        for variable, value in self._initial:
            variable.assign(value)

    def apply(self, grad, write_history=True, loss=None):
        """One Adam step from the gradient at the variable's current value."""
        del write_history, loss  # Adam keeps no history and takes every step.
        self._shadow.assign(self.variable)
        self._optimizer.apply([grad], [self._shadow])
        x = self._shadow.value
        if self.bounds is not None:
            x = tf.clip_by_value(x, *self.bounds)
        self.variable.assign(x)

    def commit(self):
        """Nothing to store (see `LBFGS.commit`)."""
