"""Where the instance norm's gamma and beta come from.

Magenta's `normalizer_fn` idea: the network normalises every convolution's
output with `layers.InstanceNormalization`, and a separate source supplies
the scale and shift. Here that source is a `StyleTable` (the multi-style
network of Dumoulin et al.: one row of gamma/beta per trained style, mixed
by style weights) or a `StyleVectorProjection` (the arbitrary-style network
of Ghiasi et al.: gamma/beta are affine maps of a 100-d style vector that a
style-prediction network computes from any painting).
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="magenta_style")
class StyleTable(keras.layers.Layer):
    """Per-style gamma/beta for one normalised layer, mixed by style weights.

    Called on `style_weights` `[B, num_styles]` float. A one-hot row selects
    one style (Magenta's `conditional_instance_norm`); any other row mixes
    styles (Magenta's `weighted_instance_norm`): gamma = sum_i w_i gamma_i and
    beta = sum_i w_i beta_i. The weights are NOT normalised, as in Magenta.

    Returns `[gamma, beta]`, each `[B, channels]`.

    Weights: `gamma` `[num_styles, channels]` (ones) and `beta`
    `[num_styles, channels]` (zeros), the layout of Magenta's
    `InstanceNorm/{gamma,beta}`.
    """

    def __init__(self, num_styles, channels, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("num_styles", num_styles), ("channels", channels)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer. Received: {name}={value}")
        self.num_styles = int(num_styles)
        self.channels = int(channels)

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.num_styles:
            raise ValueError(
                f"Expected style weights of length num_styles={self.num_styles}. "
                f"Received: style_weights shape={input_shape}")
        self.gamma = self.add_weight(shape=(self.num_styles, self.channels),
                                     initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(self.num_styles, self.channels),
                                    initializer="zeros", name="beta")

    def call(self, style_weights):
        style_weights = ops.cast(style_weights, self.compute_dtype)
        gamma = ops.matmul(style_weights, ops.cast(self.gamma, self.compute_dtype))
        beta = ops.matmul(style_weights, ops.cast(self.beta, self.compute_dtype))
        return [gamma, beta]

    def compute_output_shape(self, input_shape):
        return [(input_shape[0], self.channels), (input_shape[0], self.channels)]

    def get_config(self):
        return {**super().get_config(), "num_styles": self.num_styles,
                "channels": self.channels}


@keras.saving.register_keras_serializable(package="magenta_style")
class StyleVectorProjection(keras.layers.Layer):
    """Gamma/beta for one normalised layer, predicted from a style vector.

    The conditional style norm of Ghiasi et al. (Magenta's
    `style_prediction`: `style_params/<layer>/{beta,gamma}`): two affine maps
    (1x1 convolutions on the `[B, 1, 1, D]` bottleneck in Magenta, dense
    layers here) of the style vector to the layer's channels:
    gamma = v @ gamma_kernel + gamma_bias, beta = v @ beta_kernel + beta_bias.

    Called on `style_vector` `[B, style_dim]` float (unbounded; Magenta's
    predictor gives values of about -3 to 3). Returns `[gamma, beta]`, each
    `[B, channels]`.

    Weights: `gamma_kernel`, `beta_kernel` `[style_dim, channels]`
    (Glorot-uniform, slim.conv2d's default) and `gamma_bias`, `beta_bias`
    `[channels]` (zeros).
    """

    def __init__(self, style_dim, channels, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("style_dim", style_dim), ("channels", channels)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer. Received: {name}={value}")
        self.style_dim = int(style_dim)
        self.channels = int(channels)

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.style_dim:
            raise ValueError(
                f"Expected style vectors of length style_dim={self.style_dim}. "
                f"Received: style_vector shape={input_shape}")
        shape = (self.style_dim, self.channels)
        self.gamma_kernel = self.add_weight(shape=shape, initializer="glorot_uniform",
                                            name="gamma_kernel")
        self.gamma_bias = self.add_weight(shape=(self.channels,), initializer="zeros",
                                          name="gamma_bias")
        self.beta_kernel = self.add_weight(shape=shape, initializer="glorot_uniform",
                                           name="beta_kernel")
        self.beta_bias = self.add_weight(shape=(self.channels,), initializer="zeros",
                                         name="beta_bias")

    def call(self, style_vector):
        v = ops.cast(style_vector, self.compute_dtype)
        gamma = ops.matmul(v, ops.cast(self.gamma_kernel, v.dtype)) + ops.cast(
            self.gamma_bias, v.dtype)
        beta = ops.matmul(v, ops.cast(self.beta_kernel, v.dtype)) + ops.cast(
            self.beta_bias, v.dtype)
        return [gamma, beta]

    def compute_output_shape(self, input_shape):
        return [(input_shape[0], self.channels), (input_shape[0], self.channels)]

    def get_config(self):
        return {**super().get_config(), "style_dim": self.style_dim,
                "channels": self.channels}
