"""How a pastiche is rendered: the one options object of every renderer.

`RenderOptions` is what `stylize`, `stylize_files` (`StylizeConfig` extends
it with its files), `stylize_video`, `FrameStylizer` and the studio take;
the scripts' flags are generated from its fields. Which styles to render
is not an option but a `conditioning.Conditioning`.
"""

import dataclasses
import math
import numbers

from magenta_style.errors import UserError

# The network reflection-pads by 4 and downsamples by 4, so tiny inputs are
# padded up to this size first, then cropped back.
MIN_SIZE = 16
# How styles in regions are normalised (`stylization.regions`); the first is
# the default. Kept here so options need no TensorFlow.
REGION_STATISTICS = ("per_style", "shared")
# Arithmetic of the network's convolutions (`stylization.precision`); the
# second is the default: today's exact float32 path.
PRECISIONS = ("auto", "float32", "bfloat16")


def check_region_statistics(statistics):
    """Raises one `UserError` line unless `statistics` is one of `REGION_STATISTICS`."""
    if statistics not in REGION_STATISTICS:
        raise UserError(f"region_statistics must be one of {', '.join(REGION_STATISTICS)}. "
                        f"Received: {statistics!r}")


@dataclasses.dataclass(frozen=True)
class RenderOptions:
    """Rendering options (flags of `bin/stylize` are made from these fields)."""

    max_size: int = dataclasses.field(default=0, metadata={
        "help": "Scale photos down so the longer side is at most this (0 = keep)."})
    preserve_colors: bool = dataclasses.field(default=False, metadata={
        "help": "Keep the photo's colours; take only luminance from the pastiche."})
    strength: float = dataclasses.field(default=1.0, metadata={
        "help": "Style strength in [0, 1]; 1 = full style. Trained styles blend pastiche "
                "and photo; style images blend the style vector with the photo's own."})
    tile_size: int = dataclasses.field(default=1024, metadata={
        "help": "Tile side in pixels for large images."})
    tile_threshold: int = dataclasses.field(default=4_000_000, metadata={
        "help": "Images with more pixels than this are stylized in tiles."})
    region_statistics: str = dataclasses.field(default="per_style", metadata={
        "help": "With --style_masks: per_style = normalise each region with its own "
                "style's whole-image statistics (regions match their single-style "
                "pastiches away from seams; one extra pass per style), shared = "
                "the mixed image's statistics (one pass)."})
    jit_compile: bool = dataclasses.field(default=False, metadata={
        "help": "Compile the network with XLA (faster for repeated sizes; each "
                "new size compiles once)."})

    precision: str = dataclasses.field(default="float32", metadata={
        "help": "Arithmetic of the convolutions: float32 (exact), bfloat16 (float32 "
                "accumulation; norms and sigmoid stay float32), or auto = the fastest "
                "one whose output stays within 1.5 levels of float32's on this CPU "
                "(measured once per machine and model, then cached)."})

    def check(self):
        """Returns self, or raises one `UserError` line naming the bad value."""
        strength = self.strength
        if (isinstance(strength, bool) or not isinstance(strength, numbers.Real)
                or not 0.0 <= float(strength) <= 1.0):
            raise UserError(f"strength must be in [0, 1]. Received: strength={strength!r}")
        for name in ("max_size", "tile_size", "tile_threshold"):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                    or not math.isfinite(value) or not float(value).is_integer() or value < 0):
                raise UserError(f"{name} must be a positive integer or 0. Received: "
                                f"{name}={value!r}")
        if self.tile_size < MIN_SIZE:
            raise UserError(f"tile_size must be at least {MIN_SIZE}. "
                            f"Received: tile_size={self.tile_size!r}")
        check_region_statistics(self.region_statistics)
        if self.precision not in PRECISIONS:
            raise UserError(f"precision must be one of {', '.join(PRECISIONS)}. "
                            f"Received: precision={self.precision!r}")
        return self

    def replace(self, **changes):
        """A copy with `changes` (only `RenderOptions` fields), checked.

        Raises:
            TypeError: a keyword that is not a field, as a Python call does.
        """
        fields = {f.name for f in dataclasses.fields(RenderOptions)}
        unknown = sorted(set(changes) - fields)
        if unknown:
            raise TypeError(f"Unexpected render option(s) {', '.join(unknown)}; the options are "
                            f"{', '.join(sorted(fields))}.")
        changes = {k: v for k, v in changes.items() if v is not None or k != "max_size"}
        return dataclasses.replace(self, **changes).check()

    @classmethod
    def from_config(cls, config):
        """The render options of any config holding them by name (`VideoConfig`, ...)."""
        return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(cls)
                      if hasattr(config, f.name)}).check()
