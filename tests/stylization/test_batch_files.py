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
