"""What a pastiche is conditioned on: one `Conditioning` per request.

Every way of choosing a style ends here: a multi-style model's styles and
mixtures (`style_choice.parse_which_styles`), a style or mixture per region
(`style_choice.parse_region_styles`), any painting, a blend of paintings or
a style vector (`arbitrary.paintings`). Each becomes rows of the source
that feeds the instance norms' gamma/beta (style weights `[K, num_styles]`
or style vectors `[K, style_dim]`), the output names, and optionally the
masks that spread the rows over the photo. `tasks.resolve` makes one from
what a user passed; `render` and the runner consume it.
"""

import dataclasses
import typing

import numpy as np

from magenta_style.storage import image_io
from magenta_style.stylization import masks as masks_lib


@dataclasses.dataclass(frozen=True)
class Conditioning:
    """The conditioning rows of a request, how outputs are named, and where rows go.

    Attributes:
        rows: `[K, D]` float32: style weights (`D = num_styles`, used as given,
            as Magenta does) or style vectors (`D = style_dim`).
        suffixes: output-name suffixes, one per output: `"3"`, `"0_500_3_500"`
            (a mixture), `"starry_night"` (a painting), `"regions_0-3"`.
        several: the request named a list, so one photo gives a list of
            outputs even when it holds one entry.
        mixed: the rows came from one mixture or blend (one output).
        vectors: the rows are style vectors, so `strength` moves the vector
            towards the photo's own (Magenta's identity interpolation) instead
            of blending pixels.
        masks: None (every row styles the whole photo, one output per row), or
            the user's masks, one per row (paths, arrays, or one label image
            with `mask_palette`): then ONE output, row k where mask k covers.
        mask_palette: colours of a label image's regions, or None.
        region_names: what the rows are, for mask messages.
        task: the `tasks` object (the model) the rows are for.
    """

    rows: np.ndarray
    suffixes: tuple
    several: bool = False
    mixed: bool = False
    vectors: bool = False
    masks: typing.Any = None
    mask_palette: typing.Any = None
    region_names: str = "entries of which_styles"
    task: typing.Any = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def num_outputs(self):
        return len(self.suffixes)

    @property
    def num_regions(self):
        """The number of regions (rows) with masks; None without."""
        return None if self.masks is None else len(self.rows)

    def select(self, indices):
        """Only the outputs `indices` (a list of ints); the whole thing with masks."""
        if self.masks is not None:
            return self
        return dataclasses.replace(self, rows=self.rows[list(indices)],
                                   suffixes=tuple(self.suffixes[i] for i in indices))

    def check_masks(self):
        """One line unless there is a mask (or palette colour) per row; reads no file."""
        if self.masks is not None:
            masks_lib.check_masks(self.masks, len(self.rows), self.mask_palette,
                                  self.region_names)
        return self

    def load_photo(self, image, max_size=0):
        """The photo and, with masks, its `masks.Regions`.

        Args:
            image: anything `image_io.load_image` reads.
            max_size: scale the photo down to this longer side (0: keep);
                masks drawn on the full photo follow it.

        Returns:
            `(photo [H, W, 3] float32 in [0, 1], Regions or None)`.
        """
        if self.masks is None:
            return image_io.load_image(image, max_size=max_size or None), None
        return masks_lib.load_photo_and_masks(image, self.masks, len(self.rows), max_size,
                                              self.mask_palette, self.region_names)
