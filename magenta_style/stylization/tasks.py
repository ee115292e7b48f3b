"""The two kinds of style transfer, as task objects (keras_hub's convention).

- `MultiStyleTransfer`: a network with trained styles (Dumoulin et al.;
  `varied`, `android-26`, Magenta checkpoints); styles are picked or mixed
  by `which_styles`.
- `ArbitraryStyleTransfer`: a style predictor and a transformer (Ghiasi et
  al.; `arbitrary-v1`); any painting is a style.

Each has `from_preset(name)`, `resolve(...)` (a request -> `Conditioning`)
and `stylize(image, ...)`. The task's type is the one place the two model
kinds are told apart (`as_task`); everything downstream runs
`task.network` with the conditioning's rows.
"""

import dataclasses
import numbers
import os

from magenta_style.errors import UserError
from magenta_style.storage import model_format
from magenta_style.stylization import arbitrary
from magenta_style.stylization import render
from magenta_style.stylization import style_choice
from magenta_style.stylization.conditioning import Conditioning
from magenta_style.stylization.options import RenderOptions


class StyleTransfer:
    """A loaded model and how it turns requests into conditioning rows.

    Attributes:
        network: the Keras transformer the runner runs (`[B, H, W, 3]` float32
            in [0, 1] and `[B, D]` rows -> `[B, H, W, 3]` float32 in [0, 1]).
        name: the model's name, for messages.
    """

    preset_kind = None  # "multi-style" or "arbitrary-style": what `from_preset` loads

    def __init__(self, network, name):
        self.network = network
        self.name = str(name)

    @classmethod
    def from_preset(cls, preset, num_styles=None):
        """The task of a shipped model (`presets()`), a model directory or checkpoint.

        Loads once per model files (`model_format.load_model(cached=True)`).

        Raises:
            UserError: unknown name, or a model of the other kind.
        """
        task = as_task(preset, num_styles)
        if not isinstance(task, cls):
            raise UserError(f"{preset} is a {task.preset_kind} model; load it with "
                            f"{type(task).__name__}.from_preset({os.fspath(preset)!r}).")
        return task

    @classmethod
    def presets(cls):
        """The shipped models this class loads, by name."""
        from magenta_style.storage import arbitrary_format

        return [name for name in model_format.shipped_models()
                if arbitrary_format.is_arbitrary_dir(model_format.resolve_model_dir(name))
                == (cls.preset_kind == "arbitrary-style")]

    def resolve(self, which_styles=0, *, style_image=None, style_blend_weights=None,
                style_vector=None, masks=None, mask_palette=None, normalize_weights=False):
        """What to render, as a `Conditioning` (see `magenta_style.stylize`)."""
        raise NotImplementedError

    def rows_for_photo(self, conditioning, photo, strength):
        """`(rows [K, D] float32 for this photo, the strength left for the pixels)`."""
        return conditioning.rows, strength

    def stylize(self, image, which_styles=0, *, style_image=None, style_blend_weights=None,
                style_vector=None, masks=None, mask_palette=None, normalize_weights=False,
                output_dir=None, output_basename="stylized", output_format="png",
                options=None, **render_options):
        """`magenta_style.stylize` with this model (same arguments and result).

        `options` is a `RenderOptions`; keywords named like its fields
        (`strength=0.8`, `max_size=512`, ...) override it.
        """
        options = (options or RenderOptions()).replace(**render_options)
        conditioning = self.resolve(
            which_styles, style_image=style_image, style_blend_weights=style_blend_weights,
            style_vector=style_vector, masks=masks, mask_palette=mask_palette,
            normalize_weights=normalize_weights)
        return render.stylize_images(conditioning, image, options, output_dir,
                                     output_basename, output_format)

    def _common_checks(self, style_image, style_blend_weights, masks, mask_palette):
        if style_blend_weights is not None and style_image is None:
            raise UserError("style_blend_weights needs style images to blend "
                            "(style_image=[...]).")
        if mask_palette is not None and masks is None:
            raise UserError("mask_palette colours the regions of a label image; give that "
                            "image as masks (--style_masks=labels.png).")


class MultiStyleTransfer(StyleTransfer):
    """A multi-style network: styles by index or name, mixed by weights.

    Attributes:
        network: the `PasticheNetwork`.
        style_names: tuple of `num_styles` str.
        num_styles: int.
    """

    preset_kind = "multi-style"

    @property
    def style_names(self):
        return self.network.style_names

    @property
    def num_styles(self):
        return self.network.transformer_config.num_styles

    def not_for_paintings(self):
        """The one-line error for style images given to this model."""
        return UserError(
            f"{self.name} is a multi-style model: it has trained styles only (pick them "
            f"with which_styles). Style images need an arbitrary-style model such as "
            f"{arbitrary.DEFAULT_MODEL!r}.")

    def resolve(self, which_styles=0, *, style_image=None, style_blend_weights=None,
                style_vector=None, masks=None, mask_palette=None, normalize_weights=False):
        self._common_checks(style_image, style_blend_weights, masks, mask_palette)
        if style_image is not None or style_vector is not None:
            raise self.not_for_paintings()
        if masks is None:
            conditioning = style_choice.parse_which_styles(
                which_styles, self.num_styles, self.style_names, normalize_weights)
        else:
            regions = style_choice.parse_region_styles(
                which_styles, self.num_styles, self.style_names, normalize_weights)
            conditioning = Conditioning(regions.rows, regions.suffixes, masks=masks,
                                        mask_palette=mask_palette)
        return _with_task(conditioning, self)


class ArbitraryStyleTransfer(StyleTransfer):
    """Any painting as a style: a style predictor and the transformer that reads its vectors.

    Attributes:
        model: the `ArbitraryStyleModel` (`predictor`, `transformer`).
        network: its `ArbitraryTransformer`.
        style_dim: int, the style vector's length.
    """

    preset_kind = "arbitrary-style"

    def __init__(self, model):
        super().__init__(model.transformer, model.name)
        self.model = model

    @property
    def style_dim(self):
        return self.model.style_dim

    def style_vectors(self, images):
        """`[N, style_dim]` float32 style vectors of N paintings (see `style_vector`)."""
        return arbitrary.predict(self.model, list(images))

    def resolve(self, which_styles=0, *, style_image=None, style_blend_weights=None,
                style_vector=None, masks=None, mask_palette=None, normalize_weights=False):
        self._common_checks(style_image, style_blend_weights, masks, mask_palette)
        if not (isinstance(which_styles, numbers.Integral) and which_styles == 0):
            raise UserError(f"{self.name} has no trained styles to pick with which_styles; "
                            "give style_image (any painting) instead.")
        conditioning = arbitrary.paintings(self.model, style_image, style_blend_weights,
                                           style_vector)
        if masks is not None:
            # One painting (or vector) per mask: its style vector is that
            # region's row, as a mixture row is for a multi-style model.
            if conditioning.mixed:
                raise UserError("With style masks each painting styles its own region; drop "
                                "style_blend_weights (blend regions with soft masks instead).")
            conditioning = Conditioning(
                conditioning.rows, ("regions_" + "-".join(conditioning.suffixes),),
                vectors=True, masks=masks, mask_palette=mask_palette,
                region_names="style images")
        return _with_task(conditioning, self)

    def rows_for_photo(self, conditioning, photo, strength):
        # Magenta's identity interpolation: strength moves the style vector
        # towards the photo's own, so the pixels are left at full strength.
        rows = arbitrary.interpolate_with_photo(self.model, conditioning.rows, photo, strength)
        return rows, 1.0


def _with_task(conditioning, task):
    return dataclasses.replace(conditioning, task=task)


def as_task(model=None, num_styles=None, alpha=None, *, paintings=False):
    """The task of anything users pass as `model`.

    Args:
        model: a task (returned as is), a loaded model (`PasticheNetwork`,
            `ArbitraryStyleModel`), None (the default model: `varied`, or
            `arbitrary-v1` when `paintings`), a shipped name, a model
            directory or a Magenta TF1 checkpoint (loaded once, cached).
        num_styles: optional int, checked against the model.
        alpha: width multiplier of a Magenta checkpoint (`load_model`).
        paintings: the request names style images or vectors.

    Returns:
        A `MultiStyleTransfer` or an `ArbitraryStyleTransfer`.
    """
    if isinstance(model, StyleTransfer):
        model_format.check_num_styles(getattr(model, "model", model.network), num_styles)
        return model
    if model is None and paintings:
        model = arbitrary.DEFAULT_MODEL
    name = os.fspath(model) if isinstance(model, (str, os.PathLike)) else "This model"
    loaded = model_format.load_model(model, num_styles, alpha, cached=True)
    if model_format.is_arbitrary(loaded):
        return ArbitraryStyleTransfer(loaded)
    return MultiStyleTransfer(loaded, name if model is not None else model_format.DEFAULT_MODEL)


def as_arbitrary(model=None):
    """`as_task(model)` (default arbitrary-v1), refusing a multi-style model in one line."""
    task = as_task(model, paintings=True)
    if not isinstance(task, ArbitraryStyleTransfer):
        raise task.not_for_paintings()
    return task


def stylize(image, model=None, which_styles=0, *, num_styles=None, **kwargs):
    """`magenta_style.stylize`: the model's task, then its `stylize`."""
    paintings = kwargs.get("style_image") is not None or kwargs.get("style_vector") is not None
    return as_task(model, num_styles, paintings=paintings).stylize(image, which_styles, **kwargs)


def resolve(model=None, which_styles=0, *, style_image=None, style_blend_weights=None,
            style_vector=None, masks=None, mask_palette=None, normalize_weights=False,
            num_styles=None, alpha=None):
    """A request -> its `Conditioning` (whose `task` holds the loaded model).

    Arguments as `magenta_style.stylize`; the model kind follows from
    `model`, or from `style_image` / `style_vector` when `model` is None.
    """
    task = as_task(model, num_styles, alpha,
                   paintings=style_image is not None or style_vector is not None)
    return task.resolve(which_styles, style_image=style_image,
                        style_blend_weights=style_blend_weights, style_vector=style_vector,
                        masks=masks, mask_palette=mask_palette,
                        normalize_weights=normalize_weights)


