"""bin/stylize_video end to end: a real output, and one-line errors."""

import pytest

from magenta_style.video import io as video_io
from magenta_style.video import synthetic
from tests.scripts.test_stylize import run_bin
from tests.video.conftest import gradient_frames

pytest.importorskip("av")
pytest.importorskip("cv2")


@pytest.fixture
def clip(tmp_path):
    return synthetic.write_clip(tmp_path / "in.mov", gradient_frames(5, (32, 48)), rate=15)


@pytest.mark.slow
def test_stylize_video_script_writes_the_video(clip, tmp_path):
    out = tmp_path / "out.mp4"
    result = run_bin("stylize_video", f"--input_video={clip}", f"--output_video={out}",
                     "--which_styles={0:0.5,3:0.5}", "--temporal=ema+flow", "--batch_size=2")
    assert result.returncode == 0, result.stderr
    assert "5/5" in result.stderr  # the progress bar (tqdm: frames/s or s/frame)
    info = video_io.read_info(out)
    assert (info.width, info.height, info.rate, info.audio_codec) == (48, 32, 15, "aac")
    assert video_io.read_frames(out).shape[0] == 5


def test_stylize_video_script_errors_are_one_line(clip, tmp_path):
    bad_flag = run_bin("stylize_video", f"--input_video={clip}",
                       f"--output_video={tmp_path / 'o.mp4'}", "--temporal=smooth")
    assert bad_flag.returncode == 2
    assert "temporal must be one of" in bad_flag.stderr and "Traceback" not in bad_flag.stderr
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"garbage" * 20)
    unreadable = run_bin("stylize_video", f"--input_video={broken}",
                         f"--output_video={tmp_path / 'o.mp4'}")
    assert unreadable.returncode == 2
    assert "cannot read video" in unreadable.stderr and "Traceback" not in unreadable.stderr
    assert not (tmp_path / "o.mp4").exists()
