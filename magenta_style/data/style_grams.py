"""Style sets: style images with their Gram matrices, computed once.

Magenta's `image_stylization_create_dataset` wrote a TFRecord per style set;
training read the precomputed Grams from it. Ours is an `.npz` file that
loads with NumPy alone (training under `KERAS_BACKEND=jax` has no
TensorFlow), holding:

- the style names (file stems, in label order: the sorted file list, as
  Magenta labelled styles by their order in the glob);
- for each loss-network layer, the Grams of every style, `[N, C, C]`
  float32, `F^T F / (H * W)` as `loss_terms.gram_matrix` computes them;
- each style image as measured, `[h, w, 3]` uint8 (for style grids, and so
  the Grams can be recomputed exactly from the file);
- metadata (layers, loss network, measuring size, source files).

Departure from Magenta: styles are measured with their shorter side resized
to `style_image_size` (default 256, the content crop size), not at native
resolution. A Gram depends on scale: the same painting measured at 2000 px
gives brush strokes 8x finer relative to VGG's receptive fields than at
256 px, and in Magenta the effective style scale silently depended on the
file's size, which confused users. `style_image_size=None` restores native
resolution.

Nothing here imports TensorFlow; the loss network runs on any Keras backend.
"""

import dataclasses
import io
import json
import os

import numpy as np

from magenta_style import checks
from magenta_style.config import MAGENTA_STYLE_WEIGHTS
from magenta_style.data.photo_files import list_image_files
from magenta_style.errors import UserError
from magenta_style.storage import atomic
from magenta_style.storage import image_io
from magenta_style.storage import json_file
from magenta_style.storage import npz_file

FORMAT = "magenta_style.data.style_grams"
VERSION = 1
# The layers training uses by default (Magenta's style weights). Magenta also
# stored conv5 and pool1..5; add them with `layers=` when the loss needs them.
DEFAULT_LAYERS = tuple(MAGENTA_STYLE_WEIGHTS)
# The shortest side a style image is measured at: VGG pools it 4 times.
MIN_SIDE = 16


@dataclasses.dataclass(frozen=True)
class StyleSetConfig:
    """How a style set is made (the flags of `bin/create_style_dataset`)."""

    style_files: str = dataclasses.field(default=None, metadata={
        "help": "Style images: a glob (quote it), a folder, or a comma-separated list. "
                "Labels follow the sorted file list; names are the file stems."})
    output_file: str = dataclasses.field(default=None, metadata={
        "help": "Where to write the style set (.npz; a .tfrecord name writes Magenta's "
                "TFRecord layout as well, which needs TensorFlow)."})
    style_image_size: int = dataclasses.field(default=256, metadata={
        "help": "Resize each style image so its shorter side is this many pixels before "
                "measuring its Grams; 0 measures at native resolution (Magenta's "
                "behaviour, where the style scale depends on the file's size)."})
    vgg_weights: str = dataclasses.field(default="imagenet", metadata={
        "help": "VGG weights: 'imagenet' (Keras's download/cache or "
                "$MAGENTA_STYLE_VGG_WEIGHTS) or the path of a Keras-layout .h5 file."})
    layers: tuple = dataclasses.field(default=DEFAULT_LAYERS, metadata={
        "help": "Loss-network layers to store Grams for (a Python list literal)."})
    arch: str = dataclasses.field(default="vgg16", metadata={
        "help": "Loss network: vgg16 (Magenta) or vgg19."})
    pooling: str = dataclasses.field(default="avg", metadata={
        "help": "Loss-network pooling: avg (Magenta, training) or max."})
    overwrite: bool = dataclasses.field(default=False, metadata={
        "help": "Replace an existing --output_file even when it is not a style set "
                "(default: refuse; an earlier style set is replaced)."})


@dataclasses.dataclass
class StyleSet:
    """A loaded style set.

    Attributes:
        names: list of N style names (label i is `names[i]`).
        grams: {layer: `[N, C, C]` float32} Gram matrices.
        images: list of N `[h, w, 3]` uint8 arrays, the images as measured.
        meta: dict (layers, arch, pooling, style_image_size, files, ...).
    """

    names: list
    grams: dict
    images: list
    meta: dict = dataclasses.field(default_factory=dict)

    @property
    def num_styles(self):
        return len(self.names)

    def grams_for(self, layers):
        """{layer: `[N, C, C]`} for `layers`, accepting equivalent spellings.

        `vgg_16/conv3` and `block3_conv3` name the same layer; a name stored
        in either form is found by the other.

        Raises:
            UserError: a layer the set has no Grams for (says how to add it).
        """
        from magenta_style.losses import vgg  # Keras import, only when needed.

        arch = self.meta.get("arch", "vgg16")
        stored = {vgg.resolve_layer(name, arch): name for name in self.grams}
        out = {}
        for layer in layers:
            key = stored.get(vgg.resolve_layer(layer, arch))
            if key is None:
                raise UserError(
                    f"The style set has no Grams for layer {layer!r} (it has "
                    f"{sorted(self.grams)}); recreate it with layers including it, e.g. "
                    f"bin/create_style_dataset --layers='{list(layers)}'."
                )
            out[layer] = self.grams[key]
        return out

    def select(self, indices):
        """A new StyleSet with only the styles at `indices`, in that order."""
        indices = list(indices)
        meta = dict(self.meta)
        if "files" in meta:
            meta["files"] = [meta["files"][i] for i in indices]
        return StyleSet([self.names[i] for i in indices],
                        {k: v[indices] for k, v in self.grams.items()},
                        [self.images[i] for i in indices], meta)


def style_names(paths):
    """File stems, made unique by a `_2`, `_3` ... suffix where they repeat."""
    names, seen = [], {}
    for path in paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        count = seen.get(stem, 0) + 1
        seen[stem] = count
        names.append(stem if count == 1 else f"{stem}_{count}")
    return names


_DEFAULTS = StyleSetConfig()  # The functions' defaults are the flags' defaults.


def load_style_image(path, style_image_size=_DEFAULTS.style_image_size):
    """A style image as measured: shorter side `style_image_size`, uint8.

    Args:
        path: image file.
        style_image_size: int, or None/0 for native resolution.

    Returns:
        `[h, w, 3]` uint8.

    Raises:
        UserError: unreadable file (names it), or an image smaller than
            `MIN_SIDE` on its shorter side as measured.
    """
    arr = image_io.load_image(path)
    if style_image_size:
        h, w = arr.shape[:2]
        scale = style_image_size / min(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        if size != (w, h):
            arr = image_io.resize(arr, size)
    if min(arr.shape[:2]) < MIN_SIDE:
        raise UserError(f"Style image {path} is {arr.shape[1]}x{arr.shape[0]} pixels as "
                        f"measured; the loss network needs at least {MIN_SIDE} on the shorter "
                        "side. Pass --style_image_size=256 (or another size >= "
                        f"{MIN_SIDE}) to resize it.")
    return image_io.to_uint8(arr)


def compute_style_set(style_files, vgg_weights=_DEFAULTS.vgg_weights,
                      style_image_size=_DEFAULTS.style_image_size, layers=_DEFAULTS.layers,
                      arch=_DEFAULTS.arch, pooling=_DEFAULTS.pooling, progress=True,
                     overwrite=_DEFAULTS.overwrite):
    """Measures the Grams of style images (nothing written).

    Args:
        style_files: glob, folder, comma-separated string or list of files.
        vgg_weights: "imagenet", a Keras-layout .h5 path, or None (random
            weights; tests only).
        style_image_size: shorter side the styles are resized to before
            measuring; None or 0 = native resolution (see module docstring).
        layers: loss-network endpoint names to store Grams for.
        arch, pooling: the loss network (must match training's).
        progress: show a tqdm progress bar.

    Returns:
        A `StyleSet`.

    Raises:
        UserError: no files match; an unreadable image; a bad layer name.
    """
    from tqdm import tqdm

    if style_image_size is not None and (not isinstance(style_image_size, int)
                                         or style_image_size < 0):
        raise UserError("style_image_size must be a positive int, or 0/None for native "
                        f"resolution. Received: style_image_size={style_image_size!r}")
    if style_image_size:
        checks.number("style_image_size", style_image_size, MIN_SIDE, checks.MAX_SIDE,
                      integer=True)
    files = list_image_files(style_files)
    layers = list(layers)
    if not layers:
        raise UserError("layers must name at least one loss-network layer. Received: []")
    style_image_size = style_image_size or None
    # Read every image before building VGG, so a bad file fails in a second.
    images = [load_style_image(path, style_image_size) for path in files]

    from keras import ops  # Imports the backend (TensorFlow by default).

    from magenta_style.losses import loss_terms
    from magenta_style.losses import vgg

    network = vgg.build_loss_network(arch=arch, pooling=pooling, weights=vgg_weights,
                                     endpoints=layers)
    grams = {layer: [] for layer in layers}
    for image in tqdm(images, desc="Measuring styles", unit="style", disable=not progress):
        # Grams come from the stored uint8 image, so they can be recomputed
        # exactly from the file.
        features = network(image[None].astype("float32") / 255.0)
        for layer in layers:
            grams[layer].append(ops.convert_to_numpy(loss_terms.gram_matrix(features[layer]))[0])
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "layers": layers,
        "arch": arch,
        "pooling": pooling,
        "style_image_size": style_image_size,
        "vgg_weights": (None if vgg_weights is None
                        else os.path.basename(os.fspath(vgg_weights))),
        "gram": "F^T F / (H * W)",
        "files": [os.path.abspath(f) for f in files],
    }
    return StyleSet(style_names(files),
                    {k: np.stack(v).astype(np.float32) for k, v in grams.items()},
                    images, meta)


def save_style_set(style_set, path):
    """Writes `style_set` to `path` (.npz layout, atomically; name kept as is)."""
    path = os.fspath(path)
    layers = list(style_set.grams)
    meta = dict(style_set.meta, layers=layers, names=list(style_set.names))
    arrays = {"meta": np.array(json.dumps(meta)), "names": np.array(style_set.names)}
    for i, layer in enumerate(layers):
        arrays[f"gram_{i}"] = np.asarray(style_set.grams[layer], np.float32)
    for i, image in enumerate(style_set.images):
        arrays[f"image_{i}"] = np.asarray(image, np.uint8)
    def write(tmp):
        with open(tmp, "wb") as f:  # A file object: np.savez would append .npz to a name.
            np.savez(f, **arrays)

    atomic.write_file(path, write)
    return path


def write_magenta_tfrecord(style_set, path):
    """Writes Magenta's style-dataset TFRecord layout (needs TensorFlow).

    One `tf.train.Example` per style: `label` (int64), `image_raw` (JPEG),
    `vgg_16/<layer>` (flattened `[C, C]` floats). Only layers named as
    Magenta's endpoints are written under their own names; others keep
    theirs. The Grams are ours (Keras's VGG weights), so they do not match
    Grams from Magenta's own slim VGG checkpoint.
    """
    import tensorflow as tf
    from PIL import Image

    def write(tmp):
        with tf.io.TFRecordWriter(tmp) as writer:
            for label, image in enumerate(style_set.images):
                buf = io.BytesIO()
                Image.fromarray(image).save(buf, format="JPEG", quality=95)
                feature = {
                    "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
                    "image_raw": tf.train.Feature(
                        bytes_list=tf.train.BytesList(value=[buf.getvalue()])),
                }
                for layer, grams in style_set.grams.items():
                    feature[layer] = tf.train.Feature(
                        float_list=tf.train.FloatList(value=grams[label].ravel()))
                example = tf.train.Example(features=tf.train.Features(feature=feature))
                writer.write(example.SerializeToString())

    atomic.write_file(os.fspath(path), write)
    return path


def create_style_set(style_files, output_file, vgg_weights=_DEFAULTS.vgg_weights,
                     style_image_size=_DEFAULTS.style_image_size, layers=_DEFAULTS.layers,
                     arch=_DEFAULTS.arch, pooling=_DEFAULTS.pooling, progress=True,
                     overwrite=_DEFAULTS.overwrite):
    """Measures style images and writes the style set (Magenta's tool).

    Args:
        style_files, vgg_weights, style_image_size, layers, arch, pooling,
            progress: as `compute_style_set`.
        output_file: the `.npz` to write. A name ending in `.tfrecord` writes
            Magenta's TFRecord layout there and our `.npz` beside it
            (`<output_file>.npz`), which is what training reads. An
            existing file is replaced only if it is an earlier style set
            (for a `.tfrecord`, if the `.npz` beside it is), or `overwrite`.

    Returns:
        The `StyleSet` written.
    """
    output_file = os.fspath(output_file)
    if not output_file or os.path.isdir(output_file):
        raise UserError("output_file must name a file to write (e.g. styles.npz). "
                        f"Received: output_file={output_file!r}")
    outputs = [output_file] + [output_file + ".npz"] * output_file.endswith(".tfrecord")
    inputs = list_image_files(style_files)
    for path in outputs:  # before measuring anything
        atomic.check_output_file(path, "output_file", inputs=inputs)
        if os.path.exists(path) and not overwrite and not _is_style_set(outputs[-1]):
            raise UserError(f"output_file {path} exists and is not a style set magenta_style "
                            "wrote; pass another path, or --overwrite to replace it.")
    style_set = compute_style_set(style_files, vgg_weights, style_image_size, layers, arch,
                                  pooling, progress)
    if output_file.endswith(".tfrecord"):
        write_magenta_tfrecord(style_set, output_file)
        save_style_set(style_set, output_file + ".npz")
    else:
        save_style_set(style_set, output_file)
    return style_set


def _is_style_set(path):
    """Whether `path` is a style set `save_style_set` wrote (its header says so)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json_file.loads(str(f["meta"]), path)
    except npz_file.READ_ERRORS:
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def load_style_set(path):
    """Reads a style set written by `save_style_set` (NumPy only).

    Args:
        path: the `.npz` file.

    Returns:
        A `StyleSet` (grams float32 `[N, C, C]` per layer, images uint8).

    Raises:
        UserError: missing file, or not a style set.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        if os.path.isfile(path + ".npz"):
            path = path + ".npz"
        else:
            raise UserError(f"Style set not found: {path}. Create it with "
                            "bin/create_style_dataset.")
    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json_file.loads(str(f["meta"]), f"Style set {path}")
            if not isinstance(meta, dict) or meta.get("format") != FORMAT \
                    or not isinstance(meta.get("layers"), list):
                raise KeyError("format")
            names = [str(n) for n in f["names"]]
            grams = {layer: f[f"gram_{i}"] for i, layer in enumerate(meta["layers"])}
            images = [f[f"image_{i}"] for i in range(len(names))]
    except npz_file.READ_ERRORS as e:
        if isinstance(e, UserError):
            raise
        first = str(e).splitlines()[0] if str(e) else "unreadable"
        raise UserError(
            f"{path} is damaged or not a style set written by create_style_set "
            f"({type(e).__name__}: {first[:120]}). Create it again with "
            "bin/create_style_dataset."
        ) from None
    _check_arrays(path, names, grams, images)
    meta.pop("names", None)
    return StyleSet(names, grams, images, meta)


def _check_arrays(path, names, grams, images):
    """Refuses a style set whose arrays do not fit together (a damaged or foreign file)."""
    n = len(names)
    for layer, gram in grams.items():
        if gram.ndim != 3 or gram.shape[0] != n or gram.shape[1] != gram.shape[2] \
                or gram.dtype.kind != "f" or not np.all(np.isfinite(gram)):
            raise UserError(f"{path} is damaged: the Grams of {str(layer)[:80]} are not "
                            f"finite [{n}, C, C] floats. Create it again with "
                            "bin/create_style_dataset.")
    for i, image in enumerate(images):
        if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
            raise UserError(f"{path} is damaged: style image {i} is not [h, w, 3] uint8. "
                            "Create it again with bin/create_style_dataset.")


def match_grams(grams, layer_names):
    """{weight layer name: Grams} where keys may name layers differently."""
    from magenta_style.losses import vgg as vgg_lib  # Keras import, only when needed.

    by_layer = {vgg_lib.resolve_layer(k): v for k, v in grams.items()}
    out = {}
    for name in layer_names:
        target = vgg_lib.resolve_layer(name)
        if target not in by_layer:
            raise UserError(
                f"The style set has no Gram matrices for {name!r} (it has "
                f"{sorted(grams)}). Recreate it, or drop {name} from --style_weights.")
        out[name] = np.asarray(by_layer[target], dtype="float32")
    return out
