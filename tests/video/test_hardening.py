"""stylize_video against hostile paths and streams, and in bounded memory (issue 32).

Most tests replace the network with `Identity` (the checks are about paths,
streams and batches, not pixels), so they take a fraction of a second.
"""

import fractions
import logging
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import magenta_style
from magenta_style.errors import UserError
from magenta_style.stylization import memory
from magenta_style.video import api
from magenta_style.video import budget
from magenta_style.video import io as video_io
from magenta_style.video import synthetic
from tests.video.conftest import gradient_frames

av = pytest.importorskip("av")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Identity:
    """A `FrameStylizer` whose network returns the frames; records its batches."""

    batches = []

    def __init__(self, *args, **kwargs):
        Identity.batches = []

    def __call__(self, frames):
        Identity.batches.append(len(frames))
        return np.asarray(frames)


class Untouchable:
    """A `FrameStylizer` that must not be built (the work must not start)."""

    def __init__(self, *args, **kwargs):
        raise AssertionError("the model was loaded before the check")


@pytest.fixture
def identity(monkeypatch):
    monkeypatch.setattr(api, "FrameStylizer", Identity)
    return Identity


def stylize(src, dst, **kwargs):
    return magenta_style.stylize_video(src, dst, progress=False, **kwargs)


def stamps(path):
    """Each frame's presentation time in seconds."""
    times = []
    with video_io.VideoReader(path) as reader:
        for kind, _ in reader.packets():
            if kind == "frame":
                times.append(float(reader.frame_pts * reader.time_base))
    return times


# -- output paths (item 6) and stale temp files (item 8) ---------------------

def test_bad_output_paths_fail_before_any_work(tmp_path, monkeypatch):
    src = synthetic.write_clip(tmp_path / "in.mp4", gradient_frames(2))
    monkeypatch.setattr(api, "FrameStylizer", Untouchable)
    (tmp_path / "folder.mp4").mkdir()
    (tmp_path / "file").write_bytes(b"a file")
    os.symlink(src, tmp_path / "link.mp4")
    os.link(src, tmp_path / "hard.mp4")
    for out, message in [(tmp_path / "folder.mp4", "is a folder"),
                         (tmp_path / "file" / "out.mp4", "which is a file"),
                         (src, "is the input"),
                         (tmp_path / "link.mp4", "is the input"),
                         (tmp_path / "hard.mp4", "is the input"),
                         (tmp_path / "." / "in.mp4", "is the input")]:
        with pytest.raises(UserError, match=message):
            stylize(src, out)
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            with pytest.raises(UserError, match="not writable"):
                stylize(src, locked / "out.mp4")
        finally:
            locked.chmod(0o700)
    assert video_io.read_frames(src).shape[0] == 2  # the input is intact


def test_stale_temp_videos_are_removed_on_the_next_run(tmp_path, identity):
    src = synthetic.write_clip(tmp_path / "in.mp4", gradient_frames(2))
    stale, fresh = tmp_path / ".tmp-k1ll3d_x.mp4", tmp_path / ".tmp-runn1ng_.mp4"
    stale.write_bytes(b"\0" * 1000)  # what a SIGKILL leaves
    fresh.write_bytes(b"\0" * 1000)  # another run writing now
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    stylize(src, tmp_path / "out.mp4")
    assert sorted(os.listdir(tmp_path)) == [".tmp-runn1ng_.mp4", "in.mp4", "out.mp4"]


def test_the_gif_warning_names_the_output_not_its_temp_file(tmp_path, identity, caplog):
    src = synthetic.write_clip(tmp_path / "in.mp4", gradient_frames(2))
    with caplog.at_level(logging.WARNING):
        stylize(src, tmp_path / "out.gif")
    assert "GIF holds no sound" in caplog.text
    assert str(tmp_path / "out.gif") in caplog.text and ".tmp-" not in caplog.text


@pytest.mark.slow
def test_ffmpeg_lines_do_not_leak_next_to_the_one_line_error(tmp_path):
    src = synthetic.write_clip(tmp_path / "in.mp4", gradient_frames(3))
    data = src.read_bytes()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(data[:len(data) // 2])  # no index ("moov atom not found")
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "bin", "stylize_video"),
         f"--input_video={broken}", f"--output_video={tmp_path / 'out.mp4'}"],
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith(("error", "["))
             or "moov" in line]
    assert len(lines) == 1 and lines[0].startswith("error: cannot read video"), result.stderr


# -- streams (item 7) ---------------------------------------------------------

def test_audio_only_input_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "sound.m4a"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48000)
        stream.layout = "stereo"
        frame = av.AudioFrame.from_ndarray(synthetic.sine_tone(0.1)[:, :1024], format="fltp",
                                           layout="stereo")
        frame.sample_rate = 48000
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    monkeypatch.setattr(api, "FrameStylizer", Untouchable)
    with pytest.raises(UserError, match=r"holds no video stream \(its streams: audio\)"):
        stylize(path, tmp_path / "out.mp4")
    assert sorted(os.listdir(tmp_path)) == ["sound.m4a"]


def smooth_frame(h, w):
    """uint8 `[h, w, 3]`: gradients across the whole frame, whatever its size."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 200 // w, y * 200 // h, np.full_like(x, 80)], -1).astype(np.uint8)


def write_resizing_clip(path, sizes, rate=10):
    """An MJPEG clip whose frame size changes mid-stream (each JPEG has its own)."""
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream("mjpeg", rate=rate)
        stream.height, stream.width = sizes[0]
        stream.pix_fmt = "yuvj420p"
        for i, (h, w) in enumerate(sizes):
            encoder = av.CodecContext.create("mjpeg", "w")
            encoder.width, encoder.height, encoder.pix_fmt = w, h, "yuvj420p"
            encoder.time_base = fractions.Fraction(1, rate)
            frame = av.VideoFrame.from_ndarray(smooth_frame(h, w), format="rgb24")
            frame.pts, frame.time_base = i, encoder.time_base
            for packet in encoder.encode(frame) + encoder.encode(None):
                packet.stream = stream
                packet.pts = packet.dts = i
                packet.time_base = encoder.time_base
                out.mux(packet)
    return path


def test_a_frame_size_change_is_resampled_to_the_first_with_a_warning(tmp_path, identity,
                                                                       caplog):
    src = write_resizing_clip(tmp_path / "in.mkv", [(24, 40)] * 3 + [(36, 60)] * 3)
    with caplog.at_level(logging.WARNING):
        info = stylize(src, tmp_path / "out.mp4", batch_size=4)
    assert (info.width, info.height) == (40, 24)
    frames = video_io.read_frames(tmp_path / "out.mp4")
    assert frames.shape == (6, 24, 40, 3)
    # Resampled, not cropped: the larger frame's gradients span the frame.
    assert np.abs(frames[4].astype(int) - smooth_frame(24, 40)).mean() < 4
    assert np.abs(frames[4].astype(int) - smooth_frame(36, 60)[:24, :40]).mean() > 20
    assert caplog.text.count("resampled to 40x24") == 1


def test_a_variable_frame_rate_keeps_every_frames_time_and_the_sound(tmp_path, identity):
    # Slow then fast: at the average rate, frame 6 would be 0.2 s early.
    times = [0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.04, 1.08, 1.12, 1.16, 1.2, 1.24]
    src = synthetic.write_clip(tmp_path / "vfr.mp4", gradient_frames(len(times)), times=times)
    for ext in (".mp4", ".webm"):
        info = stylize(src, tmp_path / f"out{ext}")
        assert stamps(tmp_path / f"out{ext}") == pytest.approx(times, abs=0.002)
        assert info.audio_codec in ("aac", "opus")
        assert info.duration == pytest.approx(video_io.read_info(src).duration, abs=0.1)


def test_a_constant_rate_keeps_its_rate(tmp_path, identity):
    src = synthetic.write_clip(tmp_path / "in.mov", gradient_frames(5),
                               rate=fractions.Fraction(30000, 1001))
    info = stylize(src, tmp_path / "out.mp4")
    assert info.rate == fractions.Fraction(30000, 1001) and info.frames == 5


# -- memory (item 5) ----------------------------------------------------------

def budget_for(frames, pixels):
    """Available bytes whose share holds `frames` untiled frames of `pixels`."""
    return frames * memory.UNTILED_BYTES_PER_PIXEL * pixels / memory.MEMORY_FRACTION


def test_the_batch_is_what_the_memory_available_holds(tmp_path, identity, monkeypatch):
    src = synthetic.write_clip(tmp_path / "in.mp4", gradient_frames(7))
    monkeypatch.setattr(memory, "available_memory", lambda: budget_for(2.5, 24 * 40))
    stylize(src, tmp_path / "out.mp4", batch_size=8)
    assert identity.batches == [2, 2, 2, 1]
    monkeypatch.setattr(memory, "available_memory", lambda: None)  # unknown: as asked
    stylize(src, tmp_path / "out.mp4", batch_size=3)
    assert identity.batches == [3, 3, 1]


def test_a_frame_too_large_for_memory_is_refused_before_work(tmp_path, monkeypatch):
    src = synthetic.write_clip(tmp_path / "in.mp4", gradient_frames(2))
    monkeypatch.setattr(api, "FrameStylizer", Untouchable)
    monkeypatch.setattr(memory, "available_memory", lambda: budget_for(0.9, 24 * 40))
    with pytest.raises(UserError, match=r"Frames of 40x24 \(0.0 MP\) need about .* each.*"
                                        r"scale the video down"):
        stylize(src, tmp_path / "out.mp4")
    assert sorted(os.listdir(tmp_path)) == ["in.mp4"]


def test_the_limit_follows_the_memory_available(monkeypatch):
    assert budget.plan_frames(1920, 1080, 8, available=64e9).batch_size == 8
    assert budget.plan_frames(1920, 1080, 8, available=8e9).batch_size == 3
    assert budget.plan_frames(3840, 2160, 8, available=16e9).batch_size == 1
    assert budget.plan_frames(3840, 2160, 8, available=None).batch_size == 8  # unknown
    with pytest.raises(UserError, match="6000x6000"):  # the MJPEG file
        budget.plan_frames(6000, 6000, 8, available=32e9)
    monkeypatch.setattr(memory, "available_memory", lambda: 2e9)  # read at each plan
    with pytest.raises(UserError, match=r"3840x2160 \(8.3 MP\) need about 4.4 GB.*2.0 GB"):
        budget.plan_frames(3840, 2160, 8)
