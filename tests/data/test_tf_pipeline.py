"""tf.data content pipelines: preprocessing, folders, TFRecords, TFDS."""

import glob
import io
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from magenta_style.data import photo_files
from magenta_style.data import tf_pipeline
from magenta_style.errors import UserError
from tests.data.test_photo_files import _photo
from tests.data.test_photo_files import make_folder


def _map_one(fn, image):
    """Runs `fn` on one image inside `Dataset.map` (graph mode)."""
    ds = tf.data.Dataset.from_tensors(image).map(fn)
    return next(iter(ds)).numpy()


def test_preprocess_image_eager_and_in_map_agree(rng):
    image = rng.integers(0, 256, size=(40, 70, 3), dtype=np.uint8)
    eager = tf_pipeline.preprocess_image(image, image_size=32, resize_side=34).numpy()
    mapped = _map_one(lambda x: tf_pipeline.preprocess_image(x, 32, 34), image)
    assert eager.shape == (32, 32, 3) and eager.dtype == np.float32
    assert 0.0 <= eager.min() and eager.max() <= 1.0
    np.testing.assert_allclose(eager, mapped, atol=1e-6)


def test_preprocess_image_centre_crop_without_resize(rng):
    image = rng.integers(0, 256, size=(34, 50, 3), dtype=np.uint8)
    out = tf_pipeline.preprocess_image(image, image_size=32, resize_side=34).numpy()
    np.testing.assert_allclose(out, image[1:33, 9:41] / 255.0, atol=1e-6)


def test_preprocess_image_matches_numpy_path(rng):
    # A smooth image: both bilinear antialiased resizes agree closely.
    image = _photo(rng, 90, 130)
    tf_out = tf_pipeline.preprocess_image(image, image_size=48, resize_side=50).numpy()
    np_out = photo_files.preprocess_array(image, image_size=48, resize_side=50)
    assert np.abs(tf_out - np_out).max() < 3 / 255


@pytest.mark.needs_shared
def test_real_photo_centre_crops_match_numpy_path(shared_dir):
    path = sorted(glob.glob(os.path.join(shared_dir, "images", "train", "*.jpg")))[0]
    tf_out = tf_pipeline.preprocess_image(tf_pipeline.decode_image(tf.io.read_file(path))).numpy()
    np_out = photo_files.load_and_preprocess(path)
    assert tf_out.shape == np_out.shape == (256, 256, 3)
    # Same JPEG decode (accurate DCT); Pillow rounds its resize to uint8.
    np.testing.assert_allclose(tf_out, np_out, atol=1.01 / 255)
    assert np.abs(tf_out - np_out).mean() < 0.5 / 255


def test_preprocess_image_random_crop_flip_seeded(rng):
    image = rng.integers(0, 256, size=(40, 40, 3), dtype=np.uint8)
    expected = image / 255.0

    def run(seed):
        fn = lambda x: tf_pipeline.preprocess_image(x, 32, 40, True, True, seed=tf.constant(seed))  # noqa: E731
        return tf_pipeline.preprocess_image(image, 32, 40, True, True, seed=seed).numpy(), \
            _map_one(fn, image)

    outs = []
    for seed in ([0, 1], [0, 2], [5, 9], [7, 7]):
        eager, mapped = run(seed)
        np.testing.assert_allclose(eager, mapped, atol=1e-6)
        assert any(np.allclose(eager, expected[t:t + 32, s:s + 32][:, ::f], atol=1e-6)
                   for t in range(9) for s in range(9) for f in (1, -1))
        outs.append(eager)
    assert not all(np.allclose(outs[0], o) for o in outs[1:])
    np.testing.assert_allclose(run([0, 1])[0], outs[0])


def test_folder_dataset_batches_skips_and_counts(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=6)
    stats = tf_pipeline.SkipStats()
    ds = tf_pipeline.folder_dataset(str(tmp_path), 2, image_size=32, seed=0, repeat=False,
                             stats=stats)
    batches = [b.numpy() for b in ds]
    assert len(batches) == 3
    for batch in batches:
        assert batch.shape == (2, 32, 32, 3) and batch.dtype == np.float32
        assert 0.0 <= batch.min() and batch.max() <= 1.0
    assert stats.skipped == 2 and stats.seen == 8
    assert sorted(os.path.basename(p) for p in stats.skipped_files) == [
        "text.jpg", "truncated.jpg"]


def test_folder_dataset_repeats_with_seed(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=4, bad=False)

    def first(seed):
        ds = tf_pipeline.folder_dataset(str(tmp_path), 2, image_size=32, seed=seed,
                                 random_crop=True, random_flip=True, resize_side=40)
        return np.stack([b.numpy() for b in ds.take(5)])  # more than one epoch

    np.testing.assert_array_equal(first(4), first(4))
    assert not np.array_equal(first(4), first(5))


def test_folder_dataset_errors(tmp_path, rng):
    with pytest.raises(UserError, match="nothing"):
        tf_pipeline.folder_dataset(str(tmp_path / "nothing*"), 2, image_size=32)
    (tmp_path / "a.jpg").write_text("not an image")
    (tmp_path / "b.png").write_text("not an image")
    with pytest.raises(UserError, match="readable image"):
        tf_pipeline.folder_dataset(str(tmp_path / "*"), 1, image_size=32)
    make_folder(str(tmp_path), rng, n=2, bad=False)
    with pytest.raises(UserError, match="fewer than one batch"):
        tf_pipeline.folder_dataset(str(tmp_path), 16, image_size=32)


def _encoded(image, fmt="PNG"):
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format=fmt)
    return buf.getvalue()


def _example(**features):
    feature = {k: tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))
               for k, v in features.items()}
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def test_tfrecord_round_trip(tmp_path, rng):
    images = [_photo(rng, 34, 34 + 6 * i) for i in range(4)]
    path = str(tmp_path / "train-00000-of-00001.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for i, image in enumerate(images):
            writer.write(_example(**{"image/encoded": _encoded(image, ("PNG", "JPEG")[i % 2])}))
        writer.write(_example(**{"image/encoded": b"garbage"}))
        writer.write(_example(other=b"no image key"))
    stats = tf_pipeline.SkipStats()
    ds = tf_pipeline.content_dataset(str(tmp_path / "*.tfrecord"), 2, image_size=32, resize_side=34,
                              shuffle=False, repeat=False, stats=stats)
    batches = np.concatenate([b.numpy() for b in ds])
    assert batches.shape == (4, 32, 32, 3)
    assert stats.skipped == 2
    # PNG is lossless: the first record is exactly the centre crop.
    np.testing.assert_allclose(batches[0], images[0][1:33, 1:33] / 255.0, atol=1e-6)


def test_tfrecord_no_match(tmp_path):
    with pytest.raises(UserError, match="No TFRecord files"):
        tf_pipeline.content_dataset("tfrecord:" + str(tmp_path / "train-*"), 2, image_size=32)


def test_tfds_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    stats = tf_pipeline.SkipStats()
    with tfds.testing.mock_data(num_examples=6):
        ds = tf_pipeline.content_dataset("tfds:coco/2017", 2, image_size=32, seed=0, stats=stats)
        batches = [b.numpy() for b in ds.take(4)]  # repeats past 6 examples
    for batch in batches:
        assert batch.shape == (2, 32, 32, 3) and batch.dtype == np.float32
        assert 0.0 <= batch.min() and batch.max() <= 1.0
    assert stats.skipped == 0


def test_tfds_unknown_names():
    with pytest.raises(UserError, match="no_such_dataset"):
        tf_pipeline.content_dataset("tfds:no_such_dataset", 2, image_size=32)


def _format_cases(rng):
    base = Image.fromarray(_photo(rng, 40, 60))
    gray16 = Image.fromarray(np.asarray(base.convert("L")).astype(np.uint16) * 257)
    return {
        "gray.jpg": (base.convert("L"), "JPEG"),
        "cmyk.jpg": (base.convert("CMYK"), "JPEG"),
        "rgba.png": (base.convert("RGBA"), "PNG"),
        "palette.png": (base.convert("P"), "PNG"),
        "gray16.png": (gray16, "PNG"),
        "anim.gif": (base.convert("P"), "GIF"),
        "rgb.bmp": (base, "BMP"),
        "rgb.webp": (base, "WEBP"),
    }


def test_image_formats_decode_alike_in_both_paths(tmp_path, rng):
    for name, (img, fmt) in _format_cases(rng).items():
        path = str(tmp_path / name)
        extra = {"save_all": True, "append_images": [img.rotate(90)]} if fmt == "GIF" else {}
        img.save(path, format=fmt, **extra)
        decoded = tf_pipeline.decode_image(tf.io.read_file(path))
        tf_out = tf_pipeline.preprocess_image(decoded, 32, 34)
        np_out = photo_files.load_and_preprocess(path, 32, 34)
        np.testing.assert_allclose(tf_out.numpy(), np_out, atol=1.01 / 255, err_msg=name)


def test_large_jpeg_draft_off_matches_tf_path(tmp_path, rng):
    path = str(tmp_path / "big.jpg")
    Image.fromarray(_photo(rng, 560, 800)).save(path, quality=95)
    decoded = tf_pipeline.decode_image(tf.io.read_file(path))
    tf_out = tf_pipeline.preprocess_image(decoded, 64, 66).numpy()
    exact = photo_files.load_and_preprocess(path, 64, 66, draft=False)
    fast = photo_files.load_and_preprocess(path, 64, 66)  # decoded at 1/8 scale
    np.testing.assert_allclose(tf_out, exact, atol=1.01 / 255)
    assert np.abs(tf_out - fast).mean() < 4 / 255


def test_folder_dataset_stops_when_files_become_unreadable(tmp_path, rng):
    path = make_folder(str(tmp_path), rng, n=1, bad=False)[0]
    stats = tf_pipeline.SkipStats()
    ds = tf_pipeline.folder_dataset(path, 1, image_size=32, stats=stats)
    with open(path, "wb") as f:
        f.write(b"garbage")
    with pytest.raises(tf.errors.OpError):
        next(iter(ds))
    # The trainer re-raises this one-line error instead of TensorFlow's.
    assert isinstance(stats.error, UserError) and "could be read" in str(stats.error)


def test_tfrecord_names_are_recognised():
    for name in ("/d/train.tfrecord", "/d/coco-train.tfrecord-00000-of-00064",
                 "/d/x.tfrecords", "/d/*.tfrec", "/d/a.jpg,/d/b.tfrecord"):
        assert tf_pipeline._looks_like_tfrecord(name), name
    for name in ("/d/photos", "/d/*.jpg", "/d.tfrecord_dir/photos/*"):
        assert not tf_pipeline._looks_like_tfrecord(name), name


def test_a_tfds_dataset_not_prepared_names_the_flags_and_variable(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(UserError) as e:
        tf_pipeline.content_dataset("tfds:coco/2017", 2, image_size=32, data_dir=str(tmp_path))
    message = str(e.value)
    assert str(tmp_path) in message and "\n" not in message
    for words in ("--tfds_data_dir=DIR", "TFDS_DATA_DIR=DIR", "--download"):
        assert words in message
