"""Flicker: how much consecutive output frames differ once the motion is removed.

Both measures are the mean absolute difference, in 0-255 grey levels per
channel, between output frame `t + 1` and output frame `t` moved by the
*input's* motion, averaged over pixels and frame pairs. A video whose
stylization moved exactly with the scene would score 0 (up to resampling).

- `pan_flicker`: for a pan of a known whole number of pixels per frame
  (`synthetic.pan_frames`): alignment is exact, no flow is estimated.
- `pan_global_flicker`: the whole-frame colour shift part of `pan_flicker`.
- `flow_flicker`: for any clip: the input's motion is estimated with
  OpenCV's Farneback flow (deliberately not DIS, which `FlowBlender` uses,
  so the method is not graded by its own flow), pixels failing the
  forward-backward test are left out (occlusions), and the input's own
  warped difference is reported beside it (the floor that resampling and
  flow error alone give).
"""

import numpy as np

from magenta_style.video import temporal


def pan_flicker(outputs, shift, margin=8):
    """Mean |out[t+1](x) - out[t](x + shift)| over a pan moving `shift` px per frame.

    Args:
        outputs: `[T, H, W, 3]` uint8 (or float in [0, 255]) output frames.
        shift: int >= 0, the pan's pixels per frame (content moves left).
        margin: pixels left out at every border (reflection padding makes
            the borders differ from the interior for any method).

    Returns:
        float, grey levels (0-255).
    """
    frames = np.asarray(outputs, np.float32)
    w = frames.shape[2]
    now = frames[1:, margin:-margin or None, margin:w - shift - margin]
    before = frames[:-1, margin:-margin or None, margin + shift:w - margin]
    return float(np.mean(np.abs(now - before)))


def pan_global_flicker(outputs, shift, margin=8):
    """The part of `pan_flicker` that is one colour shift of the whole frame.

    Mean over frame pairs and channels of |mean colour of out[t+1] - mean
    colour of out[t]| over the same aligned region: what per-frame
    instance-norm statistics cause and `temporal.EmaNetwork` targets.
    Grey levels (0-255).
    """
    frames = np.asarray(outputs, np.float32)
    w = frames.shape[2]
    now = frames[1:, margin:-margin or None, margin:w - shift - margin].mean((1, 2))
    before = frames[:-1, margin:-margin or None, margin + shift:w - margin].mean((1, 2))
    return float(np.mean(np.abs(now - before)))


def _farneback(a, b):
    import cv2

    return cv2.calcOpticalFlowFarneback(a, b, None, pyr_scale=0.5, levels=4, winsize=15,
                                        iterations=3, poly_n=5, poly_sigma=1.1, flags=0)


def flow_flicker(inputs, outputs, margin=8):
    """Flicker of `outputs` aligned by the flow of `inputs` (occlusions left out).

    Args:
        inputs: uint8 `[T, H, W, 3]`, the input frames.
        outputs: `[T, H, W, 3]` uint8 output frames.
        margin: border pixels left out.

    Returns:
        `(flicker, input_floor)`: floats in grey levels; `input_floor` is the
        same measure on the inputs themselves.
    """
    inputs = np.asarray(inputs, np.uint8)
    outputs = np.asarray(outputs, np.float32)
    sl = (slice(margin, -margin or None), slice(margin, -margin or None))
    errors, floors = [], []
    for t in range(len(inputs) - 1):
        now, before = temporal.to_gray(inputs[t + 1]), temporal.to_gray(inputs[t])
        backward = _farneback(now, before)
        forward = _farneback(before, now)
        mask = temporal.visible_mask(backward, forward)[sl] > 0
        warped_out = temporal.remap(outputs[t], backward)
        warped_in = temporal.remap(inputs[t].astype(np.float32), backward)
        errors.append(np.abs(outputs[t + 1] - warped_out)[sl][mask].mean())
        floors.append(np.abs(inputs[t + 1].astype(np.float32) - warped_in)[sl][mask].mean())
    return float(np.mean(errors)), float(np.mean(floors))
