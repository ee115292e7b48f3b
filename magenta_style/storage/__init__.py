"""Files: models, weights and images on disk.

- `model_format`: the model directory (`save_model` / `load_model`), shipped
  models, Magenta TF1 checkpoints both ways.
- `weights_file`: weights in HDF5 keyed by variable path.
- `onnx_weights`: weights of foreign (ONNX) exports.
- `image_io`: reading, resizing and writing images.
- `atomic`: write to a temporary file, then rename.
"""
