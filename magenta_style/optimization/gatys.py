"""Optimisation-based style transfer (Gatys, Ecker & Bethge, 2016).

The pastiche image itself is optimised so that its VGG features match the
photo's (content) and its Gram matrices match the painting's (style).

Defaults (`config`'s `default` preset) aim at a good result soon: Magenta's
objective (VGG-16, average pooling, content `vgg_16/conv3`, style
`vgg_16/conv1..conv4` at 2e-3, the library's loss units), started from the
photo, L-BFGS with the pixels kept in [0, 1] until the best loss improves
by less than 5% over 10 iterations. docs/optimize.md measures it against a 200-step Adam
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

This module is the loop; the parts are `problem` (settings, images, loss
targets), `scale_step` (the compiled step), `step_cache` (steps kept
across calls), `lbfgs` and `adam` (the optimisers).
"""

import os

import numpy as np
from tqdm import tqdm

from magenta_style import color
from magenta_style.optimization import config as opt_config
from magenta_style.optimization import problem as problem_lib
from magenta_style.optimization import step_cache
from magenta_style.storage import image_io
from magenta_style.storage import tensorboard


def build_step(content, styles, config=None, **options):
    """One compiled iteration at the output size, for benchmarks and custom loops.

    Same arguments as `optimize` (coarse-to-fine, saving and logging options
    are ignored). Returns `step`: calling `step()` runs one iteration (loss,
    gradient, update) and returns the dict of loss tensors; `step.image()`
    returns the current `[H, W, 3]` float32 image in [0, 1] (clipped).
    """
    problem = problem_lib.setup(content, styles, config, options)
    hw = problem_lib.sizes(problem.content_img.shape[:2], problem.cfg)[-1]
    # The step is the caller's for good (never given back to the cache).
    _, scale = problem.scale(hw, problem_lib.init_image(problem.content_img, hw, problem.cfg))

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
    problem = problem_lib.setup(content, styles, config, options)
    cfg, content_img = problem.cfg, problem.content_img
    writer = tensorboard.TensorBoardWriter(cfg.log_dir) if cfg.log_dir else None
    sizes = problem_lib.sizes(content_img.shape[:2], cfg)
    image = problem_lib.init_image(content_img, sizes[0], cfg)
    history = []
    for si, hw in enumerate(sizes):
        last = si == len(sizes) - 1
        budget = cfg.iterations if last or cfg.coarse_iterations is None else (
            cfg.coarse_iterations)
        start = problem_lib.resize_to(np.clip(image, 0, 1), hw) if si else image
        key, scale = problem.scale(hw, start)
        image = scale.result(_run_scale(scale, budget, si, hw, cfg, history, writer, callback))
        step_cache.give_back(key, scale)
    image = np.clip(image, 0.0, 1.0)
    if cfg.preserve_colors:
        image = color.preserve_colors(image, problem_lib.resize_to(content_img, image.shape[:2]))
    if writer:
        writer.close()
    return opt_config.OptimizeResult(image.astype(np.float32), history)


def loss_plateaued(best, window, tolerance):
    """True when the best loss improved by < tolerance (relative) over the window.

    Args:
        best: the best loss so far after each iteration (non-increasing floats).
        window: iterations to look back.
        tolerance: relative improvement below which to stop (<= 0: never).
    """
    if tolerance <= 0 or len(best) <= window:
        return False
    old, new = best[-window - 1], best[-1]
    return (old - new) <= tolerance * abs(old)


def clear_cache():
    """Drops the steps and loss networks kept across calls (`step_cache`):
    for benchmarks that time a first call."""
    step_cache.clear()


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
            elif loss_plateaued(best, cfg.convergence_window, cfg.convergence_tolerance):
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
