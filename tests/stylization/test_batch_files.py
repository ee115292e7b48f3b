"""Many photos at once: contact sheets (stylize_files runs in tests/scripts/test_stylize.py)."""

import numpy as np
import pytest

from magenta_style.errors import UserError
from magenta_style.storage import image_io
from magenta_style.stylization.api import stylize
from magenta_style.stylization.batch_files import contact_sheet
from magenta_style.stylization.batch_files import expand_inputs
from tests.stylization.test_api import assert_close_uint8


def test_contact_sheet_has_every_style_of_the_model(model, photo):
    sheet = contact_sheet([photo, photo], model, cell_size=32)
    band = 24
    assert sheet.shape == (band + 2 * 32, 4 * 32, 3) and sheet.dtype == np.uint8
    # Second cell of the first row is style 0 of the photo scaled to the cell.
    small = image_io.load_image(photo, max_size=32)
    expected = stylize(small, model, 0)
    top = band + (32 - expected.shape[0]) // 2
    assert_close_uint8(sheet[top:top + expected.shape[0], 32:32 + expected.shape[1]], expected)


def test_expand_inputs_takes_files_globs_folders_and_comma_lists(tmp_path, photo):
    for name in ("a.png", "b.jpg", "notes.txt"):
        path = tmp_path / name
        if name.endswith(".txt"):
            path.write_text("not an image")
        else:
            image_io.save_image(photo, str(path))
    (tmp_path / "sub").mkdir()
    image_io.save_image(photo, str(tmp_path / "sub" / "c.png"))
    folder = expand_inputs(str(tmp_path))
    assert [p.split("/")[-1] for p in folder] == ["a.png", "b.jpg"]  # Images only.
    both = expand_inputs(f"{tmp_path}/a.png,{tmp_path}/sub/*.png")
    assert [p.split("/")[-1] for p in both] == ["a.png", "c.png"]
    with pytest.raises(UserError):
        expand_inputs(str(tmp_path / "nothing*.png"))


def _config(model, tmp_path, **fields):
    from magenta_style.stylization.api import StylizeConfig

    return StylizeConfig(checkpoint=model, output_dir=str(tmp_path / "out"), **fields)


@pytest.mark.parametrize("where, words", [("a_file", "is a file"),
                                          ("a_file/sub", "is under"),])
def test_an_output_dir_that_cannot_be_a_folder_is_one_line_before_any_work(
        model, photo, tmp_path, where, words):
    from magenta_style.stylization.batch_files import stylize_files

    (tmp_path / "a_file").write_text("x")
    image_io.save_image(photo, tmp_path / "p.png")
    config = _config(model, tmp_path, input_image=str(tmp_path / "p.png"))
    config = type(config)(**{**config.__dict__, "output_dir": str(tmp_path / where)})
    with pytest.raises(UserError, match=words):
        stylize_files(config, progress=False, log=lambda line: None)


def test_no_output_folder_when_every_input_fails(model, tmp_path):
    from magenta_style.stylization.batch_files import stylize_files

    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    lines = []
    failures = stylize_files(_config(model, tmp_path, input_image=str(tmp_path / "broken.jpg")),
                             progress=False, log=lines.append)
    assert failures == 1 and not (tmp_path / "out").exists()
    assert lines[-1].startswith("wrote 0 file(s)")


def test_stale_temp_files_of_an_earlier_run_are_removed(model, photo, tmp_path):
    import os
    import time

    from magenta_style.stylization.batch_files import stylize_files

    out = tmp_path / "out"
    out.mkdir()
    old = time.time() - 3600
    for name in (".tmp-abcd1234.png", ".tmp-x_9y8z7w", "keep.png", ".tmp-mine.png"):
        (out / name).write_text("x")
        os.utime(out / name, (old, old))
    (out / ".tmp-fresh123.png").write_text("another run, writing now")
    image_io.save_image(photo, tmp_path / "p.png")
    lines = []
    stylize_files(_config(model, tmp_path, input_image=str(tmp_path / "p.png")),
                  progress=False, log=lines.append)
    assert sorted(os.listdir(out)) == [".tmp-fresh123.png", ".tmp-mine.png", "keep.png",
                                       "p_0.png"]
    assert "removed 2 temp file(s)" in lines[0]


@pytest.mark.parametrize("size", [0, -5, 8, 2.5, "64"])
def test_a_bad_contact_sheet_size_is_one_line(model, photo, size):
    with pytest.raises(UserError, match="contact_sheet_size must be an integer"):
        contact_sheet([photo], model, cell_size=size)
