"""Writes tests/testdata/goldens.npz: the only writer of that file.

    python tests/testdata/generate_goldens.py \
        ../shared/weights/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5

The VGG goldens come from `keras.applications.VGG16` itself (max pooling, as
Keras ships it) on a fixed pseudo-random image, so they check that our loss
network reproduces Keras's VGG-16 on the shared weights file.
"""

import os
import sys

import keras
import numpy as np


def main(weights):
    x = np.random.default_rng(1234).random((1, 40, 56, 3), dtype=np.float32)
    base = keras.applications.VGG16(include_top=False, weights=weights)
    names = ["block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"]
    ref = keras.Model(base.input, [base.get_layer(n).output for n in names])
    outs = ref(keras.applications.vgg16.preprocess_input(x * 255.0))
    goldens = {"vgg_input": x, "pooling": np.array("max")}
    for b, out in enumerate(outs, 1):
        goldens[f"vgg_16/conv{b}"] = np.asarray(out)[0, :3, :3, :4]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "goldens.npz")
    np.savez(path, **goldens)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1])
