"""Running the network block by block, for code that supplies its own statistics.

The compiled runner (`runner`) calls the Keras model whole, and each
instance norm then measures its own frame's mean and variance. Three callers
need other statistics or per-pixel styles and so walk the blocks
themselves: tiling (whole-image statistics gathered tile by tile), styles
in regions (`stylization.regions`: gamma/beta per pixel) and video
(statistics averaged over time, `magenta_style.video.temporal`). All go
through `walk` (the order of the network's blocks and its residual adds)
and `normalize_block` (the block's norm with the given statistics, then its
activation), so the network's structure is written down once outside
`model.transformer`.
"""


def walk(blocks, x, run, add=None):
    """Applies the network's blocks to `x` in order, as `transformer._graph` does.

    Args:
        blocks: `model.blocks` (a `transformer.Blocks`).
        x: the padded input image (a tensor or array; `run` decides).
        run: `run(block, x) -> y`, one `ConvBlock` (convolution, norm,
            activation) applied to `x`.
        add: `add(x, h) -> x + h`, the residual add (default `x + h`; tiling
            adds in place into `h`).

    Returns:
        The output block's result (sigmoid RGB, still padded).
    """
    add = add or (lambda a, b: a + b)
    for block in blocks.contract:
        x = run(block, x)
    for conv1, conv2 in blocks.residual:
        x = add(x, run(conv2, run(conv1, x)))
    for block in blocks.expand:
        x = run(block, x)
    return run(blocks.output, x)


def normalize_block(block, y, gamma, beta, mean, variance):
    """The block's instance norm of `y` with given statistics, then its activation.

    Args:
        block: a `transformer.ConvBlock`.
        y: `[B, H, W, C]` the block's convolution output.
        gamma, beta: `[B, C]` from `block.table(style_weights)`, or
            `[B, H, W, C]` maps (styles in regions).
        mean, variance: `[B, 1, 1, C]` statistics, or maps broadcastable to `y`.

    Returns:
        `[B, H, W, C]`, as the model's own block computes it when `mean` and
        `variance` are `y`'s own.
    """
    y = block.norm.normalize(y, gamma, beta, mean, variance)
    return y if block.activation is None else block.activation(y)
