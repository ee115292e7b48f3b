"""`TrainConfig`: every training setting and its default, and the train dir's file names.

Defaults are Magenta's where it had one; the scripts' flags are generated from
this dataclass.
"""

import dataclasses
from typing import Optional

from magenta_style import config as config_lib
from magenta_style.data import style_grams as style_set_lib

STYLE_SET_FILE = "style_set.npz"
MODEL_SUBDIR = "model"
GRID_SUBDIR = "grids"
METRICS_FILE = "metrics.jsonl"
CURVE_FILE = "loss_curve.png"


class _LossWeights:
    """`loss_config()` of a training config holding the three loss weights."""

    def loss_config(self):
        return config_lib.LossConfig(
            content_weights=dict(self.content_weights),
            style_weights=dict(self.style_weights),
            total_variation_weight=float(self.total_variation_weight))


@dataclasses.dataclass
class TrainConfig(_LossWeights):
    """Everything `train` needs. Defaults are Magenta's where it had one."""

    train_dir: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Folder for checkpoints, config.json, TensorBoard logs, grids and the "
                "final model (<train_dir>/model). Rerunning resumes from it."})
    style_images: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Glob of style images; style names are the file names."})
    style_dataset_file: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "A style set written by create_style_dataset (instead of "
                "--style_images)."})
    remeasure_styles: bool = dataclasses.field(default=False, metadata={
        "help": "Resuming with --style_images that differ from those the train_dir "
                "measured: measure them again (default: refuse)."})
    style_image_size: int = dataclasses.field(
        default=style_set_lib.StyleSetConfig.style_image_size,
        metadata=style_set_lib.StyleSetConfig.__dataclass_fields__["style_image_size"].metadata)
    content_images: str = dataclasses.field(default="tfds:coco/2017", metadata={
        "help": "Content photos: a folder, glob, TFRecord pattern or 'tfds:coco/2017'."})
    tfds_data_dir: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "tensorflow-datasets folder for a tfds: --content_images (default "
                "$TFDS_DATA_DIR, else ~/tensorflow_datasets)."})
    download: bool = dataclasses.field(default=False, metadata={
        "help": "Let tensorflow-datasets download and prepare a tfds: --content_images "
                "that is not there yet (COCO 2017: about 19 GB)."})
    vgg_weights: str = dataclasses.field(default="imagenet", metadata={
        "help": "VGG-16 weights: 'imagenet' (Keras cache / $MAGENTA_STYLE_VGG_WEIGHTS) "
                "or an h5 path."})
    init_from: str = dataclasses.field(default="scratch", metadata={
        "help": "'scratch', or a model to fine-tune (model directory, shipped name or "
                "Magenta checkpoint)."})
    append: bool = dataclasses.field(default=False, metadata={
        "help": "Fine-tuning: keep the checkpoint's styles bit-identical and add the "
                "new ones (Magenta replaces them)."})
    alpha: Optional[float] = dataclasses.field(default=None, metadata={
        "help": "Width multiplier. None: 1.0 from scratch (Magenta), the checkpoint's "
                "when fine-tuning."})
    learning_rate: float = dataclasses.field(default=1e-3, metadata={
        "help": "Adam learning rate."})
    batch_size: int = dataclasses.field(default=16, metadata={
        "help": "Global batch size (split across replicas)."})
    image_size: int = dataclasses.field(default=256, metadata={
        "help": "Side of the square content crops."})
    resize_side: Optional[int] = dataclasses.field(default=None, metadata={
        "help": "Short side the content photos are resized to before the crop "
                "(default image_size + 2, Magenta's). Larger, with --random_crop: "
                "smaller crops of photos at that scale."})
    train_steps: int = dataclasses.field(default=40000, metadata={
        "help": "Total steps; a resumed run stops here too."})
    content_weights: dict = dataclasses.field(
        default_factory=lambda: dict(config_lib.LossConfig().content_weights),
        metadata={"help": "Content loss weight per VGG layer."})
    style_weights: dict = dataclasses.field(
        default_factory=lambda: dict(config_lib.LossConfig().style_weights),
        metadata={"help": "Style loss weight per VGG layer."})
    total_variation_weight: float = dataclasses.field(
        default=config_lib.LossConfig().total_variation_weight,
        metadata={"help": "Total variation weight (Magenta: none)."})
    style_coefficients: Optional[list] = dataclasses.field(default=None, metadata={
        "help": "Per-style multipliers of the style loss, one per style (default 1)."})
    clip_gradient_norm: float = dataclasses.field(default=0.0, metadata={
        "help": "Clip each gradient to this norm (Magenta's per-variable clipping); "
                "0 = off."})
    save_every: int = dataclasses.field(default=500, metadata={
        "help": "Steps between checkpoints."})
    keep_checkpoints: int = dataclasses.field(default=3, metadata={
        "help": "Checkpoints kept in train_dir."})
    log_every: int = dataclasses.field(default=50, metadata={
        "help": "Steps between TensorBoard / metrics.jsonl entries."})
    grid_every: int = dataclasses.field(default=1000, metadata={
        "help": "Steps between style grids (TensorBoard + PNG); 0 = only at the end."})
    grid_images: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Photos for the style grid (glob); default: the first content batch."})
    strategy: str = dataclasses.field(default="default", metadata={
        "help": "tf.distribute strategy: default, mirrored or multi_worker (TF_CONFIG)."})
    mixed_precision: bool = dataclasses.field(default=False, metadata={
        "help": "Half-precision compute (accelerators; see --mixed_precision_dtype); CIN "
                "statistics and losses stay float32."})
    mixed_precision_dtype: str = dataclasses.field(default="float16", metadata={
        "help": "The half type of --mixed_precision: float16 (with dynamic loss scaling) "
                "or bfloat16 (float32's exponent range: no loss scaling, 8-bit mantissa)."})
    jit_compile: bool = dataclasses.field(default=True, metadata={
        "help": "Compile the step with XLA (TensorFlow) / jax.jit (JAX)."})
    random_crop: bool = dataclasses.field(default=False, metadata={
        "help": "Random instead of centre crops of the content photos."})
    random_flip: bool = dataclasses.field(default=False, metadata={
        "help": "Random horizontal flips of the content photos."})
    seed: int = dataclasses.field(default=0, metadata={
        "help": "Seed of the weights, the style labels and the content order."})
    model_dir: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Where the trained model is written (default <train_dir>/model): a new or "
                "empty folder, or an earlier model."})
    overwrite: bool = dataclasses.field(default=False, metadata={
        "help": "Replace --model_dir even when it holds files magenta_style did not write "
                "(default: refuse, before training)."})


# Magenta's `arbitrary_image_stylization_train` loss weights: its style weight
# is 0.5e-3 per layer (5x the multi-style network's 1e-4), with total
# variation at 1e4.
ARBITRARY_STYLE_WEIGHTS = {f"vgg_16/conv{i}": 0.5e-3 for i in (1, 2, 3, 4)}
ARBITRARY_CONTENT_WEIGHTS = {"vgg_16/conv3": 1.0}


def _as_in(config_class, name, **default):
    """A field with `config_class`'s help for `name` (and its default, unless
    `default=` is given)."""
    field = config_class.__dataclass_fields__[name]
    if "default" not in default and field.default_factory is not dataclasses.MISSING:
        default = {"default_factory": field.default_factory}
    return dataclasses.field(**(default or {"default": field.default}),
                             metadata=field.metadata)


def _as_in_train_config(name, **default):
    """A field with `TrainConfig`'s help (and default, unless `default=` is given)."""
    return _as_in(TrainConfig, name, **default)


@dataclasses.dataclass
class ArbitraryTrainConfig(_LossWeights):
    """Everything `training.arbitrary.train_arbitrary` needs; Magenta's defaults.

    From `arbitrary_image_stylization_train.py` (Inception-v3 predictor) and
    `arbitrary_image_stylization_train_mobile.py` (MobileNet-v2 predictor,
    its trunk frozen, transformer alpha 0.25).
    """

    train_dir: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Folder for checkpoints, config.json, metrics, TensorBoard logs and the "
                "final model (<train_dir>/model). Rerunning resumes from it."})
    style_images: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Paintings: a folder, glob or comma list of image files."})
    content_images: str = _as_in_train_config("content_images")
    vgg_weights: str = _as_in_train_config("vgg_weights")
    predictor: str = dataclasses.field(default="inception_v3", metadata={
        "help": "Style predictor trunk: inception_v3 (the paper's, to Mixed_6e) or "
                "mobilenet_v2 (Magenta's mobile model)."})
    predictor_weights: Optional[str] = dataclasses.field(default="imagenet", metadata={
        "help": "inception_v3 only: 'imagenet' (Keras's no-top h5 from "
                "$MAGENTA_STYLE_INCEPTION_WEIGHTS or the Keras cache), an h5 path, or "
                "'none' (random). Ignored with --init_from."})
    init_from: str = dataclasses.field(default="scratch", metadata={
        "help": "'scratch', or an arbitrary-style model to continue training (model "
                "directory or shipped name such as arbitrary-v1)."})
    freeze_predictor_trunk: Optional[bool] = dataclasses.field(default=None, metadata={
        "help": "Keep the predictor's trunk fixed (its bottleneck still trains). "
                "Default: Magenta's choice, trained for inception_v3, frozen for "
                "mobilenet_v2."})
    alpha: Optional[float] = dataclasses.field(default=None, metadata={
        "help": "Transformer width multiplier. Default: 1.0 for inception_v3, 0.25 "
                "for mobilenet_v2 (Magenta's); the model's with --init_from."})
    learning_rate: float = dataclasses.field(default=1e-5, metadata={
        "help": "Adam learning rate."})
    batch_size: int = dataclasses.field(default=8, metadata={
        "help": "Photos (and paintings, one each) per step."})
    image_size: int = _as_in_train_config("image_size")
    resize_side: Optional[int] = _as_in_train_config("resize_side")
    style_image_size: int = dataclasses.field(default=256, metadata={
        "help": "Side of the square painting crops (before --random_style_image_size)."})
    augment_style_images: bool = dataclasses.field(default=True, metadata={
        "help": "Random brightness, saturation, hue, flips and crops of the paintings."})
    random_style_image_size: bool = dataclasses.field(default=True, metadata={
        "help": "Resize each batch of paintings to a random side in "
                "[min_style_image_size, max_style_image_size)."})
    min_style_image_size: int = dataclasses.field(default=128, metadata={
        "help": "Smallest random painting side."})
    max_style_image_size: int = dataclasses.field(default=300, metadata={
        "help": "Largest random painting side (exclusive)."})
    train_steps: int = _as_in_train_config("train_steps", default=8000000)
    content_weights: dict = dataclasses.field(
        default_factory=lambda: dict(ARBITRARY_CONTENT_WEIGHTS),
        metadata={"help": "Content loss weight per VGG layer."})
    style_weights: dict = dataclasses.field(
        default_factory=lambda: dict(ARBITRARY_STYLE_WEIGHTS),
        metadata={"help": "Style loss weight per VGG layer."})
    total_variation_weight: float = dataclasses.field(default=1e4, metadata={
        "help": "Total variation weight."})
    clip_gradient_norm: float = dataclasses.field(default=0.0, metadata={
        "help": "Clip each gradient to this norm; 0 = off."})
    save_every: int = _as_in_train_config("save_every")
    keep_checkpoints: int = _as_in_train_config("keep_checkpoints")
    log_every: int = _as_in_train_config("log_every")
    strategy: str = dataclasses.field(default="default", metadata={
        "help": "Only 'default' (one device)."})
    jit_compile: bool = _as_in_train_config("jit_compile")
    random_crop: bool = _as_in_train_config("random_crop")
    random_flip: bool = _as_in_train_config("random_flip")
    seed: int = dataclasses.field(default=0, metadata={
        "help": "Seed of the weights, the paintings drawn and the content order."})
    model_dir: Optional[str] = _as_in_train_config("model_dir")
    overwrite: bool = _as_in_train_config("overwrite")


@dataclasses.dataclass
class DistillConfig:
    """Everything `training.distill.distill` needs (a student learning a teacher's pastiches)."""

    train_dir: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Folder for checkpoints, config.json, metrics and the final model "
                "(<train_dir>/model). Rerunning resumes from it."})
    teacher: str = dataclasses.field(default="varied", metadata={
        "help": "The multi-style model to reproduce: a shipped name or a model directory."})
    init_from: str = dataclasses.field(default="narrowed", metadata={
        "help": "The student's start: 'narrowed' (the teacher's weights cut to "
                "--alpha), 'random', or a model with the teacher's styles to continue."})
    alpha: Optional[float] = dataclasses.field(default=None, metadata={
        "help": "The student's width multiplier (default 0.5; the model's with a "
                "model as --init_from)."})
    content_images: str = _as_in_train_config("content_images")
    tfds_data_dir: Optional[str] = _as_in_train_config("tfds_data_dir")
    download: bool = _as_in_train_config("download")
    learning_rate: float = _as_in_train_config("learning_rate")
    clip_gradient_norm: float = _as_in(ArbitraryTrainConfig, "clip_gradient_norm")
    batch_size: int = dataclasses.field(default=8, metadata={
        "help": "Photos per step, each under one style."})
    image_size: int = _as_in_train_config("image_size")
    resize_side: Optional[int] = _as_in_train_config("resize_side")
    train_steps: int = _as_in_train_config("train_steps", default=20000)
    save_every: int = _as_in_train_config("save_every")
    keep_checkpoints: int = _as_in_train_config("keep_checkpoints")
    log_every: int = _as_in_train_config("log_every")
    strategy: str = _as_in(ArbitraryTrainConfig, "strategy")
    jit_compile: bool = _as_in_train_config("jit_compile")
    random_crop: bool = _as_in_train_config("random_crop", default=True)
    random_flip: bool = _as_in_train_config("random_flip", default=True)
    seed: int = dataclasses.field(default=0, metadata={
        "help": "Seed of the random student, the style labels and the content order."})
    model_dir: Optional[str] = _as_in_train_config("model_dir")
    overwrite: bool = _as_in_train_config("overwrite")
