"""The VGG loss network (Magenta's `vgg.py`, on Keras's ImageNet weights).

Departures from Magenta, on purpose:
- Weights are Keras's ImageNet VGG-16/19 files (converted from Caffe), so the
  input is converted as `keras.applications.vgg16.preprocess_input` does
  ("caffe" mode: x255, RGB->BGR, BGR means subtracted). Magenta's slim
  checkpoint took RGB with the RGB means; feeding Keras weights RGB would
  silently degrade every loss.
- Max pools are replaced by 2x2 average pools when `pooling="avg"`, Magenta's
  default for training. The optimisation method traditionally uses "max".

Endpoint names: Magenta's `vgg_16/conv1` .. `vgg_16/conv5` (the post-ReLU
output of the last convolution of each block), `vgg_16/convN/convN_M` and
`vgg_16/poolN` (likewise `vgg_19/...`), and Keras layer names
(`block3_conv3`, `block4_pool`) are all accepted.
"""

import os

import h5py
import keras
import numpy as np
from keras import ops

from magenta_style.errors import UserError
from magenta_style.model import fast_conv

WEIGHTS_ENV = "MAGENTA_STYLE_VGG_WEIGHTS"

# Convolutions per block, widths per block.
_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
_WIDTHS = (64, 128, 256, 512, 512)
# Keras's own download locations and hashes (keras/src/applications/vgg*.py).
_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/"
_NOTOP = {
    "vgg16": ("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
              "6d6bbae143d832006294945121d1f1fc"),
    "vgg19": ("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
              "253f8cb515780f3b799900260a226db6"),
}
# Caffe-mode ImageNet means, in BGR order.
BGR_MEANS = (103.939, 116.779, 123.68)


def _check_arch(arch):
    if arch not in _BLOCKS:
        raise UserError(
            f"Unknown loss network {arch!r}; use 'vgg16' or 'vgg19'. "
            f"Received: arch={arch!r}"
        )


def keras_layer_names(arch="vgg16"):
    """All convolution and pooling layer names of `arch`, in order."""
    _check_arch(arch)
    names = []
    for b, n in enumerate(_BLOCKS[arch], 1):
        names += [f"block{b}_conv{i}" for i in range(1, n + 1)]
        names.append(f"block{b}_pool")
    return names


def endpoint_names(arch="vgg16"):
    """Every name `resolve_layer` accepts for `arch`, Magenta's first."""
    _check_arch(arch)
    prefix = "vgg_16" if arch == "vgg16" else "vgg_19"
    names = []
    for b, n in enumerate(_BLOCKS[arch], 1):
        names.append(f"{prefix}/conv{b}")
        names += [f"{prefix}/conv{b}/conv{b}_{i}" for i in range(1, n + 1)]
        names.append(f"{prefix}/pool{b}")
    return names + keras_layer_names(arch)


def resolve_layer(name, arch="vgg16"):
    """Maps an endpoint name to its Keras layer name.

    Raises:
        UserError: for an unknown name; the message lists the valid names.
    """
    keras_names = keras_layer_names(arch)
    if name in keras_names:
        return name
    prefix = "vgg_16/" if arch == "vgg16" else "vgg_19/"
    if name.startswith(prefix):
        rest = name[len(prefix):].split("/")
        if rest[0].startswith("conv") and rest[0][4:].isdigit():
            block = int(rest[0][4:])
            if 1 <= block <= 5:
                if len(rest) == 1:
                    return f"block{block}_conv{_BLOCKS[arch][block - 1]}"
                if len(rest) == 2 and rest[1].startswith(f"conv{block}_"):
                    candidate = f"block{block}_conv{rest[1].split('_')[-1]}"
                    if candidate in keras_names:
                        return candidate
        if len(rest) == 1 and rest[0].startswith("pool") and rest[0][4:].isdigit():
            candidate = f"block{rest[0][4:]}_pool"
            if candidate in keras_names:
                return candidate
    raise UserError(
        f"Unknown {arch} layer {name!r}. Valid names: "
        f"{', '.join(endpoint_names(arch))}"
    )


def _arch_env(arch):
    """`MAGENTA_STYLE_VGG16_WEIGHTS` / `MAGENTA_STYLE_VGG19_WEIGHTS`."""
    return f"MAGENTA_STYLE_{arch.upper()}_WEIGHTS"


def _file_or_folder(path, fname, arch, source):
    """`path` if a file; `path/fname` if `path` is a folder holding it."""
    if os.path.isfile(path):
        return path
    if os.path.isdir(path):
        inside = os.path.join(path, fname)
        if os.path.isfile(inside):
            return inside
        raise UserError(
            f"{source} names the folder {path}, which has no {fname} (Keras's ImageNet "
            f"{arch} no-top weights): put that file there as {inside}."
        )
    raise UserError(
        f"{source} names neither a file nor a folder: {path}. Point it at {fname} or "
        f"at a folder holding it."
    )


def resolve_weights_file(weights="imagenet", arch="vgg16"):
    """Returns a local path to the ImageNet no-top weights of `arch`.

    Order: an explicit path (a file, or a folder holding Keras's file name
    for `arch`); for "imagenet": `$MAGENTA_STYLE_VGG16_WEIGHTS` /
    `$MAGENTA_STYLE_VGG19_WEIGHTS` (file or folder), then
    `$MAGENTA_STYLE_VGG_WEIGHTS` (a folder for either architecture, or a
    file, which only VGG-16 takes: the variable predates VGG-19), then
    Keras's cache `~/.keras/models/`, downloading into it as
    `keras.applications` does. Offline users of both networks can point one
    folder at both files.

    Raises:
        UserError: the file is missing or cannot be downloaded; the message
            names the missing file and where to put it.
    """
    _check_arch(arch)
    fname, file_hash = _NOTOP[arch]
    if weights != "imagenet":
        path = os.fspath(weights)
        if not (os.path.isfile(path) or os.path.isdir(path)):
            raise UserError(
                f"VGG weights file not found: {path}. Pass the path of "
                f"{fname} (Keras's ImageNet {arch} no-top weights) or of a folder "
                f"holding it."
            )
        return _file_or_folder(path, fname, arch, f"weights={path}")
    for name in (_arch_env(arch), WEIGHTS_ENV):
        env = os.environ.get(name)
        if not env:
            continue
        if name == WEIGHTS_ENV and arch != "vgg16" and os.path.isfile(env):
            continue  # a file there is VGG-16's
        return _file_or_folder(env, fname, arch, f"{name}={env}")
    url = _ORIGIN + f"{arch}/{fname}"
    try:
        return keras.utils.get_file(
            fname, url, cache_subdir="models", file_hash=file_hash
        )
    except Exception as e:  # Keras raises bare Exception on network errors.
        cache = os.path.join(
            os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras")),
            "models", fname)
        raise UserError(
            f"VGG weights {fname} ({arch}) are not in Keras's cache and could not be "
            f"downloaded from {url} ({type(e).__name__}). Download that file and put it "
            f"at {cache}, or set {_arch_env(arch)}=/path/to/{fname}, or "
            f"{WEIGHTS_ENV}=<a folder holding it>, or pass weights=<path>."
        ) from None


@keras.saving.register_keras_serializable(package="magenta_style")
class VGGConv2D(keras.layers.Conv2D):
    """VGG's 3x3 SAME convolution + ReLU, optionally by Winograd's F(2x2, 3x3).

    A `keras.layers.Conv2D` (same `kernel`/`bias`, so Keras's weight files
    load as they are) that zero-pads by 1 and convolves through
    `fast_conv.conv2d_valid`. `winograd=True` computes the layers with
    128x128 or more channel pairs with 2.25x fewer multiplies; use it only where the
    computation is XLA-compiled, where its gradients round reproducibly.
    """

    def __init__(self, filters, kernel_size=3, winograd=False, **kwargs):
        kwargs.setdefault("activation", "relu")
        if kwargs.pop("padding", "same") != "same":
            raise ValueError("VGGConv2D always zero-pads (SAME); do not pass `padding`.")
        super().__init__(filters, kernel_size, padding="same", **kwargs)
        if self.kernel_size != (3, 3) or self.strides != (1, 1):
            raise ValueError(
                "VGGConv2D is VGG's 3x3 stride-1 convolution. Received: "
                f"kernel_size={self.kernel_size}, strides={self.strides}")
        self.winograd = bool(winograd)

    def call(self, inputs):
        kernel = ops.cast(self.kernel, inputs.dtype)
        if self.winograd:
            x = ops.pad(inputs, [[0, 0], [1, 1], [1, 1], [0, 0]])
            y = fast_conv.conv2d_valid(x, kernel, 1, winograd=True)
        else:  # Keras's own Conv2D arithmetic.
            y = ops.conv(inputs, kernel, strides=1, padding="same")
        y = y + ops.cast(self.bias, y.dtype)
        return self.activation(y)

    def get_config(self):
        config = super().get_config()
        config.pop("padding", None)
        return {**config, "winograd": self.winograd}


@ops.custom_gradient
def _max_pool_2x2(x):
    """2x2 stride-2 VALID max pooling whose gradient avoids select-and-scatter.

    XLA:CPU lowers the stock gradient to a select-and-scatter that cost a
    tenth of an optimisation step. The window's maximum gets the gradient,
    the first one in row-major order on ties, as TensorFlow's MaxPoolGrad.
    """
    shape = ops.shape(x)
    h, w = shape[1] // 2, shape[2] // 2
    corners = [x[:, a:2 * h:2, b:2 * w:2, :] for a in (0, 1) for b in (0, 1)]
    y = ops.maximum(ops.maximum(corners[0], corners[1]), ops.maximum(corners[2], corners[3]))

    def grad(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        taken = None
        phases = []
        for corner in corners:
            hit = ops.equal(corner, y)
            if taken is not None:
                hit = ops.logical_and(hit, ops.logical_not(taken))
            taken = hit if taken is None else ops.logical_or(taken, hit)
            phases.append(ops.where(hit, upstream, ops.zeros_like(upstream)))
        dx = fast_conv.interleave([phases[:2], phases[2:]], shape[0], h, w, shape[3])
        return ops.pad(dx, [[0, 0], [0, shape[1] - 2 * h], [0, shape[2] - 2 * w], [0, 0]])

    return y, grad


@keras.saving.register_keras_serializable(package="magenta_style")
class VGGMaxPooling2D(keras.layers.MaxPooling2D):
    """VGG's 2x2 stride-2 max pooling, optionally with a written-out gradient.

    Same values and gradient as `keras.layers.MaxPooling2D(2)`.
    `xla_gradient=True` replaces the stock gradient, which XLA:CPU lowers to
    a slow select-and-scatter (VGG-16 to conv3_1 at 256 px, forward + input
    gradient: 462 vs 527 ms); in TensorFlow's graph executor the stock
    MaxPoolGrad is the faster one, so use it only for XLA-compiled code.
    """

    def __init__(self, pool_size=2, strides=2, xla_gradient=False, **kwargs):
        padding = kwargs.pop("padding", "valid")
        if padding != "valid":
            raise ValueError("VGGMaxPooling2D is VGG's VALID pooling. Received: "
                             f"padding={padding!r}")
        super().__init__(pool_size, strides, padding="valid", **kwargs)
        self.xla_gradient = bool(xla_gradient)
        if self.pool_size != (2, 2) or self.strides != (2, 2):
            raise ValueError(
                "VGGMaxPooling2D is VGG's 2x2 stride-2 pooling. Received: "
                f"pool_size={self.pool_size}, strides={self.strides}")

    def call(self, inputs):
        if self.xla_gradient and fast_conv.cpu_forms():
            return _max_pool_2x2(inputs)
        return super().call(inputs)

    def get_config(self):
        return {**super().get_config(), "xla_gradient": self.xla_gradient}


@keras.saving.register_keras_serializable(package="magenta_style")
class VGGPreprocess(keras.layers.Layer):
    """RGB `[B, H, W, 3]` in [0, 1] -> Caffe input (x255, BGR, mean-free)."""

    def call(self, inputs):
        x = inputs * 255.0
        x = ops.flip(x, axis=-1)
        return x - ops.convert_to_tensor(BGR_MEANS, dtype=x.dtype)


def _load_h5(model, path, layer_names):
    """Loads conv kernels/biases by layer name from a Keras-layout h5 file.

    Reading by name (not topological order) lets a trimmed file (only the
    blocks the losses use) or a float16 copy serve as well as Keras's file.
    """
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise UserError(f"Cannot read VGG weights file {path}: {e}") from None
    with f:
        root = f["model_weights"] if "model_weights" in f else f
        for name in layer_names:
            if not name.startswith("block") or "conv" not in name:
                continue
            if name not in root:
                raise UserError(
                    f"VGG weights file {path} has no layer {name!r}; it holds "
                    f"{sorted(k for k in root.keys())}."
                )
            group = root[name]
            wnames = [n.decode() if isinstance(n, bytes) else n
                      for n in group.attrs["weight_names"]]
            arrays = [np.asarray(group[n], dtype="float32") for n in wnames]
            layer = model.get_layer(name)
            expected = [tuple(w.shape) for w in layer.weights]
            if [a.shape for a in arrays] != expected:
                raise UserError(
                    f"VGG weights file {path}: layer {name} has shapes "
                    f"{[a.shape for a in arrays]}, expected {expected}."
                )
            layer.set_weights(arrays)


def build_loss_network(arch="vgg16", pooling="avg", weights="imagenet",
                       endpoints=None, name=None, xla=False):
    """Builds a frozen VGG feature extractor with named endpoints.

    Args:
        arch: "vgg16" (Magenta's) or "vgg19" (Gatys et al.'s).
        pooling: "avg" (Magenta's default) or "max" (ImageNet training).
        weights: "imagenet" (Keras's download and cache, or the file named by
            `$MAGENTA_STYLE_VGG_WEIGHTS`), a path to a Keras-layout h5 file,
            or None (a pseudo-random He-normal init, the same at every build:
            tests of everything but the features' meaning run without the
            ImageNet file, and two builds give the same network).
        endpoints: names to output (see module docstring). Default: Magenta's
            `vgg_XX/conv1` .. `conv5`. The network is built only up to the
            deepest endpoint.
        xla: the network will run inside XLA-compiled functions: compute
            the 3x3 convolutions with 128x128 or more channel pairs by
            Winograd's F(2x2, 3x3) (`VGGConv2D`) and max pooling with a
            written-out gradient (`VGGMaxPooling2D`). Both are slower or not
            reproducible in TensorFlow's graph executor.

    Returns:
        A non-trainable `keras.Model` mapping `[B, H, W, 3]` float32 RGB in
        [0, 1] to a dict {endpoint name: `[B, h, w, C]` float32 features}.

    Raises:
        UserError: unknown arch, pooling or endpoint; a missing weights file.
    """
    _check_arch(arch)
    if pooling not in ("avg", "max"):
        raise UserError(
            f"pooling must be 'avg' or 'max'. Received: pooling={pooling!r}"
        )
    if endpoints is None:
        prefix = "vgg_16" if arch == "vgg16" else "vgg_19"
        endpoints = [f"{prefix}/conv{b}" for b in range(1, 6)]
    endpoints = list(endpoints)
    targets = {ep: resolve_layer(ep, arch) for ep in endpoints}
    all_names = keras_layer_names(arch)
    depth = max(all_names.index(t) for t in targets.values())
    path = None if weights is None else resolve_weights_file(weights, arch)

    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = VGGPreprocess(name="preprocess")(inputs)
    built = {}
    for layer_name in all_names[: depth + 1]:
        if layer_name.endswith("pool"):
            if pooling == "avg":
                x = keras.layers.AveragePooling2D(2, strides=2, name=layer_name)(x)
            else:
                x = VGGMaxPooling2D(2, strides=2, xla_gradient=xla, name=layer_name)(x)
        else:
            block = int(layer_name[5])
            x = VGGConv2D(_WIDTHS[block - 1], 3, winograd=xla, name=layer_name)(x)
        built[layer_name] = x
    outputs = {ep: built[t] for ep, t in targets.items()}
    model = keras.Model(inputs, outputs, name=name or f"{arch}_{pooling}")
    if path is not None:
        _load_h5(model, path, all_names[: depth + 1])
    else:
        rng = np.random.default_rng(16)
        for layer in model.layers:
            if isinstance(layer, keras.layers.Conv2D):
                fan_in = int(np.prod(layer.kernel.shape[:-1]))
                layer.kernel.assign(rng.normal(0.0, np.sqrt(2.0 / fan_in),
                                               layer.kernel.shape).astype("float32"))
                layer.bias.assign(np.zeros(layer.bias.shape, "float32"))
    model.trainable = False
    return model
