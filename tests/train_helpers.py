"""Tiny training fixtures shared by the training tests (not a test module)."""

import os

import numpy as np
from PIL import Image

SIZE = 32  # Content crop side: small enough for seconds per step on 2 cores.


def smooth_images(n, size, seed):
    """`[n, size, size, 3]` float32 in [0, 1]: smooth colour fields, not noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = []
    for _ in range(n):
        a = rng.uniform(1, 6, size=(3, 2))
        p = rng.uniform(0, 6, size=3)
        img = [0.5 + 0.5 * np.sin(a[c, 0] * 3 * yy + a[c, 1] * 3 * xx + p[c]) for c in range(3)]
        out.append(np.stack(img, -1))
    return np.asarray(out, "float32")


def write_images(folder, images, prefix="img", ext="png"):
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, img in enumerate(images):
        path = os.path.join(folder, f"{prefix}{i}.{ext}")
        Image.fromarray(np.round(img * 255).astype("uint8")).save(path)
        paths.append(path)
    return paths


def style_files(folder, n=2, seed=1, names=None):
    """Writes n small striped style images; returns their glob."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    names = names or [f"style{i}" for i in range(n)]
    for i, name in enumerate(names):
        yy, xx = np.mgrid[0:40, 0:40]
        freq = 0.3 + 0.4 * i
        col = rng.uniform(0.2, 1.0, size=3)
        img = (0.5 + 0.5 * np.sin(freq * (xx + (i + 1) * yy)))[..., None] * col
        Image.fromarray(np.round(img * 255).astype("uint8")).save(
            os.path.join(folder, f"{name}.png"))
    return os.path.join(folder, "*.png")


def tiny_config(train_dir, style_glob, vgg_file, **overrides):
    from magenta_style.training import config as train_config

    kwargs = dict(train_dir=str(train_dir), style_images=style_glob, style_image_size=40,
                  vgg_weights=vgg_file, alpha=0.25, batch_size=2, image_size=SIZE,
                  train_steps=4, log_every=1, save_every=100, grid_every=0,
                  jit_compile=False,
                  # Blocks 1-2 only: a quarter of the trace and compute of
                  # Magenta's layers, same code paths.
                  content_weights={"vgg_16/conv2": 1.0},
                  style_weights={"vgg_16/conv1": 1e-4, "vgg_16/conv2": 1e-4})
    kwargs.update(overrides)
    return train_config.TrainConfig(**kwargs)


def weights_by_path(model):
    return {v.path: np.asarray(v).copy() for v in model.variables}


def saved_teacher(path, style_names=("red", "green")):
    """Saves a tiny random multi-style model (a distillation teacher) to `path`."""
    from magenta_style.model import transformer
    from magenta_style.storage import model_format

    model = transformer.build_transformer(len(style_names), alpha=1.0,
                                          contract_widths=(8, 8, 8), num_residual_blocks=1,
                                          expand_widths=(8, 8))
    model_format.save_model(model, str(path), style_names=list(style_names),
                            provenance={"steps": 1, "trained_by": "test"})
    return str(path)
