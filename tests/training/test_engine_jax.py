"""Training under KERAS_BACKEND=jax (the accelerator path): no TensorFlow needed."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = [
    pytest.mark.needs_weights,
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                       reason="jax is not installed; the JAX training path cannot run"),
]

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
