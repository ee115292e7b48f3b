"""`Preprocessing`: checks, the resize rule, and the keyword and object forms."""

import dataclasses
import itertools
import pickle

import numpy as np
import pytest
import tensorflow as tf

from magenta_style.data import numpy_loader
from magenta_style.data import photo_files
from magenta_style.data import tf_pipeline
from magenta_style.data.preprocessing import Preprocessing
from magenta_style.data.preprocessing import resized_shape
from magenta_style.data.preprocessing import scaled_side
from magenta_style.errors import UserError
from tests.data.test_photo_files import make_folder

SIZES = [1, 2, 3, 5, 31, 32, 33, 100, 255, 256, 257, 258, 321, 480, 481, 640, 1000, 4032]
SIDES = [1, 2, 34, 40, 258, 259, 512]


def test_defaults_are_magentas():
    p = Preprocessing()
    assert (p.image_size, p.resolved_resize_side()) == (256, 258)
    assert not p.random_crop and not p.random_flip


@pytest.mark.parametrize("kwargs, quoted", [
    (dict(image_size=64, resize_side=32), "Received: image_size=64, resize_side=32"),
    (dict(image_size=0), "Received: image_size=0, resize_side=2"),
    (dict(image_size=-4, resize_side=8), "Received: image_size=-4, resize_side=8"),
    (dict(image_size="256"), "Received: image_size='256'"),
    (dict(image_size=32.0), "Received: image_size=32.0"),
    (dict(image_size=True), "Received: image_size=True"),
    (dict(resize_side=258.5), "Received: resize_side=258.5"),
    (dict(random_crop="false"), "Received: random_crop='false'"),
    (dict(random_flip=None), "Received: random_flip=None"),
    (dict(draft="yes"), "Received: draft='yes'"),
    (dict(antialias=2), "Received: antialias=2"),
])
def test_bad_fields_raise_one_line(kwargs, quoted):
    with pytest.raises(UserError) as info:
        Preprocessing(**kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert message.endswith(quoted), message


def test_size_message_is_check_sizes_one():
    # Existing callers match on "resize_side"; the object keeps that message.
    with pytest.raises(UserError, match="resize_side must be at least image_size"):
        Preprocessing(image_size=64, resize_side=32)


def test_is_frozen_hashable_and_picklable():
    p = Preprocessing(32, 40, random_crop=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.image_size = 64
    assert pickle.loads(pickle.dumps(p)) == p  # the process pool sends it
    assert len({p, Preprocessing(32, 40, random_crop=True)}) == 1
    with pytest.raises(UserError, match="resize_side=8"):
        dataclasses.replace(p, resize_side=8)  # replace checks again


@pytest.mark.parametrize("image_size", [1, 2, 31, 32, 64, 128, 255, 256, 257, 512, 1024])
@pytest.mark.parametrize("extra", [None, 0, 1, 2, 3, 100])
def test_resolved_resize_side_is_magentas_rule(image_size, extra):
    resize_side = None if extra is None else image_size + extra
    expected = image_size + 2 if resize_side is None else resize_side
    p = Preprocessing(image_size, resize_side)
    assert p.resolved_resize_side() == expected
    assert p.resize_side == resize_side  # kept as given


def _branching_resized_shape(height, width, resize_side):
    """The rule both paths used before they shared `scaled_side`."""
    short = min(height, width)

    def scale(n):
        return max(resize_side, (2 * n * resize_side + short) // (2 * short))

    if height <= width:
        return resize_side, scale(width)
    return scale(height), resize_side


def test_resized_shape_one_rule_in_python_and_tensorflow():
    grid = list(itertools.product(SIZES, SIZES, SIDES))
    h, w, side = (np.array(v, np.int64) for v in zip(*grid))
    # As `tf_pipeline.preprocess_image` computes it, for the whole grid at once.
    short = tf.minimum(tf.constant(h), tf.constant(w))
    tf_h = scaled_side(tf.constant(h), short, tf.constant(side)).numpy()
    tf_w = scaled_side(tf.constant(w), short, tf.constant(side)).numpy()
    for i, (height, width, s) in enumerate(grid):
        expected = _branching_resized_shape(height, width, s)
        assert resized_shape(height, width, s) == expected
        assert photo_files.resized_shape(height, width, s) == expected
        assert (tf_h[i], tf_w[i]) == expected


@pytest.mark.parametrize("hw", [(40, 57), (57, 40), (33, 33), (20, 90)])
def test_preprocess_image_resizes_to_resized_shape(hw, rng):
    # With a crop as large as the resized short side, the crop's other side
    # shows the resized size: both paths must take the same window.
    image = rng.integers(0, 256, size=(*hw, 3), dtype=np.uint8)
    p = Preprocessing(image_size=34, resize_side=34, antialias=True)
    np.testing.assert_allclose(tf_pipeline.preprocess_image(image, preprocessing=p).numpy(),
                               photo_files.preprocess_array(image, preprocessing=p),
                               atol=2 / 255 + 1e-6)


def test_keyword_and_object_forms_agree_per_image(tmp_path, rng):
    image = rng.integers(0, 256, size=(45, 60, 3), dtype=np.uint8)
    kwargs = dict(image_size=32, resize_side=40, random_crop=True, random_flip=True)
    p = Preprocessing(**kwargs)
    np.testing.assert_array_equal(
        photo_files.preprocess_array(image, **kwargs, rng=np.random.default_rng(3)),
        photo_files.preprocess_array(image, preprocessing=p, rng=np.random.default_rng(3)))
    seed = tf.constant([3, 4])
    np.testing.assert_array_equal(
        tf_pipeline.preprocess_image(image, **kwargs, seed=seed).numpy(),
        tf_pipeline.preprocess_image(image, preprocessing=p, seed=seed).numpy())
    path = make_folder(str(tmp_path), rng, n=1, bad=False)[0]
    np.testing.assert_array_equal(
        photo_files.load_and_preprocess(path, **kwargs, rng=np.random.default_rng(3)),
        photo_files.load_and_preprocess(path, preprocessing=p, rng=np.random.default_rng(3)))


def test_keyword_and_object_forms_give_identical_batches(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=5, bad=False)
    kwargs = dict(resize_side=40, random_crop=True, random_flip=True)
    p = Preprocessing(image_size=32, **kwargs)

    def tf_batches(**given):
        ds = tf_pipeline.content_dataset(str(tmp_path), 2, seed=4, **given)
        return np.stack([b.numpy() for b in ds.take(4)])

    by_keywords = tf_batches(image_size=32, **kwargs)
    assert by_keywords.shape == (4, 2, 32, 32, 3)
    np.testing.assert_array_equal(by_keywords, tf_batches(preprocessing=p))

    def numpy_batches(**given):
        loader = numpy_loader.NumpyContentLoader(str(tmp_path), 2, seed=4, workers=2, **given)
        return loader, np.stack([b for _, b in zip(range(4), loader)])

    loader, by_keywords = numpy_batches(image_size=32, **kwargs)
    assert by_keywords.shape == (4, 2, 32, 32, 3)
    same, by_object = numpy_batches(preprocessing=p)
    np.testing.assert_array_equal(by_keywords, by_object)
    assert loader.preprocessing == same.preprocessing == dataclasses.replace(p, draft=True)
    assert (same.image_size, same.resize_side, same.random_crop, same.random_flip,
            same.draft) == (32, 40, True, True, True)


def test_loader_resolves_resize_side_from_image_size(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=4, bad=False)
    loader = numpy_loader.NumpyContentLoader(str(tmp_path), 2, image_size=32, workers=1)
    assert loader.resize_side == 34
    assert loader.preprocessing == Preprocessing(32)


def test_object_with_a_conflicting_keyword_is_refused(tmp_path, rng):
    make_folder(str(tmp_path), rng, n=4, bad=False)
    p = Preprocessing(image_size=32)
    with pytest.raises(UserError, match="not both. Received: random_crop=True"):
        tf_pipeline.folder_dataset(str(tmp_path), 2, random_crop=True, preprocessing=p)
    with pytest.raises(UserError, match="Received: image_size=64"):
        numpy_loader.NumpyContentLoader(str(tmp_path), 2, image_size=64, preprocessing=p)
    with pytest.raises(UserError, match="preprocessing must be a Preprocessing"):
        photo_files.preprocess_array(np.zeros((8, 8, 3), np.uint8), preprocessing={"a": 1})
    # A keyword equal to the object's value is not a conflict.
    tf_pipeline.folder_dataset(str(tmp_path), 2, 32, preprocessing=p)
