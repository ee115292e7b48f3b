"""The TensorFlow-free content loader (Pillow + NumPy + threads)."""

import os

import numpy as np
import pytest
from PIL import Image

from magenta_style.data import numpy_loader
from magenta_style.data import photo_files
from magenta_style.errors import UserError
from tests.data.test_photo_files import make_folder


def test_loader_batches_skips_and_counts(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=6)
    loader = numpy_loader.NumpyContentLoader(str(tmp_path), batch_size=2, image_size=32,
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
        loader = numpy_loader.NumpyContentLoader(str(tmp_path), 2, image_size=32, seed=seed,
                                               random_crop=True, random_flip=True,
                                               resize_side=40, workers=3)
        it = iter(loader)
        return np.stack([next(it) for _ in range(n)])

    np.testing.assert_array_equal(first(1), first(1))
    assert not np.array_equal(first(1), first(2))


def test_loader_repeats_forever_and_reshuffles(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=4, bad=False)
    loader = numpy_loader.NumpyContentLoader(str(tmp_path), 4, image_size=32, seed=3)
    it = iter(loader)
    epochs = [next(it) for _ in range(4)]
    # Every epoch holds the same 4 images, in some order.
    key = [sorted(float(img.sum()) for img in e) for e in epochs]
    assert all(np.allclose(k, key[0]) for k in key)


def test_loader_all_unreadable_raises(tmp_path):
    for i in range(3):
        (tmp_path / f"bad{i}.jpg").write_text("nope")
    with pytest.raises(UserError, match="readable image"):
        numpy_loader.NumpyContentLoader(str(tmp_path), 1, image_size=32)


def test_loader_stops_when_files_become_unreadable(tmp_path, rng):
    path = make_folder(str(tmp_path), rng, n=1, bad=False)[0]
    loader = numpy_loader.NumpyContentLoader(path, 1, image_size=32, workers=1)
    with open(path, "wb") as f:  # e.g. a network drive gone bad mid-run
        f.write(b"garbage")
    with pytest.raises(UserError, match="could be read"):
        next(iter(loader))
    assert isinstance(loader.stats.error, UserError)


def test_loader_too_few_files(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=2, bad=False)
    with pytest.raises(UserError, match="fewer than one batch"):
        numpy_loader.NumpyContentLoader(str(tmp_path), 16, image_size=32)


def test_process_pool_gives_the_same_batches(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=4)

    def batches(processes):
        loader = numpy_loader.NumpyContentLoader(str(tmp_path), 2, image_size=32, seed=7,
                                               random_crop=True, resize_side=40,
                                               repeat=False, workers=2, processes=processes)
        return np.stack(list(loader)), loader.skipped

    (threads, skipped_t), (procs, skipped_p) = batches(False), batches(True)
    np.testing.assert_array_equal(threads, procs)
    assert skipped_t == skipped_p == 2


def test_start_epoch_continues_the_order(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=4, bad=False)
    kwargs = dict(batch_size=4, image_size=32, seed=5, random_flip=True, workers=2)
    it = iter(numpy_loader.NumpyContentLoader(str(tmp_path), **kwargs))
    epochs = [next(it) for _ in range(3)]
    resumed = iter(numpy_loader.NumpyContentLoader(str(tmp_path), start_epoch=2, **kwargs))
    np.testing.assert_array_equal(next(resumed), epochs[2])


def test_start_position_continues_the_stream_mid_epoch(tmp_path, rng):
    """Resuming at step s (element s*B) yields what the uninterrupted stream yields."""
    make_folder(str(tmp_path), rng, n=5, bad=False)
    kwargs = dict(batch_size=3, image_size=32, seed=7, random_crop=True, random_flip=True,
                  workers=2)
    it = iter(numpy_loader.NumpyContentLoader(str(tmp_path), **kwargs))
    stream = [next(it) for _ in range(5)]  # 15 elements: three epochs of 5 files.
    for step in (1, 2, 3):  # elements 3, 6, 9: mid-epoch, each epoch's own shuffle
        element = step * 3
        resumed = iter(numpy_loader.NumpyContentLoader(
            str(tmp_path), start_epoch=element // 5, start_position=element % 5, **kwargs))
        for expected in stream[step:]:
            np.testing.assert_array_equal(next(resumed), expected)
    with pytest.raises(UserError, match="Received: start_position=5"):
        numpy_loader.NumpyContentLoader(str(tmp_path), start_position=5, **kwargs)


def test_loader_rejects_tensorflow_sources():
    for source in ("tfds:coco/2017", "tfrecord:/data/train-*", "/data/x.tfrecord"):
        with pytest.raises(UserError, match="image files only"):
            numpy_loader.NumpyContentLoader(source, 2)


def test_write_resized_copies(tmp_path, rng):
    make_folder(str(tmp_path / "src"), rng, n=6)
    written, stats = numpy_loader.write_resized_copies(str(tmp_path / "src"),
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


def test_uint8_batches_are_the_float_batches_before_scaling(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=6, bad=False)

    def batches(dtype):
        loader = numpy_loader.NumpyContentLoader(str(tmp_path), 2, image_size=32, seed=4,
                                                 random_crop=True, random_flip=True,
                                                 resize_side=40, dtype=dtype)
        it = iter(loader)
        return np.stack([next(it) for _ in range(3)])

    raw, scaled = batches("uint8"), batches("float32")
    assert raw.dtype == np.uint8 and raw.max() > 1
    np.testing.assert_array_equal(raw.astype(np.float32) / np.float32(255.0), scaled)


def test_loader_refuses_an_unknown_dtype(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=2, bad=False)
    with pytest.raises(UserError, match="Received: dtype='float16'"):
        numpy_loader.NumpyContentLoader(str(tmp_path), 1, image_size=32, dtype="float16")
