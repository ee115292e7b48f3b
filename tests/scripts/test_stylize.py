"""bin/stylize and bin/export end to end: names, formats, failures, overwrite."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from magenta_style.errors import UserError
from magenta_style.storage import image_io
from magenta_style.storage import model_format
from magenta_style.stylization.api import StylizeConfig
from magenta_style.stylization.batch_files import stylize_files

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def run_bin(name, *args):
    return subprocess.run([sys.executable, os.path.join(REPO, "bin", name), *args],
                          capture_output=True, text=True, env=ENV, timeout=300)


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "in"
    rng = np.random.default_rng(0)
    for name in ("a.jpg", "b.png"):
        image_io.save_image(rng.integers(0, 256, (20, 28, 3), dtype=np.uint8), folder / name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return folder


def mtimes(folder):
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def test_stylize_script_mixture_names_bad_file_and_no_overwrite(photos, tmp_path):
    out = tmp_path / "out"
    args = [f"--input_image={photos}", f"--output_dir={out}",
            "--which_styles={0:0.5,3:0.5}"]
    result = run_bin("stylize", *args)
    # One unreadable file: reported on one line, others done, exit status 1.
    assert result.returncode == 1, result.stderr
    assert "broken.jpg" in result.stderr and "Traceback" not in result.stderr
    assert sorted(os.listdir(out)) == ["a_0_500_3_500.png", "b_0_500_3_500.png"]
    for name in os.listdir(out):
        with Image.open(out / name) as img:  # real PNG bytes, not JPEG
            assert img.format == "PNG" and img.size == (28, 20)
    before = mtimes(out)
    again = run_bin("stylize", *args, "--which_styles=[0,3]")
    assert again.returncode == 1
    after = mtimes(out)
    assert {k: after[k] for k in before} == before  # nothing overwritten
    assert sorted(after) == ["a_0.png", "a_0_500_3_500.png", "a_3.png",
                             "b_0.png", "b_0_500_3_500.png", "b_3.png"]


def test_stylize_script_bad_flags_are_one_line(photos, tmp_path):
    result = run_bin("stylize", f"--input_image={photos / 'a.jpg'}",
                     f"--output_dir={tmp_path}", "--which_styles=[36]")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "out of range" in errors[0]
    assert "Traceback" not in result.stderr


def test_overwrite_replaces_and_single_input_takes_the_basename(photos, tmp_path):
    config = StylizeConfig(input_image=str(photos / "a.jpg"), output_dir=str(tmp_path),
                           output_basename="cat", which_styles="[1]")
    assert stylize_files(config, progress=False, log=lambda line: None) == 0
    target = tmp_path / "cat_1.png"
    image_io.save_image(np.zeros((2, 2, 3), np.uint8), target)
    stylize_files(config, progress=False, log=lambda line: None)
    assert Image.open(target).size == (2, 2)  # kept
    stylize_files(config.__class__(**{**config.__dict__, "overwrite": True}),
                  progress=False, log=lambda line: None)
    assert Image.open(target).size == (28, 20)  # replaced


def test_inputs_from_globs_and_comma_lists_with_contact_sheet(photos, tmp_path):
    lines = []
    config = StylizeConfig(input_image=f"{photos / '*.png'},{photos / 'a.jpg'}",
                           output_dir=str(tmp_path / "o"), which_styles="Theo_van_Doesburg_sq",
                           preserve_colors=True, strength=0.8, max_size=14,
                           contact_sheet=True, contact_sheet_size=16)
    assert stylize_files(config, progress=False, log=lines.append) == 0
    names = sorted(os.listdir(tmp_path / "o"))
    assert names == ["a_2.png", "b_2.png", "contact_sheet.png"]
    assert Image.open(tmp_path / "o" / "a_2.png").size == (14, 10)
    sheet = Image.open(tmp_path / "o" / "contact_sheet.png")
    n = len(model_format.load_model().style_names)  # the default model's styles
    assert sheet.size == ((1 + n) * 16, 24 + 2 * 16)  # photo + every style, 2 rows + labels
    assert "wrote 3 file(s)" in lines[-1]


@pytest.mark.slow
def test_export_script_writes_saved_model_and_quantized_tflite(tmp_path):
    out = tmp_path / "exported"
    result = run_bin("export", "--checkpoint=android-26", f"--export_dir={out}",
                     "--tflite", "--quantize", "--tflite_image_size=64")
    assert result.returncode == 0, result.stderr
    assert {"saved_model.pb", "variables", "stylize_quantized.tflite"} <= set(os.listdir(out))
    assert result.stderr == ""  # no TensorFlow INFO lines on a successful run
    assert run_bin("export", "--checkpoint=android-26", "--num_styles=10",
                   f"--export_dir={tmp_path / 'x'}").returncode == 2


@pytest.mark.parametrize("fields, words", [
    ({"output_dir": "o"}, "--input_image"), ({"input_image": "x.jpg"}, "--output_dir"),
    ({"input_image": "nothing/*.jpg", "output_dir": "o"}, "No file matches"),
    ({"input_image": "x.jpg", "output_dir": "o", "output_format": "gif2"}, "output_format"),
])
def test_missing_or_bad_flags_are_user_errors(fields, words, tmp_path, monkeypatch):
    from magenta_style.errors import UserError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=words):
        stylize_files(StylizeConfig(**fields), progress=False, log=lambda line: None)


def test_stylize_script_with_style_masks(photos, tmp_path):
    sky = np.zeros((20, 28), np.uint8)
    sky[:10] = 255
    Image.fromarray(sky).save(tmp_path / "sky.png")
    Image.fromarray(255 - sky).resize((14, 10)).save(tmp_path / "city.png")  # half size
    out = tmp_path / "out"
    result = run_bin("stylize", f"--input_image={photos / 'b.png'}", f"--output_dir={out}",
                     "--which_styles=[{0:0.5,3:0.5},7]",
                     f"--style_masks={tmp_path / 'sky.png'},{tmp_path / 'city.png'}")
    assert result.returncode == 0, result.stderr
    assert os.listdir(out) == ["b_regions_0_500_3_500-7.png"]
    assert "city.png) is 14x10, the photo 28x20: resized it to the photo." in result.stderr
    # One mask for two styles: one line, exit 2, nothing written.
    bad = run_bin("stylize", f"--input_image={photos / 'b.png'}",
                  f"--output_dir={tmp_path / 'bad'}", "--which_styles=0,3",
                  f"--style_masks={tmp_path / 'sky.png'}")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    errors = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: Got 1 style masks for 2 entries of which_styles; give one per "
                      "style (or mixture) listed, in the same order."]


def test_stylize_script_with_style_images_and_masks(photos, tmp_path):
    # One painting per mask (arbitrary-v1): the photo's top in one, its bottom in the other.
    rng = np.random.default_rng(1)
    paintings = []
    for name in ("dots", "noise"):
        image_io.save_image(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8),
                            tmp_path / f"{name}.png")
        paintings.append(str(tmp_path / f"{name}.png"))
    top = np.zeros((20, 28), np.uint8)
    top[:10] = 255
    masks = [tmp_path / "top.png", tmp_path / "bottom.png"]
    Image.fromarray(top).save(masks[0])
    Image.fromarray(255 - top).save(masks[1])
    out = tmp_path / "out"
    result = run_bin("stylize", f"--input_image={photos / 'b.png'}", f"--output_dir={out}",
                     f"--style_images={','.join(paintings)}",
                     f"--style_masks={masks[0]},{masks[1]}")
    assert result.returncode == 0, result.stderr
    assert os.listdir(out) == ["b_regions_dots-noise.png"]
    from magenta_style import stylize

    want = stylize(str(photos / "b.png"), style_image=paintings, masks=[str(m) for m in masks])
    got = image_io.load_image(out / "b_regions_dots-noise.png")
    assert np.abs(image_io.to_uint8(got).astype(int) - want).max() <= 1
    bad = run_bin("stylize", f"--input_image={photos / 'b.png'}",
                  f"--output_dir={tmp_path / 'bad'}", f"--style_images={','.join(paintings)}",
                  f"--style_masks={masks[0]}")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    errors = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: Got 1 style masks for 2 style images; give one per "
                      "style (or mixture) listed, in the same order."]


def test_stylize_files_with_a_label_image_matches_the_library(photos, tmp_path):
    labels = np.zeros((20, 28, 3), np.uint8)
    labels[:, 14:] = (255, 255, 255)
    image_io.save_image(labels, tmp_path / "labels.png")
    config = StylizeConfig(input_image=str(photos / "b.png"), output_dir=str(tmp_path / "o"),
                           which_styles="2,5", style_masks=str(tmp_path / "labels.png"),
                           mask_palette="#000000,#ffffff", strength=0.7)
    assert stylize_files(config, progress=False, log=lambda line: None) == 0
    with Image.open(tmp_path / "o" / "b_regions_2-5.png") as img:
        written = np.asarray(img)
    from magenta_style import stylize

    expected = stylize(str(photos / "b.png"), which_styles=[2, 5], strength=0.7,
                       masks=[labels[..., 0] == 0, labels[..., 0] == 255])
    np.testing.assert_array_equal(written, expected)


@pytest.fixture
def paintings(tmp_path):
    folder = tmp_path / "paintings"
    rng = np.random.default_rng(3)
    for name in ("starry.png", "udnie.jpg"):
        cells = np.repeat(np.repeat(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), 8, 0), 8, 1)
        image_io.save_image(cells, folder / name)
    return folder


def test_stylize_script_with_a_painting_and_a_blend_names_the_paintings(
        photos, paintings, tmp_path):
    out = tmp_path / "out"
    result = run_bin("stylize", f"--input_image={photos / 'a.jpg'}", f"--output_dir={out}",
                     f"--style_image={paintings / 'starry.png'}")
    assert result.returncode == 0, result.stderr
    blend = run_bin("stylize", f"--input_image={photos / 'a.jpg'}", f"--output_dir={out}",
                    f"--style_images={paintings / 'starry.png'},{paintings / 'udnie.jpg'}",
                    "--style_blend_weights=0.7,0.3")
    assert blend.returncode == 0, blend.stderr
    assert sorted(os.listdir(out)) == ["a_starry.png", "a_starry_700_udnie_300.png"]
    with Image.open(out / "a_starry.png") as img:
        assert img.size == (28, 20)


def test_style_images_give_one_output_each_and_a_contact_sheet(photos, paintings, tmp_path):
    out = tmp_path / "out"
    cfg = StylizeConfig(input_image=f"{photos / 'a.jpg'},{photos / 'b.png'}",
                        output_dir=str(out), style_images=str(paintings), contact_sheet=True,
                        contact_sheet_size=32, strength=0.6)
    assert stylize_files(cfg, progress=False, log=lambda line: None) == 0
    assert sorted(os.listdir(out)) == ["a_starry.png", "a_udnie.png", "b_starry.png",
                                       "b_udnie.png", "contact_sheet.png"]


@pytest.mark.parametrize("fields, words", [
    (dict(style_image="s.png", style_images="s.png"), "not both"),
    (dict(style_blend_weights="0.5,0.5"), "none were given"),
    (dict(style_images="s.png,s2.png", style_blend_weights="0.5,x"), "comma-separated numbers"),
    (dict(style_images="s.png,s2.png", style_blend_weights="1,-1"), ">= 0"),
    (dict(style_image="s.png", checkpoint="android-26"), "multi-style model"),
    (dict(style_image="s.png", which_styles="[1]"), "no trained styles"),
    (dict(style_image="tiny.png"), "too small"),
])
def test_bad_style_flags_are_user_errors(fields, words, photos, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    image_io.save_image(np.full((40, 40, 3), 99, np.uint8), tmp_path / "s.png")
    image_io.save_image(np.full((40, 40, 3), 9, np.uint8), tmp_path / "s2.png")
    image_io.save_image(np.full((1, 1, 3), 99, np.uint8), tmp_path / "tiny.png")
    cfg = StylizeConfig(input_image=str(photos / "a.jpg"), output_dir=str(tmp_path / "o"),
                        **fields)
    with pytest.raises(UserError) as info:
        stylize_files(cfg, progress=False, log=lambda line: None)
    assert words in str(info.value)


@pytest.mark.parametrize("script, args, words", [
    ("stylize", ["--output_dir={tmp}/a_file"], "is a file"),
    ("stylize", ["--output_dir={tmp}/a_file/sub"], "which is a file"),
    ("stylize", ["--output_dir={tmp}/out", "extra_positional_arg"], "Unexpected arguments"),
    ("stylize", ["--output_dir={tmp}/out", "--contact_sheet", "--contact_sheet_size=0"],
     "contact_sheet_size"),
    ("stylize", ["--output_dir={tmp}/out", "--which_styles={0: 1e300}"], "above 1000"),
    ("stylize", ["--output_dir={tmp}/out", "--which_styles=[0,0]"], "listed twice"),
    ("export", ["--export_dir={tmp}/a_file"], "is a file"),
    ("export", ["--export_dir={tmp}/x", "--tflite", "--tflite_image_size=0"],
     "tflite_image_size"),
    ("studio", ["--port=99999"], "--port must be in 0..65535"),
])
def test_mistakes_are_one_line_not_a_traceback(photos, tmp_path, script, args, words):
    (tmp_path / "a_file").write_text("x")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if script == "stylize":
        args.append(f"--input_image={photos / 'a.jpg'}")
    result = run_bin(script, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    assert sorted(os.listdir(tmp_path)) == ["a_file", "in"]  # nothing written
