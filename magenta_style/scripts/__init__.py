"""absl-flag entry points. Each module parses flags and calls one library function.

`bin/<name>` and the console script `magenta_style_<name>` both call
`magenta_style.scripts.<name>.run()`.
"""

import os

# Scripts print what users need; TensorFlow's C++ start-up chatter (CUDA
# probing on CPU-only machines) drowns it. Users can still set it lower.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
