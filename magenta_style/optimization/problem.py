"""An `optimize` problem: its checked settings, images and loss targets.

`setup` turns `optimize`'s arguments into a `Problem`; `Problem.scale`
gives the compiled step (`scale_step.ScaleStep`) for one output size,
loaded with the problem's targets, from `step_cache` when one is kept.
"""

import dataclasses
import os
from typing import NamedTuple

import numpy as np

from magenta_style.errors import UserError
from magenta_style.losses import loss_terms
from magenta_style.losses import vgg
from magenta_style.optimization import config as opt_config
from magenta_style.optimization import scale_step
from magenta_style.optimization import step_cache
from magenta_style.storage import image_io

# Noise starts around VGG's mean colour (neural-style's -init random), in [0, 1].
_MEAN_RGB = np.array(vgg.BGR_MEANS[::-1], np.float32) / 255.0


def sizes(content_hw, cfg):
    """Output `(h, w)` per scale, coarsest first: `cfg.num_scales` sizes
    whose last has the longer side `cfg.image_size`."""
    h, w = content_hw
    s = cfg.image_size / max(h, w)
    final = (max(1, round(h * s)), max(1, round(w * s)))
    sizes = []
    for i in range(cfg.num_scales - 1, -1, -1):
        f = cfg.scale_factor ** i
        sizes.append((max(16, round(final[0] / f)), max(16, round(final[1] / f))))
    return sizes


def resize_to(img, hw):
    """`img` `[H, W, C]` resized to `hw` = (h, w) (itself if already that size)."""
    if img.shape[:2] == tuple(hw):
        return img
    return image_io.resize(img, (hw[1], hw[0]))


def resize_long(img, long_side):
    """`img` `[H, W, C]` resized so its longer side is `long_side`."""
    h, w = img.shape[:2]
    s = long_side / max(h, w)
    return resize_to(img, (max(1, round(h * s)), max(1, round(w * s))))


def init_image(content, hw, cfg):
    """The start image `[h, w, 3]` float32 for size `hw`: `cfg.init` is the
    photo, an image file, or noise around VGG's mean colour (in [0, 1] units)."""
    if cfg.init == "content":
        return resize_to(content, hw)
    if cfg.init == "image":
        return resize_to(image_io.load_image(cfg.init_image), hw)
    rng = np.random.default_rng(cfg.seed)
    noise = rng.normal(0.0, cfg.init_noise_std / 255.0, size=hw + (3,)).astype(np.float32)
    return _MEAN_RGB + noise


class Problem(NamedTuple):
    """One `optimize` problem: the settings, loss network, weights and images.

    Attributes:
        cfg: the `config.OptimizeConfig`.
        net: the loss network (`step_cache.loss_network`).
        layer_map: `{user layer name: Keras layer name}`.
        content_w, style_w: `{user layer name: weight}`, the config's
            overall weights folded in.
        content_img: `[H, W, 3]` float32 in [0, 1].
        style_imgs: list of `[h, w, 3]` float32 in [0, 1].
        blend: per style image, weights summing to 1.
        scales: per style image, its size relative to the output's.
    """

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
        `step_cache.give_back(key, step)` when done."""
        cfg = self.cfg
        key = (id(self.net), tuple(hw), tuple(sorted(self.layer_map.items())),
               tuple(sorted(self.content_w.items())), tuple(sorted(self.style_w.items())),
               cfg.tv_weight, cfg.loss_units, cfg.bounded, cfg.optimizer, cfg.learning_rate,
               cfg.lbfgs_learning_rate, cfg.lbfgs_history, cfg.lbfgs_backtracking,
               cfg.jit_compile)
        targets = self.targets(hw)
        scale = step_cache.take(key)
        if scale is None:
            scale = scale_step.ScaleStep(self.net, self.layer_map, self.content_w,
                                         self.style_w, cfg.tv_weight, hw, cfg, targets)
        return key, scale.load(targets, x0)

    def targets(self, hw):
        """The photo's features and the blended style Grams for output size `hw`."""
        h, w = hw
        photo = resize_to(self.content_img, hw)[None]
        feats = scale_step.features(self.net, self.layer_map, photo)
        content_feats = {n: feats[n] for n in self.content_w}
        grams = {n: 0.0 for n in self.style_w}
        # The deepest style layer needs >= 1 position: 2**(block-1) pixels.
        min_side = max(2 ** (int(self.layer_map[n][5]) - 1) for n in self.style_w)
        for img, b, s in zip(self.style_imgs, self.blend, self.scales):
            img = resize_long(img, round(s * max(h, w)))
            if min(img.shape[:2]) < min_side:
                img = resize_long(img, -(-max(img.shape[:2]) * min_side // min(img.shape[:2])))
            f = scale_step.features(self.net, self.layer_map, img[None])
            for n in self.style_w:
                grams[n] = grams[n] + b * loss_terms.gram_matrix(f[n])
        return content_feats, grams


def setup(content, styles, config, options):
    """Validates everything, loads the images, builds the loss network.

    Args:
        content, styles, config: as `gatys.optimize` takes them.
        options: dict of `optimize`'s keyword options (`preset` and config
            fields); `preset` is popped from it.

    Returns:
        The `Problem`.

    Raises:
        UserError: see `gatys.optimize`.
    """
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
    net = step_cache.loss_network(cfg.arch, cfg.pooling, cfg.weights,
                                  sorted(set(layer_map.values())), cfg.jit_compile)
    content_w = {n: cfg.content_weight * w for n, w in content_w.items()}
    style_w = {n: cfg.style_weight * w for n, w in style_w.items()}
    return Problem(cfg, net, layer_map, content_w, style_w, content_img, style_imgs,
                    blend, scales)
