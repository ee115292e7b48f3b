"""Style-transfer losses (Magenta's `learning.py` numerics), in `keras.ops`.

Every loss function returns `(total, parts)`: a scalar and a dict of named
scalars for logging, named as Magenta names its summaries
(`content_loss/vgg_16/conv3`, `weighted_style_loss/vgg_16/conv1`, ...).
Feature dicts are what `vgg.build_loss_network` returns: {endpoint name:
`[B, h, w, C]` float32}.
"""

from keras import ops


@ops.custom_gradient
def gram_matrix(features):
    """Gram matrices normalised by the number of positions (Magenta's).

    Args:
        features: `[B, H, W, C]` float.

    Returns:
        `[B, C, C]` float, `F^T F / (H * W)` per example. Not divided by C
        (Magenta; fast-neural-style divides by C*H*W, which rescales the
        style weights by 1/C per layer).

    The gradient is written out, `dF = F (dG + dG^T) / (H * W)`: one matrix
    product instead of the two products and two `[B, H*W, C]` transposes
    autodiff makes of `F^T F`. That halves the style loss's cost (256x256x64
    features, XLA: 71 -> 35 ms forward and backward), a third of an
    optimisation step with the tutorial's shallow style layers.
    """
    shape = ops.shape(features)
    flat = ops.reshape(features, (shape[0], -1, shape[3]))  # (B, H*W, C)
    positions = ops.cast(shape[1] * shape[2], features.dtype)
    gram = ops.matmul(ops.transpose(flat, (0, 2, 1)), flat)  # (B, C, C)

    def grad(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        upstream = ops.cast(upstream, flat.dtype)
        both = upstream + ops.transpose(upstream, (0, 2, 1))
        return ops.reshape(ops.matmul(flat, both), shape) / positions

    return gram / positions, grad


def _check_names(weights, features, kind):
    missing = [name for name in weights if name not in features]
    if missing:
        raise ValueError(
            f"{kind} weights name layers the loss network does not output: "
            f"{missing}. Available: {sorted(features)}. Build the loss network "
            "with these endpoints."
        )


def content_loss(content_features, pastiche_features, weights,
                 sample_weights=None, reduce_batch=True):
    """Mean squared feature difference, per layer, weighted and summed.

    Args:
        content_features, pastiche_features: feature dicts, same shapes.
        weights: {layer name: float}.
        sample_weights: optional `[B]` per-example multipliers.
        reduce_batch: if False, the total and parts are `[B]` vectors (no
            batch mean), e.g. for per-style learning curves.

    Returns:
        (scalar total averaged over the batch, parts) with
        `content_loss/<layer>` and `weighted_content_loss/<layer>`.
    """
    _check_names(weights, pastiche_features, "Content")
    total = 0.0
    parts = {}
    for name, weight in weights.items():
        diff = pastiche_features[name] - ops.stop_gradient(
            content_features[name])
        # Reduce over all but the batch axis before weighting, as Magenta.
        per_example = ops.mean(ops.square(diff), axis=(1, 2, 3))
        if sample_weights is not None:
            per_example = per_example * sample_weights
        loss = ops.mean(per_example) if reduce_batch else per_example
        parts[f"content_loss/{name}"] = loss
        parts[f"weighted_content_loss/{name}"] = loss * weight
        total = total + loss * weight
    return total, parts


def style_loss(style_grams, pastiche_features, weights, sample_weights=None,
               reduce_batch=True):
    """Mean squared Gram difference, per layer, weighted and summed.

    Args:
        style_grams: {layer: `[B, C, C]` or `[1, C, C]`} target Grams (from
            `gram_matrix` on the style image's features).
        pastiche_features: feature dicts of the generated images.
        weights: {layer name: float}.
        sample_weights: optional `[B]` multipliers (Magenta's per-style
            `--style_coefficients`, gathered by each example's style).
        reduce_batch: if False, the total and parts are `[B]` vectors.

    Returns:
        (scalar total averaged over the batch, parts) with
        `style_loss/<layer>` and `weighted_style_loss/<layer>`.
    """
    _check_names(weights, pastiche_features, "Style")
    total = 0.0
    parts = {}
    for name, weight in weights.items():
        diff = gram_matrix(pastiche_features[name]) - ops.stop_gradient(
            style_grams[name])
        per_example = ops.mean(ops.square(diff), axis=(1, 2))
        if sample_weights is not None:
            per_example = per_example * sample_weights
        loss = ops.mean(per_example) if reduce_batch else per_example
        parts[f"style_loss/{name}"] = loss
        parts[f"weighted_style_loss/{name}"] = loss * weight
        total = total + loss * weight
    return total, parts


def total_variation_loss(images, weight=1.0):
    """Magenta's total variation: squared neighbour differences.

    Args:
        images: `[B, H, W, C]` float.
        weight: float multiplier.

    Returns:
        (weight * tv, {"total_variation_loss": tv,
        "weighted_total_variation_loss": weight * tv}) where
        tv = (sum(dy^2)/2 / (H-1)WC + sum(dx^2)/2 / H(W-1)C) / B.
    """
    shape = ops.shape(images)
    b, h, w, c = shape[0], shape[1], shape[2], shape[3]
    dtype = images.dtype
    dy = images[:, 1:, :, :] - images[:, :-1, :, :]
    dx = images[:, :, 1:, :] - images[:, :, :-1, :]
    y_loss = ops.sum(ops.square(dy)) / 2.0 / ops.cast((h - 1) * w * c, dtype)
    x_loss = ops.sum(ops.square(dx)) / 2.0 / ops.cast(h * (w - 1) * c, dtype)
    tv = (y_loss + x_loss) / ops.cast(b, dtype)
    return tv * weight, {
        "total_variation_loss": tv,
        "weighted_total_variation_loss": tv * weight,
    }


def total_loss(pastiche_images, pastiche_features, content_features,
               style_grams, loss_config, style_coefficients=None, reduce_batch=True):
    """Content + style (+ total variation) for a batch of pastiches.

    The one place the terms are added up: the training objective
    (`losses.objective.compute_losses`) and its held-out evaluation call it.

    Args:
        pastiche_images: `[B, H, W, 3]` in [0, 1] (only for total variation).
        pastiche_features, content_features: feature dicts.
        style_grams: {layer: `[B or 1, C, C]`}.
        loss_config: `config.LossConfig` (weights per layer, TV weight).
        style_coefficients: optional `[B]` per-example style multipliers.
        reduce_batch: if False, the total and every part are `[B]` vectors
            (total variation, a batch mean, is repeated per example).

    Returns:
        (total, parts) with every content/style/TV part and `total_loss`:
        scalars, or `[B]` vectors when not `reduce_batch`.
    """
    c_total, parts = content_loss(content_features, pastiche_features,
                                  loss_config.content_weights, reduce_batch=reduce_batch)
    s_total, s_parts = style_loss(style_grams, pastiche_features,
                                  loss_config.style_weights,
                                  sample_weights=style_coefficients, reduce_batch=reduce_batch)
    parts.update(s_parts)
    total = c_total + s_total
    if loss_config.total_variation_weight:
        tv_total, tv_parts = total_variation_loss(
            ops.cast(pastiche_images, "float32"), loss_config.total_variation_weight)
        if not reduce_batch:
            ones = ops.ones_like(total)
            tv_parts = {k: v * ones for k, v in tv_parts.items()}
        parts.update(tv_parts)
        total = total + tv_total
    parts["total_content_loss"] = c_total
    parts["total_style_loss"] = s_total
    parts["total_loss"] = total
    return total, parts
