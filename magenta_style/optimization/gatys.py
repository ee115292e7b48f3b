"""Optimisation-based style transfer (Gatys, Ecker & Bethge, 2016).

The pastiche image itself is optimised so that its VGG features match the
photo's (content) and its Gram matrices match the painting's (style).

Defaults (`config`'s `default` preset) aim at a good result soon: Magenta's
objective (VGG-16, average pooling, content `vgg_16/conv3`, style
`vgg_16/conv1..conv4` at 2e-3, the library's loss units), started from the
photo, L-BFGS with the pixels kept in [0, 1] until the best loss improves
by less than 5% over 10 iterations. bench/optimize_quality.py measures it against a 200-step Adam
run of the TensorFlow tutorial's recipe on the same objective.

The `neural_style` preset is jcjohnson's neural-style (the reference
implementation most users tune), so its published settings carry over:
`content_weight=5`, `style_weight=100`, `tv_weight=1e-3`, content `relu4_2`,
style `relu1_1 .. relu5_1`, VGG-19 with max pooling, L-BFGS for 1000
iterations from a near-constant noise image, in neural-style's units.

Loss units (`loss_units`). `magenta` is `magenta_style.losses.loss_terms`
as it is: Grams normalised by H*W (Magenta), mean squared differences, TV a
mean over [0, 1] pixels. `neural_style` normalises Grams by C*H*W. We
convert the weights, not the losses: a style layer with C channels gets
`style_weight * layer_weight / C**2`, and the total variation weight is
multiplied by `255**2 * 3 * H * W` (neural-style's TV is a sum over pixels in
0..255 units). Loss values printed and returned are in the chosen units.

Beyond neural-style: several optimisers share one compiled step
(`tf.function(jit_compile=True)`: loss, gradient and L-BFGS update in one XLA
call); a convergence stop (relative change of the best loss over a window);
coarse-to-fine; exponential style-layer weighting; TensorBoard scalars.
Compiled steps are kept across calls (the three most recent sizes and
settings): a second `optimize` at the same size starts at once.
"""

import collections
import dataclasses
import os
import threading
from typing import NamedTuple

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from magenta_style import color
from magenta_style.errors import UserError
from magenta_style.losses import loss_terms
from magenta_style.losses import vgg
from magenta_style.optimization import config as opt_config
from magenta_style.optimization import lbfgs
from magenta_style.storage import image_io
from magenta_style.storage import tensorboard

# neural-style's `-content_layers relu4_2 -style_layers relu1_1,...,relu5_1`
# (also Gatys et al.'s choice: conv4_2 content, conv1_1 .. conv5_1 style).
_MEAN_RGB = np.array(vgg.BGR_MEANS[::-1], np.float32) / 255.0


def _sizes(content_hw, cfg):
    """Output (h, w) per scale, coarsest first."""
    h, w = content_hw
    s = cfg.image_size / max(h, w)
    final = (max(1, round(h * s)), max(1, round(w * s)))
    sizes = []
    for i in range(cfg.num_scales - 1, -1, -1):
        f = cfg.scale_factor ** i
        sizes.append((max(16, round(final[0] / f)), max(16, round(final[1] / f))))
    return sizes


def _resize_to(img, hw):
    if img.shape[:2] == tuple(hw):
        return img
    return image_io.resize(img, (hw[1], hw[0]))


def _resize_long(img, long_side):
    h, w = img.shape[:2]
    s = long_side / max(h, w)
    return _resize_to(img, (max(1, round(h * s)), max(1, round(w * s))))


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


class _Scale:
    """The compiled loss/gradient/update step for one output size.

    Everything that differs between problems of the same size and settings
    (the photo's features, the styles' Grams, the image, the optimiser's
    state) lives in variables, so `load` can point the compiled step at a
    new problem: XLA never compiles it again (`_Problem.scale`, `_give_back`).
    `targets` = (content features, style Grams) as `_Problem.targets` gives
    them; they fix the variables' shapes.
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
            self.opt = KerasAdam(self.x, cfg.learning_rate, bounds=bounds)
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
        feats = _features(self.net, self.layer_map, x)
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


def _init_image(content, hw, cfg):
    if cfg.init == "content":
        return _resize_to(content, hw)
    if cfg.init == "image":
        return _resize_to(image_io.load_image(cfg.init_image), hw)
    rng = np.random.default_rng(cfg.seed)
    noise = rng.normal(0.0, cfg.init_noise_std / 255.0, size=hw + (3,)).astype(np.float32)
    return _MEAN_RGB + noise


def _converged(best, window, tolerance):
    """True when the best loss improved by < tolerance (relative) over the window."""
    if tolerance <= 0 or len(best) <= window:
        return False
    old, new = best[-window - 1], best[-1]
    return (old - new) <= tolerance * abs(old)


class _Problem(NamedTuple):
    cfg: opt_config.OptimizeConfig
    net: object
    layer_map: dict
    content_w: dict
    style_w: dict
    content_img: np.ndarray
    style_imgs: list
    blend: list
    scales: list

    def scale(self, hw, x0):
        """`(key, compiled step)` for output size `hw`, loaded with this
        problem and starting from `x0` in [0, 1]; give it back with
        `_give_back(key, step)` when done."""
        cfg = self.cfg
        key = (id(self.net), tuple(hw), tuple(sorted(self.layer_map.items())),
               tuple(sorted(self.content_w.items())), tuple(sorted(self.style_w.items())),
               cfg.tv_weight, cfg.loss_units, cfg.bounded, cfg.optimizer, cfg.learning_rate,
               cfg.lbfgs_learning_rate, cfg.lbfgs_history, cfg.lbfgs_backtracking,
               cfg.jit_compile)
        targets = self.targets(hw)
        with _CACHE_LOCK:
            scale = _STEPS.pop(key, None)
        if scale is None:
            scale = _Scale(self.net, self.layer_map, self.content_w, self.style_w,
                           cfg.tv_weight, hw, cfg, targets)
        return key, scale.load(targets, x0)

    def targets(self, hw):
        """The photo's features and the blended style Grams for output size `hw`."""
        h, w = hw
        feats = _features(self.net, self.layer_map, _resize_to(self.content_img, hw)[None])
        content_feats = {n: feats[n] for n in self.content_w}
        grams = {n: 0.0 for n in self.style_w}
        # The deepest style layer needs >= 1 position: 2**(block-1) pixels.
        min_side = max(2 ** (int(self.layer_map[n][5]) - 1) for n in self.style_w)
        for img, b, s in zip(self.style_imgs, self.blend, self.scales):
            img = _resize_long(img, round(s * max(h, w)))
            if min(img.shape[:2]) < min_side:
                img = _resize_long(img, -(-max(img.shape[:2]) * min_side // min(img.shape[:2])))
            f = _features(self.net, self.layer_map, img[None])
            for n in self.style_w:
                grams[n] = grams[n] + b * loss_terms.gram_matrix(f[n])
        return content_feats, grams


# Compiled steps and loss networks kept across `optimize` calls. TensorFlow
# never frees an XLA executable, so compiling a new step per call cost both
# time (about 14 s of a 64-px call, on the 2-core CPU) and memory maps
# (about 1,400 per call: a process aborted with "LLVM ERROR: Unable to
# allocate section memory" after 48 calls). A step is taken out of the cache
# while in use, so concurrent calls never share one.
_CACHE_LOCK = threading.Lock()
_STEPS = collections.OrderedDict()  # key -> _Scale, least recently used first
_MAX_STEPS = 3  # each holds its L-BFGS history: 2 x 100 image copies
_NETS = collections.OrderedDict()
_MAX_NETS = 2


def clear_cache():
    """Drops the kept steps and loss networks (their memory; the compiled code
    stays, see above): for benchmarks that time a first call."""
    with _CACHE_LOCK:
        _STEPS.clear()
        _NETS.clear()


def _give_back(key, scale):
    with _CACHE_LOCK:
        _STEPS[key] = scale
        _STEPS.move_to_end(key)
        while len(_STEPS) > _MAX_STEPS:
            _STEPS.popitem(last=False)


def _loss_network(arch, pooling, weights, endpoints, xla):
    """`vgg.build_loss_network`, the same object for the same arguments (and
    weights file), so cached steps that captured it stay usable."""
    key = None
    if isinstance(weights, (str, os.PathLike)):
        path = os.fspath(weights)
        stamp = (os.path.getmtime(path), os.path.getsize(path)) if os.path.isfile(path) else None
        key = (arch, pooling, path, stamp, tuple(endpoints), xla)
        with _CACHE_LOCK:
            if key in _NETS:
                _NETS.move_to_end(key)
                return _NETS[key]
    net = vgg.build_loss_network(arch, pooling, weights, endpoints=endpoints, xla=xla)
    if key is not None:
        with _CACHE_LOCK:
            _NETS[key] = net
            while len(_NETS) > _MAX_NETS:
                _NETS.popitem(last=False)
    return net


def _setup(content, styles, config, options):
    """Validates everything, loads the images, builds the loss network."""
    preset = options.pop("preset", None)
    if preset is not None and config is not None:
        raise UserError(f"Give config or preset, not both. Received: preset={preset!r} "
                        f"and a config.")
    cfg = config or opt_config.OptimizeConfig.from_preset(preset or "default")
    names = {f.name for f in dataclasses.fields(opt_config.OptimizeConfig)}
    unknown = sorted(set(options) - names)
    if unknown:
        raise UserError(f"Unknown option(s) {unknown}; valid options: "
                        f"{sorted(names | {'preset'})}.")
    cfg = dataclasses.replace(cfg, **options)
    opt_config.validate(cfg)
    content_w = opt_config.layer_weights(cfg.content_layers, "content")
    style_w = opt_config.exponential_layer_weights(
        opt_config.layer_weights(cfg.style_layers, "style"), cfg.style_layer_weight_factor)
    layer_map = {n: opt_config.keras_layer(n, cfg.arch, "content") for n in content_w}
    layer_map.update({n: opt_config.keras_layer(n, cfg.arch, "style") for n in style_w})
    if isinstance(styles, (str, os.PathLike)) or (
            isinstance(styles, np.ndarray) and styles.ndim == 3) or not hasattr(
            styles, "__len__"):
        styles = [styles]
    if len(styles) == 0:
        raise UserError("Give at least one style image. Received: styles=[]")
    blend = opt_config.per_style(cfg.style_blend_weights, len(styles), "style_blend_weights", 1.0)
    if sum(blend) <= 0:
        raise UserError(f"style_blend_weights must not all be 0. Received: {blend}")
    blend = [b / sum(blend) for b in blend]
    scales = opt_config.per_style(cfg.style_scales, len(styles), "style_scales", 1.0, positive=True)
    content_img = image_io.load_image(content)
    style_imgs = [image_io.load_image(s) for s in styles]

    # Winograd and the written-out max-pool gradient suit XLA only (vgg.py).
    net = _loss_network(cfg.arch, cfg.pooling, cfg.weights, sorted(set(layer_map.values())),
                        cfg.jit_compile)
    content_w = {n: cfg.content_weight * w for n, w in content_w.items()}
    style_w = {n: cfg.style_weight * w for n, w in style_w.items()}
    return _Problem(cfg, net, layer_map, content_w, style_w, content_img, style_imgs,
                    blend, scales)


def build_step(content, styles, config=None, **options):
    """One compiled iteration at the output size, for benchmarks and custom loops.

    Same arguments as `optimize` (coarse-to-fine, saving and logging options
    are ignored). Returns `step`: calling `step()` runs one iteration (loss,
    gradient, update) and returns the dict of loss tensors; `step.image()`
    returns the current `[H, W, 3]` float32 image in [0, 1] (clipped).
    """
    problem = _setup(content, styles, config, options)
    hw = _sizes(problem.content_img.shape[:2], problem.cfg)[-1]
    # The step is the caller's for good (never given back to the cache).
    _, scale = problem.scale(hw, _init_image(problem.content_img, hw, problem.cfg))

    def step():
        return scale.step()[0]

    step.image = lambda: np.clip(scale.x.numpy()[0] / 255.0, 0.0, 1.0)
    return step


def optimize(content, styles, config=None, *, callback=None, **options):
    """Optimises an image to have `content`'s features and `styles`' Grams.

    Args:
        content: the photo, a path, PIL image or array (see
            `image_io.load_image`).
        styles: one style image or a list of them (paths, PIL images, arrays).
        config: an `opt_config.OptimizeConfig`; `options` override its fields
            (`optimize(c, s, iterations=200, arch="vgg16")`).
        callback: optional `callback(iteration, image, parts)` called after
            each iteration with the current `[H, W, 3]` float32 image (not
            clipped) and the dict of float losses; return True to stop.

    Returns:
        `opt_config.OptimizeResult(image, history)`: the image `[H, W, 3]` float32 RGB in
        [0, 1] whose longer side is `image_size`, and one dict of losses per
        iteration.

    Raises:
        UserError: unreadable images, mismatched per-style lists, negative
            weights, unknown layers or options.
    """
    problem = _setup(content, styles, config, options)
    cfg, content_img = problem.cfg, problem.content_img
    writer = tensorboard.TensorBoardWriter(cfg.log_dir) if cfg.log_dir else None
    sizes = _sizes(content_img.shape[:2], cfg)
    image = _init_image(content_img, sizes[0], cfg)
    history = []
    for si, hw in enumerate(sizes):
        last = si == len(sizes) - 1
        budget = cfg.iterations if last or cfg.coarse_iterations is None else (
            cfg.coarse_iterations)
        key, scale = problem.scale(hw, _resize_to(np.clip(image, 0, 1), hw) if si else image)
        image = scale.result(_run_scale(scale, budget, si, hw, cfg, history, writer, callback))
        _give_back(key, scale)
    image = np.clip(image, 0.0, 1.0)
    if cfg.preserve_colors:
        image = color.preserve_colors(image, _resize_to(content_img, image.shape[:2]))
    if writer:
        writer.close()
    return opt_config.OptimizeResult(image.astype(np.float32), history)


def _run_scale(scale, budget, si, hw, cfg, history, writer, callback):
    """Iterates one scale; appends to `history`; returns the last loss evaluated.

    (inf when the budget was 0: nothing was evaluated.)
    """
    best = []
    stop = "iterations"
    bar = tqdm(total=budget, desc=f"{hw[0]}x{hw[1]}", disable=not cfg.progress,
               leave=True, dynamic_ncols=True)
    with bar:
        for i in range(budget):
            parts, converged = scale.step()
            parts = {k: float(v) for k, v in parts.items()}
            it = len(history)
            rec = {"iteration": it, "scale": si, "height": hw[0], "width": hw[1], **parts}
            history.append(rec)
            total = parts["total_loss"]
            best.append(min(total, best[-1]) if best else total)
            bar.update(1)
            bar.set_postfix(content=f"{parts['total_content_loss']:.4g}",
                            style=f"{parts['total_style_loss']:.4g}",
                            tv=f"{parts['total_variation_loss']:.3g}",
                            total=f"{total:.4g}", refresh=False)
            if writer:
                writer.scalars(it, parts)
            if cfg.save_every and (i + 1) % cfg.save_every == 0:
                img = np.clip(scale.x.numpy()[0] / 255.0, 0, 1)
                image_io.save_image(img, os.path.join(
                    cfg.save_dir, f"iter_{it + 1:05d}_{hw[0]}x{hw[1]}.png"))
                if writer:
                    writer.image(it, "pastiche", img)
            if not np.isfinite(total):
                stop = "non-finite loss"
            elif bool(converged):
                stop = "lbfgs converged"
            elif _converged(best, cfg.convergence_window, cfg.convergence_tolerance):
                stop = "converged"
            elif callback is not None and callback(it, scale.x.numpy()[0] / 255.0, parts):
                stop = "callback"
            if stop != "iterations":
                break
    if history and history[-1]["scale"] == si:
        history[-1]["stop"] = stop
    if cfg.progress:
        tqdm.write(f"{hw[0]}x{hw[1]}: stopped after {i + 1 if budget else 0} iterations "
                   f"({stop}); loss {best[-1] if best else float('nan'):.5g}")
    return history[-1]["total_loss"] if history and history[-1]["scale"] == si else np.inf
