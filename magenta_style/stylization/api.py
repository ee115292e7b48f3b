"""`stylize`: photo in, pastiche out, with any model and any conditioning.

`stylize(image, model, which_styles)` is the one call most users need:
`tasks.as_task` loads the model (once per path: `model_format.load_model`'s
cache) as a `MultiStyleTransfer` or an `ArbitraryStyleTransfer`, the task
resolves the request into a `Conditioning`, and `render.stylize_images`
runs each photo through `runner.run`, finishes and saves it. Batches of
files and contact sheets are `batch_files`'.
"""

import dataclasses
import typing

from magenta_style.stylization import tasks
from magenta_style.stylization.options import RenderOptions


@dataclasses.dataclass(frozen=True)
class StylizeConfig(RenderOptions):
    """Options of `stylize_files` and `bin/stylize` (flags are made from these):
    the `RenderOptions`, and which model, photos, styles and outputs."""

    checkpoint: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Model: a shipped name (default varied), a model directory, "
                "or a Magenta TF1 .ckpt prefix/directory."})
    num_styles: typing.Optional[int] = dataclasses.field(default=None, metadata={
        "help": "Number of styles in --checkpoint; optional, checked when given."})
    alpha: typing.Optional[float] = dataclasses.field(default=None, metadata={
        "help": "Width multiplier of a Magenta .ckpt (Magenta's --alpha); only for a "
                "checkpoint whose widths cannot be read from it."})
    input_image: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Photo(s) to stylize: a file, a glob, a directory, or several "
                "of those separated by commas."})
    output_dir: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Folder for the pastiches (created if missing)."})
    output_basename: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Output name prefix (default: the input file's name). Files are "
                "{basename}_{style}.png as in Magenta."})
    style_image: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Any painting as the style (Ghiasi et al.'s arbitrary style; implies "
                "--checkpoint=arbitrary-v1). Outputs are named {basename}_{painting}.png."})
    style_images: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Several paintings (files, globs, folders, comma-separated): one output "
                "each, or one blend with --style_blend_weights."})
    style_blend_weights: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Blend --style_images with these weights (e.g. 0.7,0.3; >= 0, rescaled to "
                "sum 1): one output, {basename}_a_700_b_300.png."})
    which_styles: str = dataclasses.field(default="[0]", metadata={
        "help": "Styles: '[0,1,2]' = one image per style, '{0:0.5,3:0.5}' or "
                "'0:0.5,3:0.5' = one mixed image; indices or style names."})
    normalize_weights: bool = dataclasses.field(default=False, metadata={
        "help": "Rescale mixture weights to sum to 1 (Magenta uses them as given)."})
    style_masks: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Styles in regions: mask images, one per entry of --which_styles "
                "(--which_styles=0,3 --style_masks=sky.png,city.png; gray = weight, "
                "soft edges mix, uncovered pixels keep the photo), or one colour-label "
                "image with --mask_palette."})
    mask_palette: typing.Optional[str] = dataclasses.field(default=None, metadata={
        "help": "Colours of the regions in a --style_masks label image, one per "
                "--which_styles entry: '#87ceeb,#808080'."})
    contact_sheet: bool = dataclasses.field(default=False, metadata={
        "help": "Also write one grid image: every style of the model on every photo."})
    contact_sheet_size: int = dataclasses.field(default=256, metadata={
        "help": "Longer side of each cell of the contact sheet, in pixels."})
    output_format: str = dataclasses.field(default="png", metadata={
        "help": "Output file format/extension: png, jpg or webp."})
    overwrite: bool = dataclasses.field(default=False, metadata={
        "help": "Replace existing output files (default: skip them)."})


def stylize(image, model=None, which_styles=0, *, style_image=None, style_blend_weights=None,
            style_vector=None, num_styles=None, normalize_weights=False, masks=None,
            mask_palette=None, output_dir=None, output_basename="stylized",
            output_format="png", options=None, **render_options):
    """Stylizes one image or a list of images, with a model's styles or any painting.

    Args:
        image: a path, a PIL image, an array (`[H, W]`, `[H, W, 1|3|4]` uint8,
            uint16, or float in [0, 1]), or a list of those (or a
            `[B, H, W, 3]` array).
        model: a loaded model (`model_format.load_model`), None for the default
            shipped model (varied), a shipped name, a model directory, or
            a Magenta TF1 checkpoint. Paths load once and are cached.
        which_styles: which style(s) of a multi-style model: an index, a
            style name, a list (one output per style), a dict
            {index_or_name: weight} (one mixed output), a `[num_styles]`
            weight vector, or a string in Magenta's syntax (`"[0,1]"`,
            `"{0:0.5,3:0.5}"`, `"0:0.5,3:0.5"`); see
            `style_choice.parse_which_styles`.
        style_image: any painting as the style (Ghiasi et al.; implies
            `model="arbitrary-v1"` when `model` is None): a path, PIL image
            or array (one output), or a list of them (one output each, or one
            blend with `style_blend_weights`). See `stylization.arbitrary`.
        style_blend_weights: one weight >= 0 per painting of the list; the
            paintings' style vectors are mixed with these weights (rescaled
            to sum 1), one output.
        style_vector: instead of `style_image`, a `[100]` style vector
            (`magenta_style.style_vector`) or `[K, 100]` vectors.
        num_styles: optional int, checked against the model.
        normalize_weights: rescale mixture weights to sum to 1.
        output_dir: when given, also writes `{output_basename}_{suffix}.png`
            per output (Magenta's naming; for a list input the basename is
            each file's name, or `{output_basename}{i}`; with style images the
            suffix names the painting(s): `starry_night`,
            `starry_night_700_udnie_300`). Existing files are replaced.
        output_basename, output_format: name prefix and extension there.
        masks: optional, one mask per entry of `which_styles` (a style or a
            mixture per region: `which_styles=[0, 3]`, `[{0: .5, 3: .5}, 7]`):
            arrays `[H, W]` in [0, 1] (uint8, bool) or image paths; soft
            edges mix the styles, and where the masks sum to less than 1 the
            photo shows through. With `mask_palette` (colours, one per
            region), one colour-label image. With an arbitrary-style model,
            one mask per painting of `style_image` (or row of
            `style_vector`), no blend. See `stylization.regions`.
        mask_palette: e.g. `["#87ceeb", "#808080"]` or `"#87ceeb,#808080"`.
        options: a `RenderOptions` (default: its defaults).
        **render_options: any `RenderOptions` field, overriding `options`:
            `max_size` (scale the image down so its longer side is at most
            this), `preserve_colors` (keep the photo's colours), `strength`
            (float in [0, 1], 1 = full style; multi-style models blend the
            pastiche's pixels with the photo, arbitrary-style models the
            style vector with the photo's own, Magenta's identity
            interpolation), `tile_size` / `tile_threshold` (images above it
            run in tiles: bounded memory, whole-image statistics),
            `region_statistics` (with masks: "per_style", each pixel
            normalised with its style's own whole-image statistics, or
            "shared", one pass; docs/stylize.md), `jit_compile` (XLA).

    Returns:
        uint8 `[H, W, 3]` arrays: one array for one image and one output; a
        list over the outputs for one image and several styles; a list over
        the images for a list input (each an array, or a list when several
        styles were asked for).

    Raises:
        UserError: unreadable image, bad which_styles, bad options; a style
            image for a multi-style model, none for an arbitrary-style one;
            a too small style image, a style vector of the wrong length, bad
            blend weights.
    """
    options = (options or RenderOptions()).replace(**render_options)
    return tasks.stylize(image, model, which_styles, num_styles=num_styles,
                         style_image=style_image, style_blend_weights=style_blend_weights,
                         style_vector=style_vector, masks=masks, mask_palette=mask_palette,
                         normalize_weights=normalize_weights, output_dir=output_dir,
                         output_basename=output_basename, output_format=output_format,
                         options=options)


def style_vectors(images, model=None):
    """The style vectors of several paintings (see `style_vector`).

    Returns:
        `[N, style_dim]` float32.
    """
    return tasks.as_arbitrary(model).style_vectors(images)


def style_vector(image, model=None):
    """The 100-d style vector of one painting (Ghiasi et al.'s style embedding).

    Args:
        image: a path, PIL image or array; prepared as Magenta does
            (`arbitrary.preprocess_style_image`: centre square crop, 256 px
            Lanczos).
        model: an arbitrary-style model or its name/path (default arbitrary-v1).

    Returns:
        `[style_dim]` float32 (`[100]` for arbitrary-v1), unbounded.

    Raises:
        UserError: unreadable or too small image; a multi-style model.
    """
    return style_vectors([image], model)[0]
