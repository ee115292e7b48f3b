"""Photo files without TensorFlow: listing, resizing, cropping."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from magenta_style.data import photo_files
from magenta_style.errors import UserError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _photo(rng, h, w):
    """A smooth random image (resizing it changes little), uint8."""
    small = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.BICUBIC))


def make_folder(root, rng, n=6, bad=True):
    """n JPEG/PNG photos in nested folders, plus a text file and a truncated JPEG."""
    os.makedirs(os.path.join(root, "class_a"), exist_ok=True)
    os.makedirs(os.path.join(root, "class_b", "deeper"), exist_ok=True)
    paths = []
    for i in range(n):
        sub = ("class_a", os.path.join("class_b", "deeper"))[i % 2]
        ext = (".jpg", ".png", ".JPEG")[i % 3]
        path = os.path.join(root, sub, f"photo{i}{ext}")
        Image.fromarray(_photo(rng, 40 + 4 * i, 56 - 2 * i)).save(
            path, format="PNG" if ext == ".png" else "JPEG")
        paths.append(path)
    with open(os.path.join(root, "notes.txt"), "w") as f:
        f.write("not an image")
    if bad:
        with open(os.path.join(root, "class_a", "text.jpg"), "w") as f:
            f.write("not an image either")
        with open(paths[0], "rb") as f:
            head = f.read(200)
        with open(os.path.join(root, "class_b", "truncated.jpg"), "wb") as f:
            f.write(head)
    return paths


def test_import_does_not_import_tensorflow():
    code = ("import sys, magenta_style.data.numpy_loader; "
            "sys.exit(1 if 'tensorflow' in sys.modules else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()


def test_list_image_files_recurses_and_filters(tmp_path, rng):
    paths = make_folder(str(tmp_path), rng, bad=False)
    assert photo_files.list_image_files(str(tmp_path)) == sorted(paths)
    # A glob keeps what it matches; a comma-separated string joins parts.
    assert photo_files.list_image_files(str(tmp_path / "*.txt")) == [str(tmp_path / "notes.txt")]
    both = f"{tmp_path / 'class_a'},{tmp_path / '**' / 'deeper' / '*'}"
    assert photo_files.list_image_files(both) == sorted(paths)


def test_list_image_files_takes_listed_files_as_is(tmp_path, rng):
    path = str(tmp_path / "photo[1].jpg")  # not a glob that matches itself
    Image.fromarray(_photo(rng, 8, 8)).save(path)
    assert photo_files.list_image_files([path]) == [path]


def test_list_image_files_no_match_names_pattern(tmp_path):
    with pytest.raises(UserError, match="nothing_here"):
        photo_files.list_image_files(str(tmp_path / "nothing_here" / "*.jpg"))


@pytest.mark.parametrize("hw, expected", [
    ((288, 400), (258, 358)),   # 400 * 258 / 288 = 358.33
    ((481, 321), (387, 258)),   # 481 * 258 / 321 = 386.58
    ((100, 100), (258, 258)),   # upscaled
    ((258, 1000), (258, 1000)),
])
def test_resized_shape(hw, expected):
    assert photo_files.resized_shape(*hw, 258) == expected


def test_preprocess_array_centre_crop_without_resize(rng):
    image = rng.integers(0, 256, size=(34, 50, 3), dtype=np.uint8)
    out = photo_files.preprocess_array(image, image_size=32, resize_side=34)
    assert out.shape == (32, 32, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out, image[1:33, 9:41].astype(np.float32) / 255.0)


def test_preprocess_array_random_crop_and_flip_are_windows(rng):
    image = rng.integers(0, 256, size=(40, 40, 3), dtype=np.uint8)
    expected = image.astype(np.float32) / 255.0
    seen = set()
    for seed in range(12):
        out = photo_files.preprocess_array(image, 32, 40, random_crop=True, random_flip=True,
                                          rng=np.random.default_rng(seed))
        found = [(t, left, flip) for t in range(9) for left in range(9) for flip in (0, 1)
                 if np.array_equal(out, expected[t:t + 32, left:left + 32][:, ::-1 if flip else 1])]
        assert found
        seen.add(found[0])
    assert len(seen) > 1
    assert len({flip for _, _, flip in seen}) == 2


def test_preprocess_array_rejects_bad_sizes(rng):
    image = rng.integers(0, 256, size=(40, 40, 3), dtype=np.uint8)
    with pytest.raises(UserError, match="resize_side"):
        photo_files.preprocess_array(image, image_size=64, resize_side=32)
