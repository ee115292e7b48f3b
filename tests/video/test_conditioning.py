"""Videos take every conditioning `stylize` takes: paintings and still masks."""

import numpy as np
import pytest

import magenta_style
from magenta_style.errors import UserError
from magenta_style.stylization import runner
from magenta_style.video import api as video_api
from tests.conftest import styled_model
from tests.conftest import tiny_arbitrary_model


@pytest.fixture(scope="module")
def frames():
    return (np.random.default_rng(0).random((3, 24, 32, 3)) * 255).astype(np.uint8)


def test_frames_take_a_painting_and_match_the_runner_without_smoothing(frames):
    painter = tiny_arbitrary_model()
    v = np.linspace(-1, 1, 100, dtype=np.float32)
    # EMA with momentum 0 is each frame's own statistics: the plain network.
    stylizer = video_api.FrameStylizer(painter, style_vector=v, temporal="ema", momentum=0.0)
    got = stylizer(frames)
    want = np.asarray(runner.runner(painter.transformer)(frames / np.float32(255),
                                                         np.repeat(v[None], 3, 0)))
    assert np.abs(got.astype(int) - np.round(want * 255)).max() <= 1
    smoothed = video_api.FrameStylizer(painter, style_vector=v, temporal="ema", momentum=0.9)
    assert np.abs(smoothed(frames)[1:].astype(int) - got[1:]).mean() > 0  # EMA acts


def test_still_masks_give_every_frame_its_styles_in_regions(frames):
    model = styled_model(3, 1)
    left = np.zeros((24, 32), np.float32)
    left[:, :16] = 1
    masks = [left, 1 - left]
    stylizer = video_api.FrameStylizer(model, [0, 2], masks=masks, temporal="none")
    got = stylizer(frames)
    for frame, out in zip(frames, got):
        want = magenta_style.stylize(frame, model, [0, 2], masks=masks)
        assert np.abs(out.astype(int) - want).max() <= 1
    with pytest.raises(UserError, match="with style masks use temporal=flow"):
        video_api.FrameStylizer(model, [0, 2], masks=masks, temporal="ema")
