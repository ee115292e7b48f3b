"""Many photos at once: `stylize_files` (what `bin/stylize` runs) and contact sheets.

Inputs are files, globs, folders or comma lists of those; outputs are named
after the photo and the style mixture and written atomically; a photo that
fails is reported and skipped. `contact_sheet` draws every style of a model
on a few photos (`stylization.grid`'s layout).
"""

import glob
import numbers
import os
import sys

from magenta_style.errors import UserError
from magenta_style.storage import atomic
from magenta_style.storage import image_io
from magenta_style.stylization import api
from magenta_style.stylization import grid as grid_lib
from magenta_style.stylization import options as options_lib
from magenta_style.stylization import render
from magenta_style.stylization import tasks


def expand_inputs(spec):
    """Input files from `--input_image`: files, globs, directories, commas.

    Args:
        spec: str; comma-separated parts, each a file, a glob or a directory
            (its image files, sorted, not recursive). A list of str works too.

    Returns:
        Sorted-per-part list of paths (missing plain files are kept, so they
        are reported as failures rather than silently dropped).

    Raises:
        UserError: nothing given, or a glob/directory that matches no image.
    """
    parts = spec if isinstance(spec, (list, tuple)) else str(spec or "").split(",")
    parts = [os.path.expanduser(p.strip()) for p in parts if p and p.strip()]
    if not parts:
        raise UserError("No input image given; pass --input_image=PATH (file, glob or folder).")
    paths = []
    for part in parts:
        if os.path.isdir(part):
            found = sorted(os.path.join(part, f) for f in os.listdir(part)
                           if f.lower().endswith(image_io.IMAGE_EXTENSIONS)
                           and os.path.isfile(os.path.join(part, f)))
            if not found:
                raise UserError(f"Folder {part} holds no image files "
                                f"({', '.join(image_io.IMAGE_EXTENSIONS)}).")
        elif glob.has_magic(part):
            found = sorted(p for p in glob.glob(part) if os.path.isfile(p))
            if not found:
                raise UserError(f"No file matches {part!r}.")
        else:
            found = [part]
        paths.extend(p for p in found if p not in paths)
    return paths


def output_basenames(paths, output_basename):
    """Output name prefix per input (its file name, after `output_basename`).

    Raises:
        UserError: two inputs that would write the same output names.
    """
    if output_basename and len(paths) == 1:
        return [output_basename]
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    if output_basename:
        stems = [f"{output_basename}_{s}" for s in stems]
    seen = {}
    for path, stem in zip(paths, stems):
        if stem in seen:
            raise UserError(
                f"{seen[stem]} and {path} would write the same output names "
                f"({stem}_*); rename one or run them separately.")
        seen[stem] = path
    return stems


def stylize_files(config, progress=True, log=None):
    """Stylizes every input of `config` into `config.output_dir`.

    One output per style row, named as Magenta does: `{basename}_{index}.png`
    for a list, `{basename}_0_500_3_500.png` for a mixture. Unreadable files
    are reported and skipped; existing outputs are kept unless
    `config.overwrite`. With `config.contact_sheet`, also writes
    `{output_basename}_contact_sheet.png` (or `contact_sheet.png`).

    Args:
        config: a `api.StylizeConfig`.
        progress: show a tqdm progress bar.
        log: callable taking one line of text (default: print to stderr).

    Returns:
        The number of inputs that failed (0 = all good).

    Raises:
        UserError: bad config (no inputs, no output_dir, bad which_styles).
    """
    import tqdm

    log = log or (lambda line: tqdm.tqdm.write(line, file=sys.stderr))
    if not config.output_dir:
        raise UserError("No output folder given; pass --output_dir=FOLDER.")
    options = options_lib.RenderOptions.from_config(config)
    if config.contact_sheet:
        check_cell_size(config.contact_sheet_size)
    atomic.check_output_dir(config.output_dir)
    ext = config.output_format.lower().lstrip(".")
    if "." + ext not in image_io.FORMATS:
        raise UserError(f"Unknown output_format {config.output_format!r}; use png, jpg or webp.")
    paths = expand_inputs(config.input_image)
    bases = output_basenames(paths, config.output_basename)
    style_images, _ = config_style_images(config)
    conditioning = config_conditioning(config)
    sheet_path = os.path.join(
        config.output_dir, f"{config.output_basename}_contact_sheet.png"
        if config.output_basename else "contact_sheet.png")
    jobs = [(path, [os.path.join(config.output_dir, f"{base}_{s}.{ext}")
                    for s in conditioning.suffixes]) for path, base in zip(paths, bases)]
    if config.overwrite:  # (without it, existing files are kept: inputs among them)
        # Before any work: no output written over an input (photos, paintings, masks).
        atomic.check_not_inputs(
            [t for _, targets in jobs for t in targets] + [sheet_path] * config.contact_sheet,
            paths + _as_list(style_images) + _as_list(config.style_masks), "output")
    # Created by the first write, so a run whose every input fails makes none.
    stale = atomic.remove_stale(config.output_dir)
    if stale:
        log(f"removed {stale} temp file(s) left in {config.output_dir} by an earlier run")
    failures, written, kept = [], 0, 0
    bar = tqdm.tqdm(jobs, desc="api.stylize", unit="img",
                    disable=not progress or len(paths) < 2, file=sys.stderr)
    for path, targets in bar:
        todo = [i for i, t in enumerate(targets) if config.overwrite or not os.path.exists(t)]
        kept += len(targets) - len(todo)
        if not todo:
            continue
        try:
            photo, regions = conditioning.load_photo(path, options.max_size)
            outs = render.render_photo(conditioning.select(todo), photo, options, regions)
            for i, out in zip(todo, outs):
                image_io.save_image(out, targets[i])
                written += 1
        except UserError as e:
            failures.append(path)
            log(f"skipped {path}: {e}")
        except Exception as e:  # noqa: BLE001 -- one bad photo must not stop a batch
            failures.append(path)
            log(f"failed {path}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    if config.contact_sheet:
        readable = [p for p in paths if p not in failures]
        if readable and (config.overwrite or not os.path.exists(sheet_path)):
            painted = isinstance(conditioning.task, tasks.ArbitraryStyleTransfer)
            save_contact_sheet(readable, sheet_path, model=conditioning.task,
                               style_images=style_images if painted else None,
                               cell_size=config.contact_sheet_size,
                               preserve_colors=config.preserve_colors,
                               strength=config.strength)
            written += 1
        elif os.path.exists(sheet_path):
            kept += 1
    log(f"wrote {written} file(s) to {config.output_dir}"
        + (f"; kept {kept} existing (use --overwrite to replace)" if kept else "")
        + (f"; {len(failures)} input(s) failed" if failures else ""))
    return len(failures)


def config_conditioning(config):
    """The `Conditioning` (model loaded) of a `StylizeConfig`'s model, styles and masks.

    Raises:
        UserError: bad model, which_styles, style images or masks.
    """
    style_images, blend = config_style_images(config)
    which = config.which_styles
    if style_images is not None and which == api.StylizeConfig.which_styles:
        which = 0  # the default pick of a multi-style model; not asked for
    return tasks.resolve(
        config.checkpoint, which, style_image=style_images, style_blend_weights=blend,
        masks=config.style_masks, mask_palette=config.mask_palette,
        normalize_weights=config.normalize_weights, num_styles=config.num_styles,
        alpha=config.alpha).check_masks()


def _as_list(spec):
    """Paths of a str (comma list; globs and folders expanded) or list option; [] for None."""
    if not spec:
        return []
    if isinstance(spec, str) and "," not in spec and not glob.has_magic(spec) \
            and not os.path.isdir(spec):
        return [os.path.expanduser(spec)]
    try:
        return expand_inputs(spec)
    except UserError:
        return []


def config_style_images(config):
    """`(style images or None, blend weights or None)` from a `StylizeConfig`.

    `--style_image` is one painting (a str); `--style_images` a list (files,
    globs, folders, commas; see `expand_inputs`); `--style_blend_weights`
    comma-separated numbers.
    """
    if config.style_image and config.style_images:
        raise UserError("Pass --style_image (one painting) or --style_images (several), not both.")
    weights = None
    if config.style_blend_weights:
        try:
            weights = [float(w) for w in str(config.style_blend_weights).split(",") if w.strip()]
        except ValueError:
            raise UserError("--style_blend_weights must be comma-separated numbers. "
                            f"Received: {config.style_blend_weights!r}") from None
        if not config.style_images:
            raise UserError("--style_blend_weights blends --style_images=a.jpg,b.jpg; "
                            "none were given.")
    if config.style_image:
        return os.path.expanduser(config.style_image), None
    if config.style_images:
        return expand_inputs(config.style_images), weights
    return None, None


_CFG = api.StylizeConfig


# A contact sheet holds (1 + styles) x photos cells of this side at most: far
# above a readable sheet, below one that would not fit in memory.
MAX_CELL_SIZE = 4096


def check_cell_size(cell_size):
    """Raises UserError unless `cell_size` is an int in [16, `MAX_CELL_SIZE`]."""
    if isinstance(cell_size, bool) or not isinstance(cell_size, numbers.Integral) \
            or not options_lib.MIN_SIZE <= cell_size <= MAX_CELL_SIZE:
        raise UserError(f"contact_sheet_size must be an integer of {options_lib.MIN_SIZE} to "
                        f"{MAX_CELL_SIZE} pixels. Received: {cell_size!r}")


def contact_sheet(images, model=None, *, cell_size=_CFG.contact_sheet_size, styles=None,
                  style_images=None, labels=True, preserve_colors=_CFG.preserve_colors,
                  strength=_CFG.strength):
    """Every style of a model (or every painting given) on one or more photos, as one grid.

    Like Magenta's style grid: one row per photo, the photo first, then its
    pastiche under each style; a header row names the styles. With
    `style_images` (an arbitrary-style model, `arbitrary-v1` by default), the
    columns are those paintings and a first row shows them.

    Args:
        images: one image or a list (anything `api.stylize` accepts).
        model: as in `api.stylize`.
        cell_size: int, longer side of each cell in pixels (photos are scaled
            down to it before stylizing, so a sheet stays fast).
        styles: optional list of style indices/names (default: all).
        style_images: list of paintings (paths or arrays) instead of a
            multi-style model's styles.
        labels: draw the style names above the columns.

    Returns:
        `[rows * cell, (1 + num_styles) * cell, 3]` uint8 grid (plus a label
        band on top when `labels`).
    """
    check_cell_size(cell_size)
    rows = []
    if style_images is not None:
        conditioning = tasks.resolve(model, style_image=list(style_images))
        names = list(conditioning.suffixes)
        rows.append([None] + [grid_lib.square_crop(image_io.load_image(p), cell_size)
                              for p in style_images])
    else:
        task = tasks.as_task(model)
        if isinstance(task, tasks.ArbitraryStyleTransfer):
            raise UserError(f"{task.name} takes any painting: give the contact sheet "
                            "style_images=[...] (paintings) to show.")
        all_names = task.style_names
        conditioning = task.resolve(list(range(len(all_names))) if styles is None
                                    else list(styles))
        names = [all_names[int(s)] for s in conditioning.suffixes]
    options = options_lib.RenderOptions(preserve_colors=preserve_colors,
                                        strength=strength).check()
    images, _ = render.as_list(images)
    for item in images:
        photo = image_io.load_image(item, max_size=cell_size)
        cells = [image_io.to_uint8(photo)] + render.render_photo(conditioning, photo, options)
        rows.append([grid_lib.fit_cell(image_io.array_to_float(c), cell_size) for c in cells])
    labels = ["photo"] + names if labels else None
    return image_io.to_uint8(grid_lib.assemble(rows, cell_size, labels=labels))


def save_contact_sheet(images, path, model=None, **options):
    """Writes `contact_sheet(images, model, **options)` to `path`; returns path."""
    return image_io.save_image(contact_sheet(images, model, **options), path)
