"""The pastiche network: its layers, the builder and the CPU convolution forms.

- `layers`: padded convolution, pad/crop to a multiple, instance
  normalisation taking gamma/beta per example.
- `conditioning`: where gamma/beta come from (`StyleTable`: per-style rows
  mixed by style weights; `StyleVectorProjection`: affine maps of a style
  vector).
- `transformer`: `build_transformer` (Magenta's architecture), the model
  object `PasticheNetwork`, and the layer lists other parts walk.
- `style_predictor`: `build_style_predictor`, painting -> 100-d style vector
  (MobileNetV2 or Inception-v3; Ghiasi et al.).
- `arbitrary_transformer`: `build_arbitrary_transformer` (Magenta's
  `nza_model`, conditioned on a style vector), `ArbitraryStyleModel` (the
  predictor + transformer pair a model directory holds).
- `fast_conv`: Winograd / blocked convolution forms used on CPUs.
"""
