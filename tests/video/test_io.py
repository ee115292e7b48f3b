"""video.io: containers round trip with their size, rate, frame count and sound."""

import fractions

import numpy as np
import pytest

from magenta_style.errors import UserError
from magenta_style.video import io as video_io
from magenta_style.video import synthetic
from tests.video.conftest import gradient_frames

pytest.importorskip("av")


@pytest.mark.parametrize("ext,audio", [(".mp4", "aac"), (".mov", "aac"), (".mkv", "aac"),
                                       (".webm", "opus"), (".gif", None)])
def test_clip_round_trips_in_every_container(tmp_path, ext, audio):
    frames = gradient_frames()
    path = synthetic.write_clip(tmp_path / f"clip{ext}", frames, rate=20)
    info = video_io.read_info(path)
    assert (info.width, info.height) == (40, 24)
    assert info.rate == 20
    assert info.audio_codec == audio
    back = video_io.read_frames(path)
    assert back.shape == frames.shape
    # Lossy codecs: close to the frames written, not equal.
    assert np.abs(back.astype(int) - frames).mean() < 8


def _copy(src, dst, transform=lambda f: f):
    with video_io.VideoReader(src) as reader, video_io.open_writer(
            dst, reader.info.width, reader.info.height, reader.info.rate,
            reader.audio_stream) as writer:
        for kind, item in reader.packets():
            if kind == "frame":
                writer.write_frames(transform(item))
            else:
                writer.write_audio(item)
    return video_io.read_info(dst)


def test_audio_is_remuxed_or_reencoded_and_dropped_only_for_gif(tmp_path, caplog):
    src = synthetic.write_clip(tmp_path / "a.mp4", gradient_frames(12), rate=24)
    src_info = video_io.read_info(src)
    same = _copy(src, tmp_path / "b.mov")  # AAC fits mov: copied
    assert same.audio_codec == "aac"
    assert same.duration == pytest.approx(src_info.duration, abs=0.05)
    webm = _copy(src, tmp_path / "c.webm")  # AAC does not fit WebM: Opus
    assert webm.audio_codec == "opus"
    assert webm.duration == pytest.approx(src_info.duration, abs=0.1)
    gif = _copy(src, tmp_path / "d.gif")
    assert gif.audio_codec is None
    assert "GIF holds no sound" in caplog.text
    assert video_io.read_frames(tmp_path / "d.gif").shape[0] == 12


def test_odd_frame_size_and_ntsc_rate_are_kept(tmp_path):
    frames = gradient_frames(5, size=(23, 37))
    src = synthetic.write_clip(tmp_path / "odd.webm", frames, rate=fractions.Fraction(30000, 1001))
    info = _copy(src, tmp_path / "odd.mp4")  # H.264 4:4:4 for odd sizes
    assert (info.width, info.height) == (37, 23)
    assert info.rate == fractions.Fraction(30000, 1001)
    assert video_io.read_frames(tmp_path / "odd.mp4").shape == (5, 23, 37, 3)


def test_unreadable_and_missing_files_are_one_clear_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video" * 4)
    with pytest.raises(UserError, match="cannot read video .*bad.mp4"):
        video_io.read_info(bad)
    with pytest.raises(UserError, match="does not exist"):
        video_io.read_info(tmp_path / "nothing.mp4")
    image = tmp_path / "still.txt"
    image.write_text("hello")
    with pytest.raises(UserError, match="cannot read video"):
        video_io.read_frames(image)


def test_bad_extension_and_missing_encoder_are_one_clear_error(tmp_path, monkeypatch):
    with pytest.raises(UserError, match=r"unknown extension '.xyz'"):
        video_io.VideoWriter(tmp_path / "out.xyz", 8, 8, 24)
    monkeypatch.setitem(video_io.CONTAINERS, ".mp4",
                        ("mp4", "no_such_encoder", "aac", {"aac"}))
    with pytest.raises(UserError, match="no 'no_such_encoder' encoder"):
        video_io.VideoWriter(tmp_path / "out.mp4", 8, 8, 24)
    assert not (tmp_path / "out.mp4").exists()
