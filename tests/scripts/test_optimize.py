"""bin/optimize: flags -> image file; bad input -> one line."""

import os
import subprocess
import sys

import numpy as np
import pytest
from absl import flags

from magenta_style.errors import UserError
from magenta_style.storage import image_io

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(REPO, "bin", "optimize")


@pytest.fixture
def images(tmp_path, rng):
    paths = []
    for name, shape in (("photo.png", (30, 40, 3)), ("a.png", (32, 32, 3)), ("b.jpg", (24, 40, 3))):
        path = str(tmp_path / name)
        image_io.save_image(rng.random(shape).astype(np.float32), path)
        paths.append(path)
    return paths


def run_main(argv):
    from magenta_style.scripts import optimize as script

    flags.FLAGS.unparse_flags()
    try:
        script.main(flags.FLAGS(["optimize"] + argv))
    finally:
        flags.FLAGS.unparse_flags()


@pytest.mark.needs_weights
def test_writes_the_pastiche(images, tmp_path, vgg16_file, capsys):
    photo, a, b = images
    out = str(tmp_path / "out" / "pastiche.png")
    run_main([f"--content_image={photo}", f"--style_images={a},{b}", f"--output={out}",
              "--style_blend_weights=0.75,0.25", "--style_scales=1,0.5", "--arch=vgg16",
              f"--weights={vgg16_file}", "--image_size=32", "--iterations=3",
              "--style_layers=relu1_1,relu2_1", "--content_layers={'relu2_1': 2.0}",
              "--nojit_compile", "--noprogress"])
    assert image_io.load_image(out).shape == (24, 32, 3)
    assert os.listdir(tmp_path / "out") == ["pastiche.png"]
    assert "after 3 iterations" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    (["--style_blend_weights=1,2,3"], "style_blend_weights has 3 values but there are 2"),
    (["--style_scales=1,1,1"], "style_scales has 3 values"),
    (["--content_weight=-1"], "content_weight must be a non-negative"),
    (["--style_layers=relu1_1,pool9"], "pool9.*Valid names: relu1_1, relu1_2"),
    (["--arch=vgg18"], "arch must be one of vgg16, vgg19"),
])
def test_bad_flags_are_user_errors(images, tmp_path, extra, message):
    photo, a, b = images
    with pytest.raises(UserError, match=message):
        run_main([f"--content_image={photo}", f"--style_images={a},{b}",
                  f"--output={tmp_path / 'o.png'}", "--weights=/nonexistent.h5"] + extra)


def test_missing_image_is_a_user_error(images, tmp_path):
    with pytest.raises(UserError, match="Image not found"):
        run_main([f"--content_image={tmp_path / 'nope.jpg'}", f"--style_images={images[1]}",
                  f"--output={tmp_path / 'o.png'}"])


def test_unreadable_image_is_one_line_and_no_output(images, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    out = tmp_path / "o.png"
    result = subprocess.run([sys.executable, BIN, f"--content_image={images[0]}",
                             f"--style_images={bad}", f"--output={out}"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "bad.jpg" in lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("output, message", [
    ("{photo}/o.png", "is a file, not a folder"),
    ("{tmp}/sub/deeper/o.xyz", "Unknown image extension '.xyz'"),
    ("{tmp}/folder.png", "names a folder"),
])
def test_unwritable_output_is_refused_before_optimising(images, tmp_path, output, message,
                                                        monkeypatch):
    from magenta_style.scripts import optimize as script

    def never(*args, **kwargs):
        raise AssertionError("optimize ran before the output path was checked")

    monkeypatch.setattr(script, "optimize", never)
    (tmp_path / "folder.png").mkdir()
    output = output.format(photo=images[0], tmp=tmp_path)
    with pytest.raises(UserError, match=message):
        run_main([f"--content_image={images[0]}", f"--style_images={images[1]}",
                  f"--output={output}"])


def test_unwritable_output_from_the_command_line_is_one_line(images):
    result = subprocess.run([sys.executable, BIN, f"--content_image={images[0]}",
                             f"--style_images={images[1]}", f"--output={images[0]}/o.png"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        f"error: --output cannot be written: {images[0]} is a file, not a folder. "
        f"Received: {images[0]}/o.png"]


@pytest.mark.parametrize("preset", [None, "default", "neural_style"])
def test_preset_flag_sets_the_defaults_and_given_flags_override_it(images, tmp_path, preset,
                                                                   monkeypatch):
    from magenta_style.optimization.config import OptimizeConfig
    from magenta_style.optimization.config import OptimizeResult
    from magenta_style.scripts import optimize as script

    seen = []

    def fake(content, styles, config):
        seen.append(config)
        return OptimizeResult(np.zeros((4, 4, 3), np.float32), [])

    monkeypatch.setattr(script, "optimize", fake)
    argv = [f"--content_image={images[0]}", f"--style_images={images[1]}",
            f"--output={tmp_path / 'o.png'}", "--iterations=7", "--style_layers=relu1_1"]
    run_main(argv + ([f"--preset={preset}"] if preset else []))
    expected = OptimizeConfig.from_preset(preset or "default", iterations=7,
                                          style_layers="relu1_1")
    assert seen == [expected]


def test_extra_positional_argument_is_a_user_error(images, tmp_path):
    with pytest.raises(UserError, match=r"Unexpected arguments \['extra'\]"):
        run_main([f"--content_image={images[0]}", f"--style_images={images[1]}",
                  f"--output={tmp_path / 'o.png'}", "extra"])


def test_unknown_preset_is_a_user_error(images, tmp_path):
    with pytest.raises(UserError, match="Unknown preset 'fast'.*default, neural_style"):
        run_main([f"--content_image={images[0]}", f"--style_images={images[1]}",
                  f"--output={tmp_path / 'o.png'}", "--preset=fast"])
