"""Exact reformulations of the transformer's slow convolutions, in `keras.ops`.

On a CPU, a convolution runs near the machine's matmul speed only when its
implicit matrix product has enough output channels; TensorFlow's (Eigen's)
and XLA's CPU convolutions drop to a fifth of that speed for the last 9x9
layer (32 -> 3 channels), and the expand layers spend most of their work on
pixels that nearest-neighbour upsampling merely copied; the 128-channel
residual convolutions run at the matmul peak but do 2.25x the multiplies
Winograd needs. Every path here computes the same numbers as the
straightforward ops (to float rounding; see tests/model/test_fast_conv.py) with
the same weights, and runs unchanged under the TensorFlow and JAX backends.

What each form saves, measured in docs/stylize.md (`python -m bench stylize`).
"""

import functools
import os

import keras
import numpy as np
from keras import ops

from magenta_style.errors import UserError

# "1": always use the forms below, "0": never (plain `ops.conv`), "auto"
# (default): only when the backend computes on the CPU. They were tuned for
# CPU convolutions; a GPU's cuDNN convolutions are faster as they are, and
# Winograd's transforms would add rounding under bfloat16/float16.
ENV_VAR = "MAGENTA_STYLE_FAST_CONV"

# Convolutions with fewer output channels than this are computed blocked,
# at inference 2 rows x 4 columns per block (9x9, 32 -> 3 on 520x520, XLA:
# 1x8 blocks 146 ms, 2x4 113 ms, 4x4 114 ms, 2x8 134 ms, plain 490 ms), in
# training 1x8 (the strided rows' gradient is slow; see conv2d_valid).
_MIN_OUTPUT_CHANNELS = 8
_OUTPUT_BLOCK = (2, 4)
_TRAINING_BLOCK = (1, 8)


@functools.lru_cache(maxsize=None)
def _backend_on_cpu(backend):
    if backend == "jax":
        import jax

        return jax.default_backend() == "cpu"
    if backend == "tensorflow":
        import tensorflow as tf

        return not tf.config.list_physical_devices("GPU")
    if backend == "torch":
        import torch

        return not torch.cuda.is_available()
    return True


def cpu_forms():
    """Whether the CPU-tuned forms of this module are used (see `ENV_VAR`).

    Read when a layer is traced, so set the variable before building or
    calling models. Every form computes the same numbers to float rounding.
    """
    value = os.environ.get(ENV_VAR, "auto").strip().lower()
    if value in ("1", "true", "on"):
        return True
    if value in ("0", "false", "off"):
        return False
    if value != "auto":
        raise UserError(f"{ENV_VAR} must be 1, 0 or auto. Received: {value!r}")
    return _backend_on_cpu(keras.backend.backend())


def conv2d_valid(x, kernel, strides=1, inference=False, winograd=None):
    """A VALID convolution (no bias), `ops.conv` or a faster exact form.

    Args:
        x: `[B, H, W, C]` float.
        kernel: `[K, K, C, O]` float.
        strides: int.
        inference: use the forms that are fastest for a forward pass alone:
            2x4 output blocks for few output channels. Off (training), 1x8
            blocks, whose gradients are the fast ones (forward and backward
            of the 9x9 32 -> 3 layer, batch 4 at 256 px: 474 ms with 1x8
            blocks, 1021 ms with 2x4, 1135 ms direct). The RGB input layer
            (3 -> 32, 9x9) is the direct convolution either way: column
            blocks were 3-5% slower through the graph executor here
            (docs/stylize.md, Speed).
        winograd: use Winograd's F(2x2, 3x3) for stride-1 3x3 convolutions
            with at least 128x128 channel pairs. Default: `inference`. Its
            gradients are exact but their rounding is only reproducible
            under XLA: TensorFlow's graph executor sums the gradient's parts
            in a run-dependent order (measured: bit differences in dx and
            dkernel between calls), and Adam turns those last-bit
            differences into lr-sized steps of weights whose true gradient
            is zero, so a resumed run no longer matched the uninterrupted
            one. Training turns it on for XLA-compiled steps only.

    Returns:
        `[B, (H - K) // s + 1, (W - K) // s + 1, O]`, the cross-correlation of
        `x` with `kernel` (TensorFlow's `conv2d` convention).
    """
    if not cpu_forms():
        return ops.conv(x, kernel, strides=strides, padding="valid")
    k, channels, out_channels = kernel.shape[0], kernel.shape[2], kernel.shape[3]
    winograd = inference if winograd is None else winograd
    if strides == 1 and k > 1 and out_channels < _MIN_OUTPUT_CHANNELS:
        return _blocked_conv(x, kernel, *(_OUTPUT_BLOCK if inference else _TRAINING_BLOCK))
    if winograd and strides == 1 and k == 3 and channels * out_channels >= _MIN_WINOGRAD_WORK:
        return _winograd_3x3(x, kernel)
    return ops.conv(x, kernel, strides=strides, padding="valid")


# Winograd F(2x2, 3x3) (Lavin & Gray 2015): 16 instead of 36 multiplies per
# 2x2 output tile. Input transform B^T d B, kernel transform G g G^T,
# output transform A^T m A.
_WINOGRAD_BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], "float32")
_WINOGRAD_G = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]], "float32")
_WINOGRAD_AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], "float32")
# Below this many channel pairs the transforms cost more than they save.
# Measured under XLA, forward / forward + input gradient, ms: 64 -> 64 at
# 256x256: 89 / 192 (direct 74 / 149); 64 -> 128 at 128x128, batch 4:
# 138 / 289 (134 / 300); 128 -> 128 at 128x128: 50 / 114 (74 / 131);
# 512 -> 512 at 32x32, batch 4: 152 / 290 (233 / 525).
_MIN_WINOGRAD_WORK = 128 * 128


def _signed_sum(terms):
    """Sum of `coefficient * tensor` for coefficients in {-1, 1} (others skipped)."""
    total = None
    for coefficient, tensor in terms:
        if coefficient == 0:
            continue
        if total is None:
            total = tensor if coefficient > 0 else -tensor
        else:
            total = total + tensor if coefficient > 0 else total - tensor
    return total


def _winograd_3x3(x, kernel):
    """Stride-1 VALID 3x3 convolution by Winograd's F(2x2, 3x3).

    The tiles (4x4 inputs, 2x2 outputs, stride 2) are read from a free
    reshape of `x` into pairs of rows and columns, and each of the 16
    transformed components goes straight into its own matrix product: XLA's
    CPU backend turns a stacked `[16, N, C]` operand into a slow
    concatenation. All transform coefficients are 0 or +-1 (+-1/2 only in
    the kernel transform), so rounding stays at the level of the direct
    convolution (relative error ~5e-7).
    """
    channels, out_channels = kernel.shape[2], kernel.shape[3]
    shape = ops.shape(x)
    batch, height, width = shape[0], shape[1] - 2, shape[2] - 2
    tiles_h, tiles_w = (height + 1) // 2, (width + 1) // 2
    x = ops.pad(x, [[0, 0], [0, 2 * tiles_h + 2 - shape[1]],
                    [0, 2 * tiles_w + 2 - shape[2]], [0, 0]])
    # Rows and columns in pairs; a column's parity selects half the channels.
    x = ops.reshape(x, (batch, tiles_h + 1, 2, tiles_w + 1, 2 * channels))
    g = ops.cast(_WINOGRAD_G, kernel.dtype)
    u = ops.einsum("ai,ijco,bj->abco", g, kernel, g)  # [4, 4, C, O]

    def rows_cols(r, c):  # input rows 2i + r, columns 2j + c of every tile
        return x[:, r // 2:r // 2 + tiles_h, r % 2, c // 2:c // 2 + tiles_w,
                 (c % 2) * channels:(c % 2 + 1) * channels]

    inputs = {(r, c): rows_cols(r, c) for r in range(4) for c in range(4)}
    products = {}
    for i in range(4):
        for j in range(4):
            v = _signed_sum([(_WINOGRAD_BT[i, r] * _WINOGRAD_BT[j, c], inputs[r, c])
                             for r in range(4) for c in range(4)])
            products[i, j] = ops.matmul(ops.reshape(v, (-1, channels)), u[i, j])
    phases = [[ops.reshape(
        _signed_sum([(_WINOGRAD_AT[p, i] * _WINOGRAD_AT[q, j], products[i, j])
                     for i in range(4) for j in range(4)]),
        (batch, tiles_h, tiles_w, out_channels)) for q in range(2)] for p in range(2)]
    y = interleave(phases, batch, tiles_h, tiles_w, out_channels)
    return y[:, :height, :width, :]


def _blocked_conv(x, kernel, block_rows, block_cols):
    """Stride-1 VALID convolution on blocks of output rows and columns.

    Few output channels make a poor matrix product (N = 3 for the RGB layer;
    for the 3-channel first layer the patch packing dominates). We compute
    `block_rows x block_cols` output pixels per position of one wider
    convolution:
      - columns: `block_cols` neighbouring columns are folded into channels
        (space-to-depth along W, a free reshape); output block j reads input
        blocks j .. j + span - 1;
      - rows: a stride of `block_rows` with `block_rows + K - 1` kernel rows,
        output phase p using rows p .. p + K - 1 (a strided convolution
        rather than space-to-depth along H, which would need a transpose of
        the input).
    The wide kernel holds the original taps and zeros: (rows + K - 1) / K x
    span * cols / K times the multiplies, repaid by a product with
    `rows * cols * O` outputs. The phases are put back in place with slices,
    free reshapes and one concatenation (at most 5-D, for TFLite).
    """
    kh, kw, channels, out_channels = kernel.shape
    shape = ops.shape(x)
    batch, height, width = shape[0], shape[1], shape[2]
    out_height, out_width = height - kh + 1, width - kw + 1
    row_blocks = (out_height + block_rows - 1) // block_rows
    col_blocks = (out_width + block_cols - 1) // block_cols
    span = -(-(block_cols + kw - 1) // block_cols)  # input column blocks one block reads
    rows = row_blocks * block_rows + kh - 1
    cols = (col_blocks + span - 1) * block_cols
    x = ops.pad(x, [[0, 0], [0, rows - height], [0, cols - width], [0, 0]])
    x = ops.reshape(x, (batch, rows, col_blocks + span - 1, block_cols * channels))
    # wide[t, s, (r, c), (p, q, o)] = kernel[t - p, s * block_cols + r - q, c, o]
    # (zero where a tap index falls outside the kernel).
    t, p, i = np.ix_(np.arange(block_rows + kh - 1), np.arange(block_rows), np.arange(kh))
    select_rows = (t - p == i).astype("float32")
    s, r, q, j = np.ix_(np.arange(span), np.arange(block_cols), np.arange(block_cols),
                        np.arange(kw))
    select_cols = (s * block_cols + r - q == j).astype("float32")
    dtype = kernel.dtype
    wide = ops.einsum("tpi,srqj,ijco->tsrcpqo", ops.cast(select_rows, dtype),
                      ops.cast(select_cols, dtype), kernel)
    wide = ops.reshape(wide, (block_rows + kh - 1, span, block_cols * channels,
                              block_rows * block_cols * out_channels))
    y = ops.conv(x, wide, strides=(block_rows, 1), padding="valid")
    # y: [B, row_blocks, col_blocks, (p, q, o)]; phase p is output rows p mod block_rows.
    step = block_cols * out_channels
    phases = [ops.reshape(y[..., p * step:(p + 1) * step],
                          (batch, row_blocks, col_blocks * block_cols, out_channels))
              for p in range(block_rows)]
    y = phases[0] if block_rows == 1 else ops.concatenate(phases, axis=2)
    y = ops.reshape(y, (batch, row_blocks * block_rows, col_blocks * block_cols, out_channels))
    return y[:, :out_height, :out_width, :]


# For output row 2i + a of "nearest x2, mirror-pad 1, 3-tap filter", the three
# taps read edge-padded input rows i + a and i + a + 1 (rows of the upsampled
# image repeat): phase 0 sums taps (w0 | w1 + w2), phase 1 (w0 + w1 | w2).
_PHASE_TAPS = np.array([[[1, 0, 0], [0, 1, 1]],
                        [[1, 1, 0], [0, 0, 1]]], "float32")  # [phase, tap2, tap3]


def upsample2x_conv3x3(x, kernel):
    """Nearest x2 upsampling, REFLECT padding of 1 and a 3x3 VALID convolution.

    Magenta's expand layers (`upsampling` in its `model.py`). Computed
    without building the upsampled image: each of the four output phases is a
    2x2 convolution of the input (edge-padded by one pixel, which is what
    mirror padding of the upsampled image amounts to), all four in one
    convolution with `4 * O` channels, then interleaved. That is 16 instead
    of 36 multiply-adds per input pixel and channel pair.

    Args:
        x: `[B, H, W, C]` float, H, W >= 1.
        kernel: `[3, 3, C, O]` float.

    Returns:
        `[B, 2H, 2W, O]`.
    """
    if not cpu_forms():
        x = ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)
        x = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="reflect")
        return ops.conv(x, kernel, strides=1, padding="valid")
    channels, out_channels = kernel.shape[2], kernel.shape[3]
    shape = ops.shape(x)
    batch, height, width = shape[0], shape[1], shape[2]
    taps = ops.cast(_PHASE_TAPS, kernel.dtype)
    wide = ops.einsum("aiu,bjv,uvco->ijcabo", taps, taps, kernel)
    wide = ops.reshape(wide, (2, 2, channels, 4 * out_channels))
    edged = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="symmetric")
    y = ops.conv(edged, wide, strides=1, padding="valid")  # [B, H+1, W+1, 4*O]
    phases = [[y[:, a:a + height, b:b + width, (2 * a + b) * out_channels:
                 (2 * a + b + 1) * out_channels] for b in range(2)] for a in range(2)]
    return interleave(phases, batch, height, width, out_channels)


def interleave(phases, batch, height, width, channels):
    """`[B, 2H, 2W, O]` from `phases[a][b]` = output pixels (2i + a, 2j + b).

    Concatenations and free reshapes only (no 6-D transposes), so the graph
    also converts to TensorFlow Lite, whose kernels stop at 5-D.
    """
    rows = [ops.reshape(ops.concatenate(phases[a], axis=-1),
                        (batch, height, 2 * width, channels)) for a in range(2)]
    y = ops.concatenate(rows, axis=2)  # [B, H, 4W, O]: row 2i, then row 2i + 1
    return ops.reshape(y, (batch, 2 * height, 2 * width, channels))
