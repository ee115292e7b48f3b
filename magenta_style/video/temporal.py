"""Making consecutive stylized frames agree: shared statistics and flow blending.

A feed-forward pastiche flickers for two reasons, and each method here
answers one:

- **Instance-norm statistics** (`EmaNetwork`). Each frame is normalised with
  its own per-channel mean and variance, so content entering or leaving the
  frame, or sensor noise, shifts every pixel's colour and contrast at once.
  `EmaNetwork` runs the network block by block (`stylization.block_step`,
  as regions and tiling do, with the `Smoothed` statistics source) and
  normalises every layer of frame `t` with an exponential moving average
  over frames `0..t` of that layer's statistics:
  `mean_t = m * mean_{t-1} + (1 - m) * frame_mean_t` (the same for the
  variance), starting from the first frame's own. It is causal, so a batch
  of frames gives exactly what one frame at a time gives; within a batch the
  recurrence is one small matrix product, so frames still go through the
  network in batches.
- **Local texture** (`FlowBlender`). Small input changes move the painted
  strokes; no statistic fixes that. `FlowBlender` warps the previous
  *output* to the current frame along the input's optical flow (OpenCV's
  DIS, both directions), keeps only pixels whose forward and backward flows
  agree and whose input colour matches (occlusions and flow failures get the
  fresh pastiche), and blends: `out = (1 - a * visible) * pastiche + a *
  visible * warped_previous`. Because the previous output is already
  blended, visible pixels are an exponential average along their motion
  path. This is Ruder et al.'s (2016) occlusion test applied as a blend
  after a feed-forward network, not their optimisation.

`TEMPORAL_MODES` names the choices of `stylize_video(temporal=...)`.
"""

import functools

import numpy as np

from magenta_style.errors import UserError
from magenta_style.stylization import block_step
from magenta_style.stylization import runner as runner_lib

TEMPORAL_MODES = ("none", "ema", "flow", "ema+flow")


def parse_temporal(temporal):
    """`(use_ema, use_flow)` of a `--temporal` value (`TEMPORAL_MODES`, or `flow+ema`)."""
    text = str(temporal).strip().lower().replace(" ", "")
    if text == "flow+ema":
        text = "ema+flow"
    if text not in TEMPORAL_MODES:
        raise UserError(f"temporal must be one of {', '.join(TEMPORAL_MODES)}. "
                        f"Received: temporal={temporal!r}")
    return "ema" in text, "flow" in text


def _ema_matrix(batch, momentum, ops):
    """`[B, B]` weights of frames 0..t in mean_t, and `[B]` weight of the carried state."""
    t = ops.arange(batch)
    lag = ops.cast(t[:, None] - t[None, :], "float32")
    weights = ops.where(lag >= 0, (1.0 - momentum) * ops.power(momentum, ops.maximum(lag, 0.0)),
                        0.0)
    carry = ops.power(momentum, ops.cast(t, "float32") + 1.0)
    return weights, carry


def _smooth(stats, state, has_state, momentum, ops):
    """EMA over the batch axis of `stats` `[B, 1, 1, C]`, continuing from `state` `[1, 1, 1, C]`."""
    batch = ops.shape(stats)[0]
    weights, carry = _ema_matrix(batch, momentum, ops)
    flat = ops.reshape(stats, (batch, -1))
    start = has_state * ops.reshape(state, (1, -1)) + (1.0 - has_state) * flat[:1]
    smoothed = ops.matmul(weights, flat) + carry[:, None] * start
    return ops.reshape(smoothed, ops.shape(stats))


class Smoothed:
    """A `block_step` source whose statistics are averaged over consecutive frames.

    Wraps another source (`block_step.Rows`: the frames' conditioning rows)
    and replaces each block's per-frame statistics by their EMA over time
    (`_smooth`), continuing from the previous batch's state.

    Args:
        source: the gamma/beta source.
        means, variances: the state, one `[1, 1, 1, C]` per normalised block
            in walk order (`block_step.norm_blocks`).
        has_state: float32 scalar, 0 for a video's first batch, else 1.
        momentum: float in [0, 1).

    After a walk, `new_means` / `new_variances` hold the state after the batch.
    """

    def __init__(self, source, means, variances, has_state, momentum):
        self.source = source
        self.means, self.variances = means, variances
        self.has_state, self.momentum = has_state, momentum
        self.new_means, self.new_variances = [], []

    def for_block(self, block, mean, variance):
        from keras import ops

        i = len(self.new_means)
        mean = _smooth(mean, self.means[i], self.has_state, self.momentum, ops)
        variance = _smooth(variance, self.variances[i], self.has_state, self.momentum, ops)
        self.new_means.append(mean[-1:])
        self.new_variances.append(variance[-1:])
        return self.source.for_block(block, mean, variance)


class EmaNetwork:
    """The network on consecutive frames, instance norms sharing statistics over time.

    Call it on batches of consecutive frames, in order; `reset()` before
    another video. With `momentum=0` it equals the model (each frame's own
    statistics).

    Args:
        model: a `PasticheNetwork`, or an `ArbitraryTransformer` (then the
            rows are style vectors).
        momentum: float in [0, 1): the weight of the past in each layer's
            running mean and variance (0.9: about the last 10 frames).
        jit_compile: TensorFlow only: compile with XLA.
    """

    def __init__(self, model, momentum=0.9, jit_compile=False):
        if not 0.0 <= float(momentum) < 1.0:
            raise UserError(f"momentum must be in [0, 1). Received: momentum={momentum!r}")
        self.model = model
        self.momentum = float(momentum)
        self._channels = [b.conv.filters for b in block_step.norm_blocks(model.blocks)]
        self._fn = runner_lib.cached(
            model, ("ema", self.momentum, bool(jit_compile)),
            lambda: _compile(model, self.momentum, self._channels, jit_compile))
        self.reset()

    def reset(self):
        """Forgets the running statistics (the next frame starts a new video)."""
        self._means = [np.zeros((1, 1, 1, c), np.float32) for c in self._channels]
        self._variances = [np.zeros((1, 1, 1, c), np.float32) for c in self._channels]
        self._has_state = np.float32(0.0)

    def __call__(self, frames, rows):
        """Stylizes the next frames of the video.

        Args:
            frames: `[B, H, W, 3]` float32 in [0, 1], consecutive frames.
            rows: `[B, D]` float32 conditioning rows (style weights or vectors).

        Returns:
            `[B, H, W, 3]` float32 numpy in [0, 1].
        """
        out, means, variances = self._fn(
            np.asarray(frames, np.float32), np.asarray(rows, np.float32),
            self._means, self._variances, self._has_state)
        self._means = [np.asarray(m) for m in means]
        self._variances = [np.asarray(v) for v in variances]
        self._has_state = np.float32(1.0)
        return np.asarray(out)


def _compile(model, momentum, channels, jit_compile):
    import keras
    from keras import ops

    blocks = model.blocks
    pad = model.get_layer("pad_to_multiple")

    def forward(x, rows, means, variances, has_state):
        source = Smoothed(block_step.Rows(rows), means, variances, has_state, momentum)
        h, width = ops.shape(x)[1], ops.shape(x)[2]
        y = block_step.walk(blocks, pad(x), lambda block, t: block_step.step(block, t, source))
        return y[:, :h, :width], source.new_means, source.new_variances

    if keras.backend.backend() != "tensorflow":
        return forward  # other backends: eager keras.ops (slower, same result)
    import tensorflow as tf

    n = model.inputs[1].shape[-1]  # num_styles, or an ArbitraryTransformer's style_dim
    stat_specs = [tf.TensorSpec([1, 1, 1, c], tf.float32) for c in channels]
    return tf.function(
        forward,
        input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32),
                         tf.TensorSpec([None, n], tf.float32),
                         stat_specs, stat_specs, tf.TensorSpec([], tf.float32)],
        jit_compile=jit_compile or None, reduce_retracing=True)


# --------------------------------------------------------------------------
# Optical flow.

def _load_cv2():
    try:
        import cv2
    except ImportError:
        raise UserError("--temporal=flow needs OpenCV: pip install 'magenta_style[video]' "
                        "(or pip install opencv-python-headless)") from None
    return cv2


def to_gray(frame):
    cv2 = _load_cv2()
    return cv2.cvtColor(np.asarray(frame, np.uint8), cv2.COLOR_RGB2GRAY)


@functools.lru_cache(maxsize=4)
def _grid(h, w):
    """Pixel coordinates `(x, y)`, each float32 `[h, w]` (cached per size)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return x, y


def _sample_at(image, x, y):
    """`image` sampled at float coordinates `x`, `y` (bilinear; edges replicated)."""
    cv2 = _load_cv2()
    return cv2.remap(image, x, y, interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def remap(image, flow):
    """`image` sampled at `p + flow(p)` (bilinear; edges replicated)."""
    grid_x, grid_y = _grid(*flow.shape[:2])
    return _sample_at(image, grid_x + flow[..., 0], grid_y + flow[..., 1])


def visible_mask(backward, forward, gray=None, warped_gray=None, gray_tolerance=20):
    """Pixels of the current frame that were visible in the previous one.

    Args:
        backward: `[H, W, 2]` float32 flow current -> previous (x, y).
        forward: `[H, W, 2]` float32 flow previous -> current.
        gray, warped_gray: optional uint8 `[H, W]`, the current input's grey
            levels and the previous input's warped onto it; pixels differing
            by more than `gray_tolerance` are treated as occluded (flow
            failures the two flows agree on).

    Returns:
        `[H, W]` float32 in {0, 1}: 1 where the flows are consistent
        (`|b + f(p + b)|^2 <= 0.01 (|b|^2 + |f(p + b)|^2) + 0.5`, Sundaram
        et al. 2010 as used by Ruder et al.) and the warp stays in the frame.
    """
    h, w = backward.shape[:2]
    grid_x, grid_y = _grid(h, w)
    bx, by = backward[..., 0], backward[..., 1]
    x, y = grid_x + bx, grid_y + by
    forward_at = _sample_at(forward, x, y)
    fx, fy = forward_at[..., 0], forward_at[..., 1]
    ok = ((bx + fx) ** 2 + (by + fy) ** 2
          <= 0.01 * (bx * bx + by * by + fx * fx + fy * fy) + 0.5)
    ok &= (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    if gray is not None:
        cv2 = _load_cv2()
        ok &= cv2.absdiff(gray, warped_gray) <= gray_tolerance
    return ok.astype(np.float32)


class FlowBlender:
    """Blends each pastiche with the previous output warped along the input's motion.

    Args:
        weight: float in [0, 1): the previous output's share where visible.
        preset: OpenCV DIS preset (`"ultrafast"`, `"fast"`, `"medium"`).
        gray_tolerance: see `visible_mask`.
    """

    def __init__(self, weight=0.6, preset="fast", gray_tolerance=20):
        if not 0.0 <= float(weight) < 1.0:
            raise UserError(f"flow_weight must be in [0, 1). Received: flow_weight={weight!r}")
        cv2 = _load_cv2()
        presets = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
                   "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                   "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
        if preset not in presets:
            raise UserError(f"flow preset must be one of {sorted(presets)}. Received: {preset!r}")
        self._dis = cv2.DISOpticalFlow_create(presets[preset])
        self.weight = float(weight)
        self.gray_tolerance = gray_tolerance
        self.reset()

    def reset(self):
        """Forgets the previous frame (the next frame starts a new video)."""
        self._prev_gray = self._prev_out = None

    def motion(self, frames):
        """The input side: where each frame's pixels were in the frame before.

        Reads only input frames, so it can run while the network works on the
        same frames (`FrameStylizer` runs it in a thread; OpenCV releases the
        GIL). Call it once per frame, in order, before `blend`.

        Args:
            frames: uint8 `[B, H, W, 3]` consecutive input frames.

        Returns:
            A list of B items: None for a video's first frame, else `(x, y,
            share)`, float32 `[H, W]` sampling coordinates in the previous
            frame and the previous output's share per pixel (`weight` where
            visible, 0 where occluded).
        """
        motions = []
        for frame in frames:
            gray = to_gray(frame)
            if self._prev_gray is None or self.weight == 0:
                motions.append(None)
            else:
                backward = self._dis.calc(gray, self._prev_gray, None)
                forward = self._dis.calc(self._prev_gray, gray, None)
                grid_x, grid_y = _grid(*gray.shape)
                x, y = grid_x + backward[..., 0], grid_y + backward[..., 1]
                visible = visible_mask(backward, forward, gray,
                                       _sample_at(self._prev_gray, x, y), self.gray_tolerance)
                motions.append((x, y, self.weight * visible))
            self._prev_gray = gray
        return motions

    def blend(self, pastiches, motions):
        """The output side: each pastiche blended with the warped previous output.

        Args:
            pastiches: float32 `[B, H, W, 3]` in [0, 1], the frames' pastiches.
            motions: `motion(frames)` of the same frames.

        Returns:
            float32 `[B, H, W, 3]` in [0, 1].
        """
        out = np.array(pastiches, np.float32)
        for i, move in enumerate(motions):
            if move is not None and self._prev_out is not None:
                x, y, share = move
                out[i] += share[..., None] * (_sample_at(self._prev_out, x, y) - out[i])
            self._prev_out = out[i]
        return out

    def __call__(self, frame, pastiche):
        """`blend` of one frame: float32 `[H, W, 3]` from uint8 `frame` and its pastiche."""
        return self.blend(np.asarray(pastiche, np.float32)[None], self.motion([frame]))[0]
