"""magenta_style: multi-style neural style transfer for TensorFlow 2 / Keras 3.

A rebuild of Magenta's "A Learned Representation for Artistic Style"
(Dumoulin, Shlens & Kudlur): one feed-forward network holds many styles, each
style being the gamma/beta of conditional instance normalisation.

Importing this package does no I/O and no network access; heavy submodules
load on first use.
"""

import importlib

__version__ = "0.1.0"

# Public name -> module that defines it. Loaded lazily (PEP 562) so that
# `import magenta_style` stays cheap and a part can be used without the rest.
_EXPORTS = {
    "build_transformer": "model.transformer",
    "build_arbitrary_transformer": "model.arbitrary_transformer",
    "build_style_predictor": "model.style_predictor",
    "build_loss_network": "losses.vgg",
    "save_model": "storage.model_format",
    "load_model": "storage.model_format",
    "load_magenta_checkpoint": "storage.magenta_checkpoint",
    "save_magenta_checkpoint": "storage.magenta_checkpoint",
    "TransformerConfig": "config",
    "LossConfig": "config",
    "UserError": "errors",
    "stylize": "stylization.api",
    "style_vector": "stylization.api",
    "style_vectors": "stylization.api",
    "stylize_files": "stylization.batch_files",
    "contact_sheet": "stylization.batch_files",
    "StylizeConfig": "stylization.api",
    "RenderOptions": "stylization.options",
    "MultiStyleTransfer": "stylization.tasks",
    "ArbitraryStyleTransfer": "stylization.tasks",
    "OptimizeConfig": "optimization.config",
    "TrainConfig": "training.config",
    "evaluate": "training.evaluation",
    "content_dataset": "data.tf_pipeline",
    "Preprocessing": "data.preprocessing",
    "create_style_set": "data.style_grams",
    "load_style_set": "data.style_grams",
    "optimize": "optimization.gatys",
    "train": "training.loop",
    "train_arbitrary": "training.arbitrary",
    "distill": "training.distill",
    "ArbitraryTrainConfig": "training.config",
    "DistillConfig": "training.config",
    "export_saved_model": "export",
    "stylize_video": "video.api",
    "VideoConfig": "video.api",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'magenta_style' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"magenta_style.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
