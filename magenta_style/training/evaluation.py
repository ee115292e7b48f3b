"""Style grids and held-out losses per style (Magenta's `image_stylization_evaluate`).

`style_grid` is what training writes to TensorBoard and PNG every few
thousand steps; `evaluate` measures a trained model on photos it never saw.
Both run under the TensorFlow and the JAX backends.
"""

import dataclasses
import glob
import os
from typing import Optional

import numpy as np

from magenta_style import checks
from magenta_style.errors import UserError
from magenta_style.storage import atomic
from magenta_style.stylization import grid as grid_lib


@dataclasses.dataclass
class EvalConfig:
    """What `evaluate` measures; loss defaults are Magenta's."""

    checkpoint: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Model to evaluate: model directory, shipped name or Magenta checkpoint."})
    eval_images: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Held-out photos: folder or glob."})
    style_images: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Glob of the model's style images (in style order)."})
    style_dataset_file: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "A style set file (instead of --style_images)."})
    style_image_size: Optional[int] = dataclasses.field(default=None, metadata={
        "help": "Resolution styles are measured at; None = native."})
    vgg_weights: str = dataclasses.field(default="imagenet", metadata={
        "help": "VGG-16 weights: 'imagenet' or an h5 path."})
    image_size: int = dataclasses.field(default=256, metadata={
        "help": "Photos are resized (short side) and centre-cropped to this."})
    max_images: int = dataclasses.field(default=32, metadata={
        "help": "At most this many photos (Magenta: num_evals 32)."})
    grid_photos: int = dataclasses.field(default=4, metadata={
        "help": "Photos in the style grid."})
    output_dir: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Where losses.json and style_grid.png go."})


# What `evaluate` writes into its output folder: the grid, then the losses.
OUTPUT_FILES = ("style_grid.png", "losses.json")


def _photo_files(pattern):
    if os.path.isdir(pattern):
        files = sorted(os.path.join(pattern, f) for f in os.listdir(pattern)
                       if f.lower().endswith((".jpg", ".jpeg", ".png", ".bmp", ".webp")))
    else:
        files = sorted(glob.glob(pattern))
    if not files:
        raise UserError(f"--eval_images matched no image files. Received: {pattern!r}")
    return files


def _load_photos(pattern, image_size, limit):
    from magenta_style.storage import image_io

    files = _photo_files(pattern)
    photos = []
    for f in files[:limit]:
        photos.append(grid_lib.square_crop(image_io.load_image(f), image_size))
    return photos


def evaluate(config):
    """Held-out losses per style and the style grid PNG.

    Every photo is stylized under every style; the content and style losses
    (`objective.compute_losses`, the training objective) are averaged per
    style.

    Args:
        config: an `EvalConfig`.

    Returns:
        {"per_style": {style name: {part: float}}, "mean": {part: float},
        "grid": PNG path or None}. Also written to
        `<output_dir>/losses.json` when `output_dir` is set.
    """
    from magenta_style.losses import objective
    from magenta_style.storage import model_format
    from magenta_style.training import config as train_config
    from magenta_style.training import modes
    from magenta_style.training import train_state

    if not config.checkpoint:
        raise UserError("--checkpoint is required: the model to evaluate.")
    if not config.eval_images:
        raise UserError("--eval_images is required (a folder or glob of photos).")
    checks.number("--image_size", config.image_size, 16, checks.MAX_SIDE, integer=True)
    checks.number("--max_images", config.max_images, 1, integer=True)
    checks.number("--grid_photos", config.grid_photos, 0, integer=True)
    if config.style_image_size:
        checks.number("--style_image_size", config.style_image_size, 16, checks.MAX_SIDE,
                      integer=True)
    if config.output_dir:  # before any work: no output over an input
        atomic.check_output_dir(config.output_dir, "output folder (--output_dir)")
        atomic.check_not_inputs(
            [os.path.join(config.output_dir, name) for name in OUTPUT_FILES],
            [config.style_dataset_file, *_photo_files(config.eval_images),
             *glob.glob(config.style_images or "")], "output")
    model = model_format.require_multi_style(model_format.load_model(config.checkpoint),
                                             "bin/evaluate")
    names = list(model.style_names)
    tcfg = train_config.TrainConfig(
        train_dir=config.output_dir or ".", style_images=config.style_images,
        style_dataset_file=config.style_dataset_file,
        style_image_size=config.style_image_size, vgg_weights=config.vgg_weights)
    if bool(tcfg.style_images) == bool(tcfg.style_dataset_file):
        raise UserError("Pass exactly one of --style_images and --style_dataset_file.")
    from magenta_style.data import style_grams as style_set_lib

    if tcfg.style_dataset_file:
        styles = style_set_lib.load_style_set(tcfg.style_dataset_file)
    else:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, train_config.STYLE_SET_FILE)
            style_set_lib.create_style_set(tcfg.style_images, path, tcfg.vgg_weights,
                                           tcfg.style_image_size)
            styles = style_set_lib.load_style_set(path)
    n = model.transformer_config.num_styles
    if len(styles.names) != n:
        raise UserError(f"The model holds {n} styles but {len(styles.names)} style images "
                        "were given; pass the model's styles in order.")
    loss_config = tcfg.loss_config()
    grams = style_set_lib.match_grams(styles.grams, loss_config.style_weights)
    loss_net, content_net = modes.loss_networks(tcfg)
    photos = _load_photos(config.eval_images, config.image_size, config.max_images)
    sums = {}
    from tqdm import tqdm

    # Minutes on a CPU (every photo under every style): show how far it got.
    for photo in tqdm(photos, desc="Evaluating", unit="photo"):
        images = np.repeat(photo[None], n, axis=0)
        labels = np.arange(n, dtype="int32")
        from keras import ops

        _, parts = objective.compute_losses(
            model, loss_net, content_net, images, labels, n, 0, grams,
            np.ones([n], "float32"), loss_config)
        for k, v in parts.items():
            sums[k] = sums.get(k, 0.0) + ops.convert_to_numpy(v)
    per_style = {name: {k: float(v[i] / len(photos)) for k, v in sums.items()}
                 for i, name in enumerate(names)}
    mean = {k: float(np.mean(v) / len(photos)) for k, v in sums.items()}
    result = {"per_style": per_style, "mean": mean, "grid": None,
              "num_photos": len(photos)}
    if config.output_dir:
        from magenta_style.storage import image_io

        os.makedirs(config.output_dir, exist_ok=True)
        grid = grid_lib.style_grid(model, photos[:config.grid_photos],
                          style_images=getattr(styles, "images", None))
        result["grid"] = os.path.join(config.output_dir, OUTPUT_FILES[0])
        image_io.save_image(grid, result["grid"])
        train_state.write_json(os.path.join(config.output_dir, OUTPUT_FILES[1]), result)
    return result
