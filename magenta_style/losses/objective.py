"""The training objective: Magenta's losses on a batch where each example has its own style.

Written with `keras.ops`, so the TensorFlow and JAX training steps and the
held-out evaluation compute the same numbers.
"""

from keras import ops

from magenta_style.losses import loss_terms


def compute_losses(model_fn, pastiche_net_fn, content_net_fn, images, labels,
                   num_styles, label_offset, gram_table, coefficients,
                   loss_config):
    """Per-example losses of a batch where each example has its own style.

    Args:
        model_fn: `([images, style_weights], training=True) -> pastiches`
            (the transformer, or its stateless call under JAX).
        pastiche_net_fn, content_net_fn: `[B, H, W, 3] -> {layer: features}`
            (VGG with every loss layer, resp. only the content layers).
        images: `[B, H, W, 3]` float in [0, 1].
        labels: `[B]` int, rows of the transformer's CIN tables.
        num_styles: rows of the CIN tables.
        label_offset: `labels - label_offset` indexes `gram_table`.
        gram_table: {layer: `[num_new, C, C]` float32}.
        coefficients: `[num_new]` float32 style coefficients.
        loss_config: `config.LossConfig`.

    Returns:
        (scalar mean loss, {part name: `[B]` float32}) with Magenta's part
        names plus `total_loss`.
    """
    images = ops.convert_to_tensor(images)
    labels = ops.convert_to_tensor(labels)
    weights = ops.one_hot(labels, num_styles)
    # training=True: the transformer keeps the direct (deterministic)
    # convolutions for the layers it runs by Winograd at inference.
    pastiche = model_fn([images, weights], training=True)

    def f32(feats):  # Losses in float32 under mixed precision.
        return {k: ops.cast(v, "float32") for k, v in feats.items()}

    pastiche_features = f32(pastiche_net_fn(pastiche))
    content = f32(content_net_fn(images))
    rows = labels - label_offset
    grams = {k: ops.take(v, rows, axis=0) for k, v in gram_table.items()}
    coeffs = ops.take(coefficients, rows, axis=0)
    per_example, parts = loss_terms.total_loss(
        pastiche, pastiche_features, content, grams, loss_config,
        style_coefficients=coeffs, reduce_batch=False)
    return ops.mean(per_example), parts


# --------------------------------------------------------------------------
# Set-up shared by the backends.




def compute_arbitrary_losses(model_fn, pastiche_net_fn, content_net_fn, images,
                             style_images, loss_config):
    """Per-example losses of arbitrary-style training.

    Magenta's `arbitrary_image_stylization_losses.total_loss`.

    Every example has its own painting: the style target is the Gram matrix
    of that painting's VGG features, measured in the step (Magenta's
    arbitrary training has no precomputed style set).

    Args:
        model_fn: `([images, style_images], training=True) -> pastiches`
            (predictor + transformer, or their stateless call under JAX).
        pastiche_net_fn: `[B, H, W, 3] -> {layer: features}` with every loss
            layer; also run on the paintings.
        content_net_fn: `[B, H, W, 3] -> {layer: features}`, content layers.
        images: `[B, H, W, 3]` float in [0, 1].
        style_images: `[B, h, w, 3]` float in [0, 1] (any h, w).
        loss_config: `config.LossConfig`.

    Returns:
        (scalar mean loss, {part name: `[B]` float32}), part names as
        `compute_losses`. Magenta averages each term over the batch as a
        whole; the mean of per-example terms is the same number.
    """
    images = ops.convert_to_tensor(images)
    style_images = ops.convert_to_tensor(style_images)
    pastiche = model_fn([images, style_images], training=True)

    def f32(feats):
        return {k: ops.cast(v, "float32") for k, v in feats.items()}

    pastiche_features = f32(pastiche_net_fn(pastiche))
    content = f32(content_net_fn(images))
    style_features = f32(pastiche_net_fn(style_images))
    grams = {k: loss_terms.gram_matrix(style_features[k]) for k in loss_config.style_weights}
    per_example, parts = loss_terms.total_loss(
        pastiche, pastiche_features, content, grams, loss_config, reduce_batch=False)
    return ops.mean(per_example), parts
