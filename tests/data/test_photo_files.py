"""The TensorFlow-free content loader (Pillow + NumPy + threads)."""

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
    code = ("import sys, magenta_style.data.photo_files; "
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


def test_loader_batches_skips_and_counts(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=6)
    loader = photo_files.NumpyContentLoader(str(tmp_path), batch_size=2, image_size=32,
                                           seed=0, repeat=False, workers=2)
    batches = list(loader)
    assert len(batches) == 3 == len(loader) - 1  # 8 files listed, 2 unreadable.
    for batch in batches:
        assert batch.shape == (2, 32, 32, 3) and batch.dtype == np.float32
        assert 0.0 <= batch.min() and batch.max() <= 1.0
    assert loader.skipped == 2
    assert sorted(os.path.basename(p) for p in loader.stats.skipped_files) == [
        "text.jpg", "truncated.jpg"]


def test_loader_is_repeatable_with_a_seed(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=6, bad=False)

    def first(seed, n=4):
        loader = photo_files.NumpyContentLoader(str(tmp_path), 2, image_size=32, seed=seed,
                                               random_crop=True, random_flip=True,
                                               resize_side=40, workers=3)
        it = iter(loader)
        return np.stack([next(it) for _ in range(n)])

    np.testing.assert_array_equal(first(1), first(1))
    assert not np.array_equal(first(1), first(2))


def test_loader_repeats_forever_and_reshuffles(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=4, bad=False)
    loader = photo_files.NumpyContentLoader(str(tmp_path), 4, image_size=32, seed=3)
    it = iter(loader)
    epochs = [next(it) for _ in range(4)]
    # Every epoch holds the same 4 images, in some order.
    key = [sorted(float(img.sum()) for img in e) for e in epochs]
    assert all(np.allclose(k, key[0]) for k in key)


def test_loader_all_unreadable_raises(tmp_path):
    for i in range(3):
        (tmp_path / f"bad{i}.jpg").write_text("nope")
    with pytest.raises(UserError, match="readable image"):
        photo_files.NumpyContentLoader(str(tmp_path), 1, image_size=32)


def test_loader_stops_when_files_become_unreadable(tmp_path, rng):
    path = make_folder(str(tmp_path), rng, n=1, bad=False)[0]
    loader = photo_files.NumpyContentLoader(path, 1, image_size=32, workers=1)
    with open(path, "wb") as f:  # e.g. a network drive gone bad mid-run
        f.write(b"garbage")
    with pytest.raises(UserError, match="could be read"):
        next(iter(loader))
    assert isinstance(loader.stats.error, UserError)


def test_loader_too_few_files(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=2, bad=False)
    with pytest.raises(UserError, match="fewer than one batch"):
        photo_files.NumpyContentLoader(str(tmp_path), 16, image_size=32)


def test_process_pool_gives_the_same_batches(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=4)

    def batches(processes):
        loader = photo_files.NumpyContentLoader(str(tmp_path), 2, image_size=32, seed=7,
                                               random_crop=True, resize_side=40,
                                               repeat=False, workers=2, processes=processes)
        return np.stack(list(loader)), loader.skipped

    (threads, skipped_t), (procs, skipped_p) = batches(False), batches(True)
    np.testing.assert_array_equal(threads, procs)
    assert skipped_t == skipped_p == 2


def test_start_epoch_continues_the_order(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=4, bad=False)
    kwargs = dict(batch_size=4, image_size=32, seed=5, random_flip=True, workers=2)
    it = iter(photo_files.NumpyContentLoader(str(tmp_path), **kwargs))
    epochs = [next(it) for _ in range(3)]
    resumed = iter(photo_files.NumpyContentLoader(str(tmp_path), start_epoch=2, **kwargs))
    np.testing.assert_array_equal(next(resumed), epochs[2])


def test_start_position_continues_the_stream_mid_epoch(tmp_path, rng):
    """Resuming at step s (element s*B) yields what the uninterrupted stream yields."""
    make_folder(str(tmp_path), rng, n=5, bad=False)
    kwargs = dict(batch_size=3, image_size=32, seed=7, random_crop=True, random_flip=True,
                  workers=2)
    it = iter(photo_files.NumpyContentLoader(str(tmp_path), **kwargs))
    stream = [next(it) for _ in range(5)]  # 15 elements: three epochs of 5 files.
    for step in (1, 2, 3):  # elements 3, 6, 9: mid-epoch, each epoch's own shuffle
        element = step * 3
        resumed = iter(photo_files.NumpyContentLoader(
            str(tmp_path), start_epoch=element // 5, start_position=element % 5, **kwargs))
        for expected in stream[step:]:
            np.testing.assert_array_equal(next(resumed), expected)
    with pytest.raises(UserError, match="Received: start_position=5"):
        photo_files.NumpyContentLoader(str(tmp_path), start_position=5, **kwargs)


def test_loader_rejects_tensorflow_sources():
    for source in ("tfds:coco/2017", "tfrecord:/data/train-*", "/data/x.tfrecord"):
        with pytest.raises(UserError, match="image files only"):
            photo_files.NumpyContentLoader(source, 2)


def test_write_resized_copies(tmp_path, rng):
    make_folder(str(tmp_path / "src"), rng, n=6)
    written, stats = photo_files.write_resized_copies(str(tmp_path / "src"),
                                                     str(tmp_path / "out"), resize_side=34,
                                                     quality=95, progress=False)
    assert written == 6 and stats.skipped == 2
    copies = photo_files.list_image_files(str(tmp_path / "out"))
    assert len(copies) == 6 and all(c.endswith(".jpg") for c in copies)
    assert any(os.sep + "deeper" + os.sep in c for c in copies)  # layout kept
    originals = [p for p in photo_files.list_image_files(str(tmp_path / "src"))
                 if "text" not in p and "truncated" not in p]
    for original in originals:
        rel = os.path.relpath(original, tmp_path / "src")
        copy = os.path.join(tmp_path, "out", os.path.splitext(rel)[0] + ".jpg")
        with Image.open(copy) as img:
            assert min(img.size) == 34
        a = photo_files.load_and_preprocess(original, 32, 34)
        b = photo_files.load_and_preprocess(copy, 32, 34)
        assert np.abs(a - b).mean() < 3 / 255  # only JPEG re-encoding differs
