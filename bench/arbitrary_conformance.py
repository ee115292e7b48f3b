"""arbitrary-v1 against Magenta's released networks: float graphs and int8 outputs.

    PYTHONPATH=. python bench/arbitrary_conformance.py [--reference PATH/reference.npz]

Prints the max and mean absolute differences of the shipped model's style
vectors and pastiches from `reference.npz`: the float ONNX graphs (what
tests/model/test_arbitrary_conformance.py holds to 1e-5 / 1e-4) and the
shipped int8 graphs (not a target: the int8 network is a coarse
approximation of its own float math; see the reference's README). Same
inputs as the reference (its preprocessed arrays, float style vectors).
"""

import argparse
import os

import numpy as np

from magenta_style.storage import model_format

HERE = os.path.dirname(os.path.abspath(__file__))


def stats(a, b):
    d = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
    return f"max {d.max():.2e}  mean {d.mean():.2e}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default=os.path.join(
        HERE, "..", "..", "shared", "models", "arbitrary_v1", "reference.npz"))
    args = parser.parse_args()
    ref = np.load(args.reference)
    model = model_format.load_model("arbitrary-v1")
    vectors = np.asarray(model.predictor(ref["style_image"]))
    own = np.asarray(model.predictor(ref["photo_style_image"]))
    print("style vectors, 3 paintings:  float", stats(vectors, ref["style_vector_float"]),
          "| int8", stats(vectors, ref["style_vector_int8"]))
    print("style vector of the photo:   float", stats(own, ref["photo_style_vector_float"]),
          "| int8", stats(own, ref["photo_style_vector_int8"]))
    outs = np.stack([np.asarray(model.transformer(
        [np.repeat(ref["content_image"][i:i + 1], 3, 0), ref["style_vector_float"]]))
        for i in range(3)])
    print("pastiches, 9 pairs (stride 4): float", stats(outs[:, :, ::4, ::4],
                                                         ref["stylized_float_s4"]),
          "| int8", stats(outs[:, :, ::4, ::4], ref["stylized_int8_s4"]))
    print("channel means, 9 pairs:        float", stats(outs.mean(axis=(2, 3)),
                                                         ref["stylized_float_channel_mean"]))
    i = int(ref["interp_photo_index"])
    interp = np.asarray(model.transformer([ref["content_image"][i:i + 1],
                                           ref["interp_style_vector_float"]]))
    print("interpolated (full res):       float", stats(interp, ref["stylized_interp_float"]),
          "| int8", stats(interp, ref["stylized_interp_int8"]))
    dyn = np.asarray(model.transformer([ref["content_image"][2:3, :256, :320],
                                        ref["style_vector_float"][2:3]]))
    print("256x320:                       float", stats(dyn, ref["stylized_256x320_float"]))


if __name__ == "__main__":
    main()
