"""Writes a small VGG-16 weights file: only the blocks the losses use, float16.

    python tools/trim_vgg.py \
        --input ../shared/weights/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 \
        --output /tmp/carry/vgg16_blocks1-4_fp16.h5

Magenta's losses read `vgg_16/conv1` .. `conv4` (block4_conv3 is the deepest
layer), so blocks 1-4 are all training needs; float16 halves them again
(58.9 MB -> about 15 MB), which matters when everything carried to an
accelerator machine must fit in 64 MiB. `vgg.build_loss_network` loads
weights by layer name and casts them to float32, so the trimmed file is a
drop-in `--vgg_weights`. Float16 rounding changes the features by 0.3-1.4 %
and the Gram matrices by 0.3-1.1 % (relative RMS, conv1..conv4, on a 256 px
photo); measure the style set with the same file you train with, so targets
and pastiches see the same network. `--dtype=float32` (30.6 MB) is exact.
"""

import argparse

import h5py
import numpy as np

from magenta_style.losses import vgg


def trim(input_path, output_path, last_layer="block4_conv3", dtype="float16"):
    """Copies the conv layers up to `last_layer` into a Keras-layout h5 file.

    Returns:
        The list of layer names written.
    """
    names = vgg.keras_layer_names("vgg16")
    keep = names[: names.index(vgg.resolve_layer(last_layer)) + 1]
    with h5py.File(input_path, "r") as src, h5py.File(output_path, "w") as dst:
        root = src["model_weights"] if "model_weights" in src else src
        for key in ("backend", "keras_version"):
            if key in src.attrs:
                dst.attrs[key] = src.attrs[key]
        dst.attrs["layer_names"] = np.asarray([n.encode() for n in keep])
        for name in keep:
            group = dst.create_group(name)
            if name not in root:  # Pooling layers hold no weights.
                group.attrs["weight_names"] = np.asarray([], dtype="S1")
                continue
            weight_names = list(root[name].attrs["weight_names"])
            group.attrs["weight_names"] = weight_names
            for wname in weight_names:
                wname = wname.decode() if isinstance(wname, bytes) else wname
                group.create_dataset(wname, data=np.asarray(root[name][wname], dtype=dtype))
    return keep


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="Keras VGG-16 no-top h5 file.")
    parser.add_argument("--output", required=True)
    parser.add_argument("--last_layer", default="block4_conv3",
                        help="Deepest layer kept (Magenta's vgg_16/conv4).")
    parser.add_argument("--dtype", default="float16", choices=("float16", "float32"))
    args = parser.parse_args()
    kept = trim(args.input, args.output, args.last_layer, args.dtype)
    print(f"Wrote {len(kept)} layers ({kept[0]} .. {kept[-1]}, {args.dtype}) to {args.output}")


if __name__ == "__main__":
    main()
