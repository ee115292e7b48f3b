"""Large images in bounded memory, with the whole image's normalisation.

Instance normalisation is what makes naive tiling fail: each tile would be
normalised with its own mean and variance, so neighbouring tiles get
different colours and contrast and the seams show. Blending overlaps only
hides that. We avoid it exactly instead: the network runs **layer by layer**
over the whole image, and each convolution is computed tile by tile, every
tile reading a halo of `kernel_size // 2` real neighbouring pixels (mirror
padding only at the image border, as the untiled network does). The
pre-normalisation output of each layer is kept for the whole image (in RAM,
at most two layer maps at a time), its per-channel mean and variance are
accumulated across tiles (Chan's parallel formula, float64), and the whole
map is then normalised with `InstanceNormalization.normalize` using those
statistics (`block_step.normalize_block`). The result equals the untiled
network's output up to float rounding (tests/stylization/test_tiling.py), and because every tile's
output is exact there is no seam to blend.

Where each layer's gamma/beta come from is a `block_step` source (`Rows`:
one conditioning row; `Pixels`: a style per pixel, with per-style
statistics if asked), and the order of the blocks is `block_step.walk`,
which the masked whole-image pass (`regions.forward`) and video share.

Memory: the largest map is the first layer's (`H * W * 32 * 4` bytes at
alpha=1, about 3 GB for a 6000x4000 photo) plus one tile's convolution.
Compute: about one forward pass (halos add a few percent).
"""

import numpy as np

from magenta_style.model import fast_conv
from magenta_style.model import transformer as transformer_lib
from magenta_style.stylization import block_step

# Work per tile, in pixels x channels: a 1024 x 1024 tile at 32 channels.
_DEFAULT_TILE_ELEMENTS = 1024 * 1024 * 32
# Rows normalised per call (bounds the temporaries of `normalize`).
_NORM_CHUNK_ELEMENTS = 1 << 24


def _upsampled_rows(x, lo, hi, axis):
    """Rows [lo, hi) of `x` upsampled x2 (nearest) along `axis`, no padding."""
    index = [slice(None)] * x.ndim
    index[axis] = slice(lo // 2, (hi - 1) // 2 + 1)
    part = np.repeat(x[tuple(index)], 2, axis=axis)
    index[axis] = slice(lo - 2 * (lo // 2), lo - 2 * (lo // 2) + hi - lo)
    return part[tuple(index)]


def _window(x, rows, cols, kernel, stride, pad, upsample):
    """The input patch a VALID conv needs for output rows/cols, and its padding.

    `x` is `[H, W, C]` (before the optional x2 upsampling); output row `i`
    reads padded input rows `[i * stride, i * stride + kernel)`, i.e.
    unpadded rows from `i * stride - pad`.

    Returns:
        `(patch, widths)`: the in-image part of the window (upsampled when
        `upsample` > 1) and `[(top, bottom), (left, right)]`, the mirror
        padding (TF REFLECT) that completes it at the image border, exactly
        as the untiled network pads the whole map.
    """
    patch, widths = x, []
    for axis, (a, b) in ((0, rows), (1, cols)):
        lo = a * stride - pad
        hi = (b - 1) * stride - pad + kernel
        size = patch.shape[axis] * upsample
        inner_lo, inner_hi = max(lo, 0), min(hi, size)
        if upsample > 1:
            patch = _upsampled_rows(patch, inner_lo, inner_hi, axis)
        else:
            index = [slice(None)] * patch.ndim
            index[axis] = slice(inner_lo, inner_hi)
            patch = patch[tuple(index)]
        widths.append((inner_lo - lo, hi - inner_hi))
    return patch, widths


def _input_window(x, rows, cols, kernel, stride, pad, upsample):
    """`_window`, mirror-padded with numpy (the reference for tests)."""
    patch, widths = _window(x, rows, cols, kernel, stride, pad, upsample)
    return np.pad(patch, widths + [(0, 0)], mode="reflect")


class _Moments:
    """Per-channel mean/variance merged across tiles (Chan et al., float64)."""

    def __init__(self, channels):
        self.count = 0
        self.mean = np.zeros(channels, np.float64)
        self.m2 = np.zeros(channels, np.float64)

    def add(self, n, mean, variance):
        """Merges a tile of `n` pixels with per-channel `mean`, `variance`."""
        mean = np.asarray(mean, np.float64)
        m2 = np.asarray(variance, np.float64) * n
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * (n / total)
        self.m2 += m2 + delta ** 2 * (self.count * n / total)
        self.count = total

    def result(self):
        return self.mean, self.m2 / max(self.count, 1)


def _tile_side(channels, tile_elements):
    return max(16, int((tile_elements / max(channels, 1)) ** 0.5))


def _conv_block(block, x, source, tile_elements):
    """Pad-conv-norm-activation of one `transformer.ConvBlock` over the whole map `x` in tiles.

    Args:
        block: the block (`model.blocks`).
        x: `[H, W, Cin]` float32 map (numpy).
        source: where gamma/beta come from (a `block_step` source: `Rows`,
            `Pixels`, ...), given the whole map's statistics.

    Returns:
        `[H', W', Cout]` float32 normalised and activated map.
    """
    import tensorflow as tf

    conv, norm, upsample = block.conv, block.norm, block.upsample
    # The arbitrary transformer's contract blocks have no norm (batch norm
    # folded into a bias): tiles are then finished as they are computed.
    bias = tf.convert_to_tensor(conv.bias) if conv.use_bias else None
    activation = block.activation
    kernel = tf.convert_to_tensor(conv.kernel)
    k = int(kernel.shape[0])
    pad = k // 2
    stride = int(conv.strides[0])
    height, width = x.shape[0] * upsample, x.shape[1] * upsample
    out_h = (height + 2 * pad - k) // stride + 1
    out_w = (width + 2 * pad - k) // stride + 1
    channels = int(kernel.shape[-1])
    out = np.empty((out_h, out_w, channels), np.float32)
    moments = _Moments(channels)
    side = _tile_side(max(channels, x.shape[-1]) * stride * stride, tile_elements)
    for r0 in range(0, out_h, side):
        r1 = min(out_h, r0 + side)
        for c0 in range(0, out_w, side):
            c1 = min(out_w, c0 + side)
            patch, widths = _window(x, (r0, r1), (c0, c1), k, stride, pad, upsample)
            t = tf.constant(patch[None])
            if any(any(w) for w in widths):
                t = tf.pad(t, [(0, 0), *widths, (0, 0)], mode="REFLECT")
            y = fast_conv.conv2d_valid(t, kernel, stride, inference=True)
            if bias is not None:
                y = y + bias
            if norm is None:
                out[r0:r1, c0:c1] = (activation(y) if activation is not None else y)[0].numpy()
                continue
            tile_mean, tile_var = tf.nn.moments(y, axes=[0, 1, 2])
            moments.add((r1 - r0) * (c1 - c0), tile_mean.numpy(), tile_var.numpy())
            out[r0:r1, c0:c1] = y[0].numpy()
    if norm is None:
        return out
    mean, variance = moments.result()
    mean = tf.constant(mean.reshape(1, 1, 1, -1), tf.float32)
    variance = tf.constant(variance.reshape(1, 1, 1, -1), tf.float32)
    params = source.for_block(block, mean, variance)
    rows = max(1, _NORM_CHUNK_ELEMENTS // max(1, out_w * channels))
    for r0 in range(0, out_h, rows):
        gamma, beta, m, v = params(r0, min(out_h, r0 + rows))
        chunk = block_step.normalize_block(block, tf.constant(out[None, r0:r0 + rows]),
                                           gamma, beta, m, v)
        out[r0:r0 + rows] = chunk[0].numpy()
    return out


def pad_to_multiple(array):
    """`[H, W, ...]` mirror-padded bottom/right to multiples of 4, as `PadToMultiple`."""
    m = transformer_lib.SIZE_MULTIPLE
    h, w = array.shape[:2]
    widths = [[0, (m - h % m) % m], [0, (m - w % m) % m]] + [[0, 0]] * (array.ndim - 2)
    return np.pad(array, widths, mode="reflect")


def stylize_tiled(model, image, style_weights=None, tile_size=1024, source=None):
    """The pastiche of one image, computed in tiles with whole-image statistics.

    Args:
        model: a transformer from `build_transformer` / `load_model`, or an
            `ArbitraryTransformer` (same `blocks`).
        image: `[H, W, 3]` float32 in [0, 1], H, W >= 5.
        style_weights: `[num_styles]` float32 (one row of style weights), or
            the `[style_dim]` style vector of an `ArbitraryTransformer`;
            ignored when `source` is given.
        tile_size: int >= 16; tiles hold about `tile_size**2 * 32` values
            (so 128-channel layers use tiles half as wide).
        source: optional `block_step` source for the padded image
            (`Pixels`: a style per pixel); default `Rows` of `style_weights`.

    Returns:
        `[H, W, 3]` float32 in [0, 1], equal to `model([image, w])[0]` up to
        float rounding, in memory bounded by a few full-size layer maps.
    """
    import tensorflow as tf

    image = np.asarray(image, np.float32)
    h, w = image.shape[:2]
    if source is None:
        source = block_step.Rows(tf.constant(np.asarray(style_weights, np.float32).reshape(1, -1)))
    tile_elements = max(16, int(tile_size)) ** 2 * 32
    # PadToMultiple: mirror bottom/right up to a multiple of 4 (as the model).
    x = pad_to_multiple(image)

    def run(block, x):
        return _conv_block(block, x, source, tile_elements)

    def add_in_place(x, h):  # the residual add, into the fresh map
        h += x
        return h

    x = block_step.walk(model.blocks, x, run, add_in_place)
    return x[:h, :w]
