"""Training under KERAS_BACKEND=jax (the accelerator path): no TensorFlow needed."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                                reason="jax is not installed; the JAX training path cannot run")

SCRIPT = textwrap.dedent("""
    import json, sys
    from magenta_style.training import loop
    from tests import train_helpers as th
    train_dir, vgg, photos = sys.argv[1:4]
    styles = th.style_files(train_dir + "_styles", n=2)
    th.write_images(photos, th.smooth_images(4, 40, seed=2), ext="jpg")
    # A grid mid-run (Keras's compiled predict) must leave the step's
    # buffers alone; fine-tuning also keeps frozen weights beside the step.
    cfg = th.tiny_config(train_dir, styles, vgg, train_steps=4, jit_compile=True,
                         save_every=2, grid_every=2, content_images=photos)
    model = loop.train(cfg)
    tuned = loop.train(th.tiny_config(
        train_dir + "_ft", styles, vgg, train_steps=3, jit_compile=True, grid_every=1,
        init_from=train_dir + "/model", content_images=photos))
    print("RESULT", json.dumps({"tf": "tensorflow" in sys.modules,
                                "styles": list(model.style_names),
                                "tuned_steps": tuned.provenance["steps"]}))
""")


@pytest.mark.needs_weights
@pytest.mark.slow
def test_jax_backend_trains_without_tensorflow(tmp_path, vgg16_file):
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=REPO, JAX_PLATFORMS="cpu")
    train_dir = str(tmp_path / "run")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, train_dir, vgg16_file, str(tmp_path / "photos")],
        capture_output=True, text=True, env=env, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.split("RESULT", 1)[1])
    assert result["tf"] is False  # Photos, styles, VGG, step, checkpoints: no TF.
    assert result["styles"] == ["style0", "style1"]
    assert result["tuned_steps"] == 3
    assert len(os.listdir(os.path.join(train_dir, "grids"))) == 2  # Steps 2 and 4.
    with open(os.path.join(train_dir, "metrics.jsonl")) as f:
        losses = [json.loads(line)["losses/total_loss"] for line in f]
    assert len(losses) == 4 and all(map(lambda v: v == v and v < float("inf"), losses))
    assert losses[-1] < losses[0]
    with open(os.path.join(train_dir, "model", "config.json")) as f:
        assert json.load(f)["provenance"]["backend"] == "jax"
    assert os.path.isfile(os.path.join(train_dir, "ckpt-4.npz"))


def test_uint8_content_becomes_the_loaders_floats_exactly():
    import jax
    import numpy as np

    from magenta_style.training import engine_jax

    values = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    expected = values.astype(np.float32) / np.float32(255.0)  # The loader's float32 path.
    on_device = np.asarray(jax.jit(engine_jax.unit_float)(values))
    assert on_device.dtype == np.float32
    np.testing.assert_array_equal(on_device, expected)
    floats = np.full((1, 2, 2, 3), 0.25, np.float32)
    assert engine_jax.unit_float(floats) is floats


HALF_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from magenta_style.training import loop
    from tests import train_helpers as th
    train_dir, vgg, dtype = sys.argv[1:4]
    styles = th.style_files(train_dir + "_styles", n=2)
    content = th.smooth_images(4, th.SIZE, seed=2)

    def run(steps):
        cfg = th.tiny_config(train_dir, styles, vgg, train_steps=steps, jit_compile=True,
                             mixed_precision=True, mixed_precision_dtype=dtype)
        return loop.train(cfg, content=content)

    run(3)
    model = run(5)  # Resumes at step 3.
    out = np.asarray(model.predict([content[:1], np.eye(2, dtype="float32")[:1]], verbose=0))
    print("RESULT", json.dumps({"steps": model.provenance["steps"],
                                "weights": sorted({v.dtype for v in model.weights}),
                                "compute": sorted({la.compute_dtype for la in model.layers}),
                                "finite": bool(np.isfinite(out).all())}))
""")


@pytest.mark.needs_weights
@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_a_half_precision_run_trains_resumes_and_stays_finite(tmp_path, vgg16_file, dtype):
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=REPO, JAX_PLATFORMS="cpu")
    train_dir = str(tmp_path / "run")
    proc = subprocess.run([sys.executable, "-c", HALF_SCRIPT, train_dir, vgg16_file, dtype],
                          capture_output=True, text=True, env=env, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.split("RESULT", 1)[1])
    # Convolutions compute in the half type, instance norms in float32.
    assert result == {"steps": 5, "weights": ["float32"], "compute": sorted([dtype, "float32"]),
                      "finite": True}
    with open(os.path.join(train_dir, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5]  # The second run resumed.
    losses = [r["losses/total_loss"] for r in records]
    assert all(v == v and v < float("inf") for v in losses)


@pytest.fixture
def keeps_jax_cache_settings():
    """`Engine` points JAX's compilation cache at the train dir; put it back."""
    import jax

    names = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs")
    previous = {name: getattr(jax.config, name) for name in names}
    yield
    for name, value in previous.items():
        jax.config.update(name, value)


def test_photo_batches_reach_the_device_as_uint8(tmp_path, rng, keeps_jax_cache_settings):
    import jax
    import numpy as np

    from magenta_style.data import numpy_loader
    from magenta_style.training import config as train_config
    from magenta_style.training import engine_jax
    from tests.data.test_photo_files import make_folder

    make_folder(str(tmp_path / "photos"), rng, n=6, bad=False)
    cfg = train_config.TrainConfig(
        train_dir=str(tmp_path / "run"), batch_size=2, image_size=32, seed=5,
        content_images=str(tmp_path / "photos"), random_crop=True, style_images="unused")
    engine = engine_jax.Engine(cfg)
    feed = engine.batches(start_step=1)
    fed = [next(feed) for _ in range(3)]
    feed.close()
    assert all(isinstance(b, jax.Array) and b.dtype == np.uint8 for b in fed)
    # The same stream as the float32 loader from the same place (step 1 done).
    loader = iter(numpy_loader.NumpyContentLoader(
        str(tmp_path / "photos"), 2, image_size=32, seed=5, random_crop=True,
        start_position=2))
    for batch in fed:
        np.testing.assert_array_equal(engine.local_images(batch), next(loader))


def test_in_memory_content_stays_float32(tmp_path, keeps_jax_cache_settings):
    import jax
    import numpy as np

    from magenta_style.training import config as train_config
    from magenta_style.training import engine_jax

    content = np.random.default_rng(0).random((3, 16, 16, 3), dtype=np.float32)
    cfg = train_config.TrainConfig(train_dir=str(tmp_path), batch_size=2, image_size=16,
                                   style_images="unused")
    feed = engine_jax.Engine(cfg, content).batches(start_step=1)
    batch = next(feed)
    feed.close()
    assert isinstance(batch, jax.Array) and batch.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(batch), content[[2, 0]])
