"""video.flicker: zero for outputs that move with the scene, positive otherwise."""

import numpy as np
import pytest

from magenta_style.video import flicker


def test_pan_flicker_is_zero_for_a_pure_pan_and_grows_with_noise():
    rng = np.random.default_rng(0)
    wide = (rng.random((30, 80, 3)) * 255).astype(np.float32)
    pan = np.stack([wide[:, 3 * t:3 * t + 50] for t in range(5)])
    assert flicker.pan_flicker(pan, 3) == 0.0
    noisy = pan + rng.normal(0, 5, pan.shape)
    assert flicker.pan_flicker(noisy, 3) == pytest.approx(5 * 2 / np.sqrt(np.pi), rel=0.1)
    assert flicker.pan_flicker(pan, 2) > 10  # wrong shift: misaligned
    assert flicker.pan_global_flicker(noisy, 3) < 0.2  # noise averages out over a frame
    brighter = pan + np.arange(5, dtype=np.float32)[:, None, None, None] * 2
    assert flicker.pan_global_flicker(brighter, 3) == pytest.approx(2, abs=1e-3)


def test_flow_flicker_matches_a_known_noise_level():
    pytest.importorskip("cv2")
    import cv2

    rng = np.random.default_rng(0)
    scene = cv2.GaussianBlur((rng.random((60, 120, 3)) * 255).astype(np.uint8), (0, 0), 3)
    scene = np.clip((scene.astype(np.float32) - 128) * 4 + 128, 0, 255).astype(np.uint8)
    inputs = np.stack([scene[:, 2 * t:2 * t + 90] for t in range(4)])
    still, floor = flicker.flow_flicker(inputs, inputs)
    assert still == pytest.approx(floor) and floor < 3
    noisy = np.clip(inputs + rng.normal(0, 8, inputs.shape), 0, 255).astype(np.uint8)
    assert flicker.flow_flicker(inputs, noisy)[0] > still + 4
