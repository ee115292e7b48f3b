"""Files: models, weights and images on disk.

- `model_format`: the model directory (`save_model`), shipped models, and
  the one loader (`load_model`, with `model_cache` for inference).
- `model_cache`: loaded models shared by inference, keyed by their files.
- `magenta_checkpoint`: Magenta TF1 checkpoints both ways.
- `arbitrary_format`: arbitrary-style model directories.
- `weights_file`: weights in HDF5 keyed by variable path.
- `onnx_weights`: weights of foreign (ONNX) exports.
- `image_io`: reading, resizing and writing images.
- `model_config`: a model's config.json as untrusted input (bounds,
  checksum) and how a model folder is recognised.
- `json_file`: JSON read back with size and nesting limits.
- `atomic`: write to a temporary file, then rename; never over a user's
  folder or over an input.
"""
