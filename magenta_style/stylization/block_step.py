"""The network block by block: one walk, one per-block step, and where gamma/beta come from.

The compiled runner (`stylization.runner.runner`) calls the Keras model whole,
and each instance norm then measures its own image's statistics. Everything
that conditions the norms in another way walks the blocks here: styles in
regions (gamma/beta per pixel), tiling (whole-image statistics gathered tile
by tile) and video (statistics smoothed over time). They differ only in the
*source* a block's norm reads, Magenta's `normalizer_fn` idea (`forward` walks it
too, to run the convolutions in reduced precision: `stylization.precision`):

- `Rows`: one conditioning row per image (style weights, or an arbitrary
  transformer's style vector) through the block's own table: the network
  as it is;
- `Pixels`: per-pixel shares of K rows (styles in regions), optionally with
  each row's own statistics mixed like gamma and beta;
- `Recorded`: any source, keeping the statistics it was given (the
  per-style statistics `Pixels` reads);
- `video.temporal.Smoothed`: statistics averaged over frames.

A source's `for_block(block, mean, variance)` receives the block output's
statistics (`[B, 1, 1, C]`) and returns `params(r0=0, r1=None) -> (gamma,
beta, mean, variance)` for output rows `r0:r1` (all rows by default; tiling
normalises a map in row chunks). gamma/beta are `[B, C]` or `[B, h, W, C]`.
"""

from keras import ops


def walk(blocks, x, run, add=None):
    """Applies the network's blocks to `x` in order, as `transformer._graph` builds them.

    Args:
        blocks: `model.blocks` (a `transformer.Blocks`).
        x: the padded input image (a tensor or array; `run` decides).
        run: `run(block, x) -> y`, one `ConvBlock` applied to `x`.
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


def forward(model, images, rows, conv_dtype="bfloat16"):
    """The whole network with its convolutions in `conv_dtype` (reduced precision).

    Each block's input is cast to `conv_dtype` and convolved with the kernel
    in `conv_dtype` (`PaddedConv2D` casts its kernel to its input's dtype;
    oneDNN and XLA accumulate bfloat16 products in float32); its output is
    cast back to float32 before the instance norm (statistics, the
    conditional gamma/beta and the scale and shift), the activation, the
    residual add and the final sigmoid, all float32. So only the products
    are rounded (8 bits of mantissa), never the normalisation.

    Args:
        model: a `PasticheNetwork` or an `ArbitraryTransformer`.
        images: `[B, H, W, 3]` float32 in [0, 1].
        rows: `[B, D]` float32 conditioning rows (as the runner's second input).
        conv_dtype: "bfloat16" (or "float16" where a backend has fast kernels).

    Returns:
        `[B, H, W, 3]` float32 in [0, 1].
    """
    images = ops.cast(images, "float32")
    x = model.get_layer("pad_to_multiple")(images)

    def run(block, x):
        y = ops.cast(block.conv(ops.cast(x, conv_dtype)), "float32")
        if block.norm is not None:
            gamma, beta = block.table(rows)
            y = block.norm([y, gamma, beta])  # the fused kernel where it applies
        return y if block.activation is None else block.activation(y)

    out = walk(model.blocks, x, run)
    return model.get_layer("crop_to_input")([out, images])


def step(block, x, source):
    """One block on whole maps: convolution, norm fed by `source`, activation.

    Args:
        block: a `transformer.ConvBlock`.
        x: `[B, H, W, Cin]` float32 (padded input or the previous block's output).
        source: a gamma/beta source (`Rows`, `Pixels`, ...).

    Returns:
        `[B, H', W', C]` float32. A block without a norm (the arbitrary
        transformer's contract blocks: batch norm folded into a bias) runs
        as it is.
    """
    y = block.conv(x)
    if block.norm is None:
        return y if block.activation is None else block.activation(y)
    mean, variance = ops.moments(y, axes=[1, 2], keepdims=True)
    gamma, beta, mean, variance = source.for_block(block, mean, variance)()
    return normalize_block(block, y, gamma, beta, mean, variance)


def normalize_block(block, y, gamma, beta, mean, variance):
    """The block's instance norm of `y` with given statistics, then its activation.

    Args:
        block: a `transformer.ConvBlock`.
        y: `[B, H, W, C]` the block's convolution output.
        gamma, beta: `[B, C]`, or `[B, H, W, C]` maps (styles in regions).
        mean, variance: `[B, 1, 1, C]`, or maps broadcastable to `y`.

    Returns:
        `[B, H, W, C]`, as the model's own block computes it when `mean` and
        `variance` are `y`'s own.
    """
    y = block.norm.normalize(y, gamma, beta, mean, variance)
    return y if block.activation is None else block.activation(y)


def norm_blocks(blocks):
    """Every `ConvBlock` that has a norm, in the order `walk` runs them."""
    order = []

    def run(block, x):
        if block.norm is not None:
            order.append(block)
        return x

    walk(blocks, None, run, add=lambda a, b: a)
    return order


def output_scales(blocks):
    """`{block name: how many input pixels per output pixel}` (1, 2 or 4)."""
    scales = {}

    def run(block, scale):
        scales[block.name] = scale * int(block.conv.strides[0]) // block.upsample
        return scales[block.name]

    walk(blocks, 1, run, add=lambda x, h: x)
    return scales


class Rows:
    """One conditioning row per image: the network's own conditional norm.

    Args:
        rows: `[B, D]` float32, style weights (`D = num_styles`) or style
            vectors of an `ArbitraryTransformer` (`D = style_dim`).
    """

    def __init__(self, rows):
        self.rows = rows

    def for_block(self, block, mean, variance):
        gamma, beta = block.table(self.rows)
        return lambda r0=0, r1=None: (gamma, beta, mean, variance)


class Recorded:
    """`source`, keeping each block's statistics: `statistics[name] = (mean, variance)`."""

    def __init__(self, source):
        self.source = source
        self.statistics = {}

    def for_block(self, block, mean, variance):
        self.statistics[block.name] = (mean, variance)
        return self.source.for_block(block, mean, variance)


class Pixels:
    """A conditioning row per pixel: shares of K rows (styles in regions).

    Every normalised layer uses `gamma(x, y) = sum_k s_k(x, y) gamma_k` (beta
    likewise), the shares brought to the layer's resolution by averaging
    over 2x2 / 4x4 blocks (exact area resampling there).

    Args:
        blocks: the network's `Blocks` (for each block's resolution).
        shares: `[B, Hp, Wp, K]` float32 per-pixel shares of the PADDED image.
        rows: `[K, D]` float32 conditioning rows.
        statistics: None to normalise with each block's own statistics of
            the mixed map ("shared"); or `{block name: (mean, variance)}`,
            each `[K, B, C]`: every row's own single-row statistics, mixed
            per pixel like gamma and beta ("per_style").
    """

    def __init__(self, blocks, shares, rows, statistics=None):
        self.scales = output_scales(blocks)
        self.levels = {1: shares}
        self.rows = rows
        self.statistics = statistics

    def level(self, scale):
        """The shares averaged over `scale` x `scale` blocks: `[B, Hp/scale, Wp/scale, K]`."""
        if scale not in self.levels:
            self.levels[scale] = ops.average_pool(self.levels[1], scale, scale, padding="valid")
        return self.levels[scale]

    def for_block(self, block, mean, variance):
        share = self.level(self.scales[block.name])
        gamma, beta = block.table(self.rows)  # [K, C] each
        per_row = None if self.statistics is None else self.statistics[block.name]

        def params(r0=0, r1=None):
            part = share if (r0, r1) == (0, None) else share[:, r0:r1]
            if per_row is None:
                m, v = mean, variance
            else:
                m, v = (ops.einsum("bhwk,kbc->bhwc", part, t) for t in per_row)
            return ops.matmul(part, gamma), ops.matmul(part, beta), m, v

        return params
