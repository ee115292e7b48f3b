"""The pastiche network: its layers, the builder and the CPU convolution forms.

- `layers`: padded convolution, pad/crop to a multiple, instance
  normalisation taking gamma/beta per example.
- `conditioning`: where gamma/beta come from (`StyleTable`: per-style rows
  mixed by style weights).
- `transformer`: `build_transformer` (Magenta's architecture), the model
  object `PasticheNetwork`, and the layer lists other parts walk.
- `fast_conv`: Winograd / blocked convolution forms used on CPUs.
"""
