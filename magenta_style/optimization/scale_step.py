"""The compiled loss, gradient and optimiser update for one output size.

`ScaleStep` holds everything of one problem in variables, so the same
compiled step (one XLA call per iteration) serves every problem of its size
and settings; `step_cache` keeps steps across `optimize` calls.
"""

import numpy as np
import tensorflow as tf

from magenta_style.losses import loss_terms
from magenta_style.optimization import adam
from magenta_style.optimization import lbfgs


def features(net, layer_map, images):
    """`{user layer name: [B, h, w, C] features}` of `images` in [0, 1].

    Args:
        net: the loss network (`vgg.build_loss_network`), a dict of outputs.
        layer_map: `{user layer name: Keras layer name}` (`config.keras_layer`).
        images: `[B, H, W, 3]` float32 RGB in [0, 1].
    """
    out = net(tf.convert_to_tensor(images, tf.float32), training=False)
    return {user: out[k] for user, k in layer_map.items()}


class ScaleStep:
    """The compiled loss/gradient/update step for one output size.

    Everything that differs between problems of the same size and settings
    (the photo's features, the styles' Grams, the image, the optimiser's
    state) lives in variables, so `load` can point the compiled step at a
    new problem: XLA never compiles it again (`problem.Problem.scale`,
    `step_cache`). `targets` = (content features, style Grams) as
    `problem.Problem.targets` gives them; they fix the variables' shapes.
    """

    def __init__(self, net, layer_map, content_w, style_w, tv_w, hw, cfg, targets):
        self.net, self.layer_map = net, layer_map
        h, w = hw
        content_feats, grams = targets
        self.content_feats = {n: tf.Variable(v, trainable=False)
                              for n, v in content_feats.items()}
        self.grams = {n: tf.Variable(v, trainable=False) for n, v in grams.items()}
        self.content_w = content_w
        if cfg.loss_units == "neural_style":
            # neural-style's Gram divides by C*H*W, ours by H*W: MSE differs by C**2.
            self.style_w = {n: wt / float(grams[n].shape[-1]) ** 2 for n, wt in style_w.items()}
            self.tv_w = tv_w * 255.0 ** 2 * 3 * h * w
        else:  # the library's own losses, weights as given (Magenta's units)
            self.style_w, self.tv_w = dict(style_w), tv_w
        # The variable holds 0..255 pixel values, as neural-style's does, so
        # the first L-BFGS step, Adam's step size and the noise level mean
        # what they mean there (in [0, 1] units the first step is 255x larger
        # relative to the image and L-BFGS can blow up).
        self.bounded = cfg.bounded
        self.x = tf.Variable(tf.zeros([1, h, w, 3]), dtype=tf.float32)
        self.best = tf.Variable(self.x, dtype=tf.float32, trainable=False)
        self.best_loss = tf.Variable(np.inf, dtype=tf.float32, trainable=False)
        bounds = (0.0, 255.0) if cfg.bounded else None
        if cfg.optimizer == "lbfgs":
            self.opt = lbfgs.LBFGS(self.x, cfg.lbfgs_learning_rate, cfg.lbfgs_history,
                                   bounds=bounds, backtracking=cfg.lbfgs_backtracking)
        else:
            self.opt = adam.KerasAdam(self.x, cfg.learning_rate, bounds=bounds)
        self._compiled_step = tf.function(self._step, jit_compile=cfg.jit_compile,
                                          autograph=False)
        # The history write runs outside XLA, in place (see `LBFGS.commit`).
        self._commit = tf.function(self.opt.commit, autograph=False)

    def load(self, targets, x0):
        """Points the step at a problem: `targets` (see the class) and the
        start image `x0` `[H, W, 3]` in [0, 1]; the optimiser starts afresh."""
        for values, variables in zip(targets, (self.content_feats, self.grams)):
            for n, v in values.items():
                variables[n].assign(v)
        if self.bounded:  # a resized start image can overshoot [0, 1] slightly
            x0 = np.clip(x0, 0.0, 1.0)
        self.x.assign(x0[None] * 255.0)
        self.best.assign(self.x)
        self.best_loss.assign(np.inf)
        self.opt.reset()
        return self

    def step(self):
        """One iteration: `(parts, converged)` as tensors."""
        result = self._compiled_step()
        self._commit()
        return result

    def result(self, last_loss):
        """The image to keep, `[H, W, 3]` float32 in 0..1 units (not clipped).

        The current iterate, unless `last_loss`, the last loss evaluated,
        was worse than the best one (or not finite): the run went uphill at
        its end, and the best image evaluated is returned instead.
        """
        worse = not last_loss <= float(self.best_loss.numpy())
        return (self.best if worse else self.x).numpy()[0] / 255.0

    def loss(self, x):
        """(total, parts) of `x` `[1, H, W, 3]` in 0..255, in `loss_units`."""
        x = x / 255.0
        feats = features(self.net, self.layer_map, x)
        c_total, parts = loss_terms.content_loss(self.content_feats, feats, self.content_w)
        s_total, s_parts = loss_terms.style_loss(self.grams, feats, self.style_w)
        parts.update(s_parts)
        tv = tf.zeros([])
        if self.tv_w:
            tv, _ = loss_terms.total_variation_loss(x, self.tv_w)
        total = c_total + s_total + tv
        parts.update(total_content_loss=c_total, total_style_loss=s_total,
                     total_variation_loss=tv, total_loss=total)
        return total, parts

    def _step(self):
        """Loss and gradient at x, best-image bookkeeping, optimiser update."""
        with tf.GradientTape() as tape:
            total, parts = self.loss(self.x)
        grad = tape.gradient(total, self.x)
        better = total < self.best_loss
        self.best.assign(tf.where(better, self.x, self.best))
        self.best_loss.assign(tf.where(better, total, self.best_loss))
        self.opt.apply(grad, write_history=False, loss=total)
        return parts, self.opt.converged


def _features(net, layer_map, images):
    """`{user layer name: [B, h, w, C] features}` of `images` in [0, 1]."""
    out = net(tf.convert_to_tensor(images, tf.float32), training=False)
    return {user: out[k] for user, k in layer_map.items()}
