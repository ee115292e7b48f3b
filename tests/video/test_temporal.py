"""video.temporal: EMA-shared instance-norm statistics and flow-guided blending."""

import numpy as np
import pytest

from magenta_style.errors import UserError
from magenta_style.model import transformer
from magenta_style.stylization import runner
from magenta_style.video import temporal
from tests.conftest import styled_model


@pytest.fixture(scope="module")
def model():
    return styled_model(2, 3)


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(1)
    base = rng.random((22, 30, 3)).astype(np.float32)
    # Consecutive frames: the same scene, brighter and noisier over time.
    return np.stack([np.clip(base * (1 + 0.1 * t) + rng.normal(0, 0.05, base.shape), 0, 1)
                     for t in range(5)]).astype(np.float32)


def weights(n, num_styles=2):
    w = np.zeros((n, num_styles), np.float32)
    w[:, 1] = 1
    return w


def test_parse_temporal():
    assert temporal.parse_temporal("none") == (False, False)
    assert temporal.parse_temporal("EMA") == (True, False)
    assert temporal.parse_temporal("flow") == (False, True)
    assert temporal.parse_temporal("flow+ema") == (True, True)
    with pytest.raises(UserError, match="Received: temporal='blur'"):
        temporal.parse_temporal("blur")


def test_smooth_is_the_ema_recurrence():
    from keras import ops

    rng = np.random.default_rng(0)
    stats = rng.random((4, 1, 1, 3)).astype(np.float32)
    state = rng.random((1, 1, 1, 3)).astype(np.float32)
    for has_state in (0.0, 1.0):
        got = np.asarray(temporal._smooth(stats, state, np.float32(has_state), 0.7, ops))
        running = state[0] if has_state else stats[0]
        for t in range(4):
            running = 0.7 * running + 0.3 * stats[t]
            np.testing.assert_allclose(got[t], running, rtol=1e-5)


def test_ema_network_with_momentum_zero_is_the_model(model, frames):
    ema = temporal.EmaNetwork(model, momentum=0.0)
    expected = np.asarray(runner.runner(model)(frames, weights(5)))
    np.testing.assert_allclose(ema(frames, weights(5)), expected, atol=1e-5)


def test_ema_network_is_causal_and_independent_of_batching(model, frames):
    ema = temporal.EmaNetwork(model, momentum=0.8)
    whole = ema(frames, weights(5))
    ema.reset()
    pieces = np.concatenate([ema(frames[:2], weights(2)), ema(frames[2:3], weights(1)),
                             ema(frames[3:], weights(2))])
    np.testing.assert_allclose(whole, pieces, atol=1e-5)
    per_frame = np.asarray(runner.runner(model)(frames, weights(5)))
    np.testing.assert_allclose(whole[0], per_frame[0], atol=1e-5)  # no past yet
    assert np.abs(whole[1:] - per_frame[1:]).max() > 1e-3  # the past counts after
    assert len(ema._channels) == len(transformer.instance_norms(model))  # every norm


def test_ema_network_rejects_bad_momentum(model):
    with pytest.raises(UserError, match="momentum must be in"):
        temporal.EmaNetwork(model, momentum=1.0)


def test_visible_mask_keeps_consistent_motion_and_drops_the_rest():
    h, w = 12, 16
    backward = np.zeros((h, w, 2), np.float32)
    backward[..., 0] = 3.0  # current pixel x was at x + 3 before
    forward = -backward
    mask = temporal.visible_mask(backward, forward)
    assert mask[:, :w - 3].min() == 1 and mask[:, w - 3:].max() == 0  # came from outside
    inconsistent = temporal.visible_mask(backward, forward + 4.0)
    assert inconsistent.max() == 0


def test_flow_blender_follows_motion_and_damps_change():
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(0)
    scene = cv2.GaussianBlur((rng.random((40, 80, 3)) * 255).astype(np.uint8), (0, 0), 2)
    scene = np.clip((scene.astype(np.float32) - 128) * 4 + 128, 0, 255).astype(np.uint8)
    blender = temporal.FlowBlender(weight=0.5)
    first = rng.random((40, 64, 3)).astype(np.float32)
    assert np.array_equal(blender(scene[:, :64], first), first)  # nothing to blend yet
    # The scene pans 2 px; the "pastiche" of the new frame is the old one
    # moved along plus fresh noise: the blend must move the old one along too.
    moved = np.roll(first, -2, axis=1)
    noise = rng.normal(0, 0.2, first.shape).astype(np.float32)
    out = blender(scene[:, 2:66], moved + noise)
    inner = (slice(6, -6), slice(6, -8))
    expected = moved + 0.5 * noise
    assert np.abs(out - expected)[inner].mean() < 0.25 * np.abs(noise)[inner].mean()
    with pytest.raises(UserError, match="flow_weight"):
        temporal.FlowBlender(weight=1.5)
