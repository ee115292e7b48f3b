"""stylize_video end to end on clips made from a real photo: the file a user gets."""

import os

import numpy as np
import pytest

import magenta_style
from magenta_style.errors import UserError
from magenta_style.video import api
from magenta_style.video import flicker
from magenta_style.video import io as video_io
from tests.video.conftest import FRAMES
from tests.video.conftest import RATE
from tests.video.conftest import SHIFT
from tests.video.conftest import SIZE
from tests.video.conftest import gradient_frames

pytest.importorskip("av")
pytest.importorskip("cv2")


def _styled(src, dst, **kwargs):
    info = magenta_style.stylize_video(src, dst, kwargs.pop("which_styles", 5),
                                       progress=False, **kwargs)
    return info, video_io.read_frames(dst)


@pytest.mark.needs_shared
@pytest.mark.slow
def test_output_keeps_count_rate_size_and_sound_and_flicker_drops(pan_clip, tmp_path):
    per_frame_info, per_frame = _styled(pan_clip, tmp_path / "none.mp4", temporal="none")
    default_info, default = _styled(pan_clip, tmp_path / "default.webm", batch_size=4)
    for info, frames in ((per_frame_info, per_frame), (default_info, default)):
        assert (info.width, info.height) == (SIZE[1], SIZE[0])
        assert info.rate == RATE
        assert frames.shape == (FRAMES, SIZE[0], SIZE[1], 3)
    assert per_frame_info.audio_codec == "aac"  # copied
    assert default_info.audio_codec == "opus"  # re-encoded for WebM
    inputs = video_io.read_frames(pan_clip)
    assert np.abs(per_frame.astype(int) - inputs).mean() > 20  # really stylized
    base = flicker.pan_flicker(per_frame, SHIFT)
    smoothed = flicker.pan_flicker(default, SHIFT)
    assert smoothed < 0.7 * base, (smoothed, base)


@pytest.mark.needs_shared
@pytest.mark.slow
def test_every_temporal_mode_on_a_zoom_lowers_flow_flicker(zoom_clip, tmp_path):
    inputs = video_io.read_frames(zoom_clip)
    results = {}
    for mode in ("none", "ema", "flow", "ema+flow"):
        info, frames = _styled(zoom_clip, tmp_path / f"{mode}.mov", temporal=mode)
        assert info.audio_codec == "aac" and frames.shape[0] == FRAMES
        results[mode] = flicker.flow_flicker(inputs, frames)[0]
    assert results["flow"] < 0.8 * results["none"], results
    assert results["ema+flow"] < 0.8 * results["none"], results
    assert results["ema"] < 1.1 * results["none"], results  # never worse to speak of


@pytest.mark.needs_shared
def test_gif_output_and_frame_stylizer_batching(pan_clip, tmp_path):
    info, frames = _styled(pan_clip, tmp_path / "out.gif", temporal="ema+flow")
    assert info.audio_codec is None and frames.shape == (FRAMES, SIZE[0], SIZE[1], 3)
    inputs = video_io.read_frames(pan_clip)
    stylizer = api.FrameStylizer(None, 5, temporal="ema+flow")
    whole = stylizer(inputs)
    stylizer.reset()
    pieces = np.concatenate([stylizer(inputs[:3]), stylizer(inputs[3:])])
    assert np.abs(whole.astype(int) - pieces).max() <= 1  # batching changes nothing
    # A live stream: one frame at a time, a style change, then a new size.
    stylizer.reset()
    first = stylizer(inputs[:1])
    stylizer.set_styles({0: 0.5, 3: 0.5})
    assert np.abs(stylizer(inputs[1:2]).astype(int) - whole[1]).mean() > 5
    smaller = stylizer(inputs[2:3, :40, :60])
    assert smaller.shape == (1, 40, 60, 3)
    assert np.abs(first.astype(int) - whole[:1]).max() <= 1


def test_bad_input_is_one_error_and_leaves_no_file(tmp_path):
    src = tmp_path / "broken.mp4"
    src.write_bytes(b"not a video at all" * 10)
    out = tmp_path / "out.mp4"
    with pytest.raises(UserError, match="cannot read video"):
        magenta_style.stylize_video(src, out, progress=False)
    assert os.listdir(tmp_path) == ["broken.mp4"]  # no output, no temp file


def test_bad_options_are_one_error(tmp_path):
    from magenta_style.video import synthetic

    src = synthetic.write_clip(tmp_path / "in.mp4", gradient_frames(3))
    with pytest.raises(UserError, match="one style or one mixture"):
        magenta_style.stylize_video(src, tmp_path / "o.mp4", "[0,1]", progress=False)
    with pytest.raises(UserError, match="temporal must be one of"):
        magenta_style.stylize_video(src, tmp_path / "o.mp4", temporal="smooth", progress=False)
    with pytest.raises(UserError, match="unknown extension"):
        magenta_style.stylize_video(src, tmp_path / "o.avi2", progress=False)
    with pytest.raises(UserError, match="batch_size"):
        magenta_style.stylize_video(src, tmp_path / "o.mp4", batch_size=0, progress=False)
    assert sorted(os.listdir(tmp_path)) == ["in.mp4"]


def test_an_existing_output_survives_a_failed_run(tmp_path, monkeypatch):
    from magenta_style.video import synthetic

    src = synthetic.write_clip(tmp_path / "in.mp4", gradient_frames(4))
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous result")

    def fail(self, frames):
        raise KeyboardInterrupt

    monkeypatch.setattr(api.FrameStylizer, "__call__", fail)
    with pytest.raises(KeyboardInterrupt):
        magenta_style.stylize_video(src, out, temporal="none", progress=False)
    assert out.read_bytes() == b"previous result"
    assert sorted(os.listdir(tmp_path)) == ["in.mp4", "out.mp4"]
