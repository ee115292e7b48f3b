"""The same model code gives the same numbers under TensorFlow and JAX."""

import importlib.util
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from magenta_style.losses import loss_terms
from magenta_style.storage import model_format

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None,
    reason="JAX is not installed (pip install 'jax[cpu]'); CI installs it")

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    from magenta_style.losses import loss_terms
    from magenta_style.storage import model_format
    data = np.load(sys.argv[1])
    model = model_format.load_model("android-26")
    out = np.asarray(model([data["x"], data["w"]]))
    gram = np.asarray(loss_terms.gram_matrix(data["x"]))
    tv, _ = loss_terms.total_variation_loss(data["x"], 2.0)
    import jax  # the Gram matrix's hand-written gradient, through jax.grad
    gram_grad = jax.grad(lambda f: (loss_terms.gram_matrix(f) * data["g"]).sum())(data["x"])
    np.savez(sys.argv[2], out=out, gram=gram, tv=np.asarray(tv), gram_grad=np.asarray(gram_grad))
    # The accelerator machines have no TensorFlow: the model must not need it.
    assert "tensorflow" not in sys.modules, "model code imported tensorflow"
""")


def test_transformer_and_losses_match_under_jax(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((2, 36, 44, 3), dtype=np.float32)
    w = np.zeros((2, 26), np.float32)
    w[0, 3] = 1.0
    w[1, [5, 12]] = [0.7, 0.6]
    g = rng.standard_normal((2, 3, 3)).astype(np.float32)  # not symmetric
    np.savez(tmp_path / "in.npz", x=x, w=w, g=g)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    jax_out = np.load(tmp_path / "out.npz")
    model = model_format.load_model("android-26")
    np.testing.assert_allclose(jax_out["out"], np.asarray(model([x, w])), atol=2e-5)
    np.testing.assert_allclose(jax_out["gram"], np.asarray(loss_terms.gram_matrix(x)), rtol=1e-5)
    tv, _ = loss_terms.total_variation_loss(x, 2.0)
    np.testing.assert_allclose(jax_out["tv"], float(tv), rtol=1e-5)
    flat = x.reshape(2, -1, 3)
    want = (flat @ (g + g.transpose(0, 2, 1))).reshape(x.shape) / (36 * 44)
    np.testing.assert_allclose(jax_out["gram_grad"], want, rtol=1e-4, atol=1e-6)


REGIONS_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    from magenta_style.storage import model_format
    from magenta_style.stylization import regions
    from magenta_style.stylization import runner
    data = np.load(sys.argv[1])
    model = model_format.load_model("android-26")
    outs = {s: np.asarray(runner.region_runner(model, statistics=s)(data["x"], data["m"],
                                                                    data["r"]))
            for s in regions.STATISTICS}
    np.savez(sys.argv[2], **outs)
    assert "tensorflow" not in sys.modules, "regions imported tensorflow"
""")


def test_styles_in_regions_match_under_jax(tmp_path):
    from magenta_style.stylization import regions
    from magenta_style.stylization import runner

    x = np.random.default_rng(1).random((1, 28, 40, 3), dtype=np.float32)
    m = np.zeros((1, 28, 40, 2), np.float32)
    m[..., :17, 0] = 1
    m[..., 17:, 1] = 1
    r = np.eye(26, dtype=np.float32)[[3, 12]]
    np.savez(tmp_path / "in.npz", x=x, m=m, r=r)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, "-c", REGIONS_SCRIPT, str(tmp_path / "in.npz"),
         str(tmp_path / "out.npz")], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    jax_out = np.load(tmp_path / "out.npz")
    model = model_format.load_model("android-26")
    for statistics in regions.STATISTICS:
        np.testing.assert_allclose(
            jax_out[statistics],
            np.asarray(runner.region_runner(model, statistics=statistics)(x, m, r)),
            atol=5e-5)  # float rounding: TensorFlow fuses one image's instance norm
