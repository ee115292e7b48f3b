"""The pastiche network: its layers, the builder and the CPU convolution forms.

- `layers`: padded convolution, pad/crop to a multiple, conditional instance
  normalisation.
- `transformer`: `build_transformer` (Magenta's architecture) and the layer
  lists other parts walk.
- `fast_conv`: Winograd / blocked convolution forms used on CPUs.
"""
