"""Writes tests/testdata/model_format2/: a model directory as saved in 2026-11.

    python tests/testdata/make_model_fixture.py

Run once, with the code of commit 457cf32; the directory is committed so that
tests/storage/test_model_format.py can check that directories written before
later changes to the model object still load and give the same pastiches.
It also stores the pastiches of a fixed input (`expected.npz`).
"""

import os

import numpy as np

from magenta_style.model import transformer
from magenta_style.storage import model_format

HERE = os.path.dirname(os.path.abspath(__file__))


def fixture_input():
    """(image `[1, 20, 28, 3]` in [0, 1], style weights `[2, 2]`), fixed."""
    rng = np.random.default_rng(11)
    image = rng.random((1, 20, 28, 3), dtype=np.float32)
    return np.repeat(image, 2, axis=0), np.array([[1, 0], [0.4, 0.6]], "float32")


def main():
    model = transformer.build_transformer(2, alpha=0.125)
    rng = np.random.default_rng(7)
    for v in model.weights:
        v.assign(rng.normal(0, 0.2, v.shape).astype("float32"))
    out = os.path.join(HERE, "model_format2")
    model_format.save_model(model, out, style_names=["dots", "waves"],
                            provenance={"made_by": "tests/testdata/make_model_fixture.py"})
    image, weights = fixture_input()
    np.savez(os.path.join(out, "expected.npz"), pastiche=np.asarray(model([image, weights])))
    print("wrote", out)


if __name__ == "__main__":
    main()
