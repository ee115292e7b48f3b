"""Style sets: labels, names, Grams vs a NumPy reference, the file format."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from magenta_style.data import style_grams
from magenta_style.errors import UserError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAYERS = ("vgg_16/conv1", "vgg_16/conv2")


def make_styles(root, rng):
    """Three tiny style images of different shapes and modes."""
    os.makedirs(root, exist_ok=True)
    specs = [("b_waves.png", (40, 56), "RGB"), ("a_dots.jpg", (48, 48), "RGB"),
             ("c_gray.png", (64, 32), "L")]
    paths = []
    for name, (h, w), mode in specs:
        arr = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        img = Image.fromarray(arr).convert(mode)
        path = os.path.join(root, name)
        img.save(path)
        paths.append(path)
    return sorted(paths)


def numpy_gram(features):
    """`[1, h, w, C]` -> `[C, C]`, F^T F / (h w)."""
    f = np.asarray(features, np.float64)[0]
    flat = f.reshape(-1, f.shape[-1])
    return flat.T @ flat / flat.shape[0]


@pytest.fixture(scope="module")
def created(tmp_path_factory, vgg16_file):
    if not os.path.isfile(vgg16_file):
        pytest.skip("VGG-16 weights are absent")
    root = tmp_path_factory.mktemp("styles")
    paths = make_styles(str(root / "img"), np.random.default_rng(0))
    out = str(root / "set.npz")
    result = style_grams.create_style_set(str(root / "img" / "*"), out, vgg_weights=vgg16_file,
                                        style_image_size=32, layers=LAYERS, progress=False)
    return paths, out, result


@pytest.mark.needs_weights
def test_labels_names_and_measured_images(created):
    paths, _, result = created
    assert result.names == ["a_dots", "b_waves", "c_gray"]
    assert result.meta["files"] == [os.path.abspath(p) for p in paths]
    assert [im.shape for im in result.images] == [(32, 32, 3), (32, 45, 3), (64, 32, 3)]
    assert all(im.dtype == np.uint8 for im in result.images)


@pytest.mark.needs_weights
def test_grams_match_numpy_reference(created, vgg16_file):
    from magenta_style.losses import vgg

    _, _, result = created
    net = vgg.build_loss_network(weights=vgg16_file, endpoints=LAYERS)
    for label, image in enumerate(result.images):
        feats = net(image[None].astype("float32") / 255.0)
        for layer in LAYERS:
            expected = numpy_gram(np.asarray(feats[layer]))
            got = result.grams[layer][label]
            assert got.dtype == np.float32
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3 * expected.max())


@pytest.mark.needs_weights
def test_save_load_round_trip_without_tensorflow(created):
    _, out, result = created
    code = (
        "import sys; from magenta_style.data.style_grams import load_style_set; "
        f"s = load_style_set({out!r}); "
        "assert s.names == ['a_dots', 'b_waves', 'c_gray'], s.names; "
        "assert s.grams['vgg_16/conv2'].shape == (3, 128, 128); "
        "sys.exit(1 if 'tensorflow' in sys.modules else 0)"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    loaded = style_grams.load_style_set(out)
    assert loaded.names == result.names
    assert loaded.meta["style_image_size"] == 32 and loaded.meta["layers"] == list(LAYERS)
    for layer in LAYERS:
        np.testing.assert_array_equal(loaded.grams[layer], result.grams[layer])
    for a, b in zip(loaded.images, result.images):
        np.testing.assert_array_equal(a, b)
    # Keras spellings find the same Grams; a missing layer says how to add it.
    np.testing.assert_array_equal(loaded.grams_for(["block2_conv2"])["block2_conv2"],
                                  loaded.grams["vgg_16/conv2"])
    with pytest.raises(UserError, match="vgg_16/conv4"):
        loaded.grams_for(["vgg_16/conv4"])
    sub = loaded.select([2, 0])
    assert sub.names == ["c_gray", "a_dots"] and sub.grams["vgg_16/conv1"].shape[0] == 2


def test_native_resolution_keeps_size(tmp_path, rng):
    path = make_styles(str(tmp_path), rng)[0]
    assert style_grams.load_style_image(path, None).shape == (48, 48, 3)
    assert style_grams.load_style_image(path, 0).shape == (48, 48, 3)
    assert style_grams.load_style_image(path, 24).shape == (24, 24, 3)


def test_unique_names():
    assert style_grams.style_names(["x/a.jpg", "y/a.png", "b.jpg"]) == ["a", "a_2", "b"]


def test_glob_matching_nothing(tmp_path):
    pattern = str(tmp_path / "nope" / "*.jpg")
    with pytest.raises(UserError, match="nope"):
        style_grams.compute_style_set(pattern, vgg_weights=None, progress=False)


def test_unreadable_style_image_names_it(tmp_path):
    (tmp_path / "broken.jpg").write_text("not an image")
    with pytest.raises(UserError, match="broken.jpg"):
        style_grams.compute_style_set(str(tmp_path / "*.jpg"), vgg_weights=None,
                                    layers=["vgg_16/conv1"], progress=False)


def test_load_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        style_grams.load_style_set(str(tmp_path / "missing.npz"))
    np.savez(str(tmp_path / "other.npz"), x=np.zeros(3))
    with pytest.raises(UserError, match="not a style set"):
        style_grams.load_style_set(str(tmp_path / "other.npz"))


def test_magenta_tfrecord_layout(tmp_path, rng):
    tf = pytest.importorskip("tensorflow")
    grams = {"vgg_16/conv1": rng.random((2, 64, 64), dtype=np.float32)}
    images = [rng.integers(0, 256, size=(8, 12, 3), dtype=np.uint8) for _ in range(2)]
    s = style_grams.StyleSet(["a", "b"], grams, images, {"arch": "vgg16"})
    path = str(tmp_path / "styles.tfrecord")
    style_grams.write_magenta_tfrecord(s, path)
    spec = {"label": tf.io.FixedLenFeature([], tf.int64),
            "image_raw": tf.io.FixedLenFeature([], tf.string),
            "vgg_16/conv1": tf.io.FixedLenFeature([64 * 64], tf.float32)}
    records = [tf.io.parse_single_example(r, spec) for r in tf.data.TFRecordDataset(path)]
    assert [int(r["label"]) for r in records] == [0, 1]
    for label, r in enumerate(records):
        np.testing.assert_array_equal(r["vgg_16/conv1"].numpy().reshape(64, 64),
                                      grams["vgg_16/conv1"][label])
        assert tf.io.decode_jpeg(r["image_raw"]).shape == (8, 12, 3)
    assert os.listdir(tmp_path) == ["styles.tfrecord"]


@pytest.mark.slow
@pytest.mark.needs_weights
def test_jax_backend_without_tensorflow_gives_the_same_grams(created, vgg16_file, tmp_path):
    pytest.importorskip("jax")
    paths, _, result = created
    out = str(tmp_path / "jax.npz")
    code = (
        "import sys; from magenta_style.data import style_grams; "
        f"style_grams.create_style_set({paths!r}, {out!r}, vgg_weights={vgg16_file!r}, "
        f"style_image_size=32, layers={list(LAYERS)!r}, progress=False); "
        "sys.exit(1 if 'tensorflow' in sys.modules else 0)"
    )
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    loaded = style_grams.load_style_set(out)
    for layer in LAYERS:
        np.testing.assert_allclose(loaded.grams[layer], result.grams[layer], rtol=1e-4,
                                   atol=1e-4 * result.grams[layer].max())


def test_bad_arguments_are_one_line_errors(tmp_path, rng):
    make_styles(str(tmp_path), rng)
    with pytest.raises(UserError, match="style_image_size"):
        style_grams.compute_style_set(str(tmp_path), vgg_weights=None, style_image_size=-5)
    with pytest.raises(UserError, match="output_file"):
        style_grams.create_style_set(str(tmp_path), str(tmp_path), vgg_weights=None)
    with pytest.raises(UserError, match="Unknown vgg16 layer"):
        style_grams.compute_style_set(str(tmp_path), vgg_weights=None, layers=["conv9"],
                                    progress=False)
