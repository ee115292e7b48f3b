"""What the page asks to render: `PageRequest` and its parsing.

The page sends a mixture as JSON (a POST) or query parameters (a GET);
`parse_options` turns either into a `PageRequest`, whose
`stylize_kwargs` are `magenta_style.stylize`'s arguments. Malformed values
are `UserError`s (HTTP 400, one line); ranges are left to `stylize`.
"""

import dataclasses
import typing

import numpy as np

from magenta_style.errors import UserError
from magenta_style.stylization.options import check_region_statistics

# Painted regions per photo: each adds a pass to a "per_style" download.
MAX_REGIONS = 6
# Dropped paintings kept (each a style vector and a thumbnail); the oldest
# is forgotten first.
MAX_PAINTINGS = 8


@dataclasses.dataclass(frozen=True)
class PageRequest:
    """One mixture as the page sets it.

    Attributes:
        weights: `[num_styles]` float64 slider values, >= 0, not all zero.
        normalize: rescale the weights to sum to 1 (`--normalize_weights`).
        preserve_colors: keep the photo's colours (`--preserve_colors`).
        strength: float in [0, 1] (`--strength`).
        regions: None, or `[K, num_styles]` float64: the style weights of
            each painted region, in the order of the photo's masks
            (`Studio.set_masks`); then `weights` is unused.
        region_statistics: "shared" or "per_style" (`stylization.regions`).
        paintings: None, or `{painting id: weight}` (weights >= 0, some
            positive): render with the painting model and these dropped
            paintings' vectors mixed; then `weights` is unused.
    """

    weights: np.ndarray
    normalize: bool = False
    preserve_colors: bool = False
    strength: float = 1.0
    regions: typing.Optional[np.ndarray] = None
    region_statistics: str = "shared"
    paintings: typing.Optional[dict] = None

    def stylize_kwargs(self, masks=None):
        """`stylize`'s keyword arguments; `masks` `[H, W, K]` with `regions`."""
        kwargs = {"which_styles": self.weights, "normalize_weights": self.normalize,
                  "preserve_colors": self.preserve_colors, "strength": self.strength}
        if self.regions is not None:
            if masks is None or masks.shape[-1] != len(self.regions):
                have = "no painted masks" if masks is None else f"{masks.shape[-1]} masks"
                raise UserError(
                    f"The render names {len(self.regions)} regions but the photo has "
                    f"{have}; paint the regions again (their masks are sent first).")
            kwargs.update(which_styles=self.regions, masks=list(masks.transpose(2, 0, 1)),
                          region_statistics=self.region_statistics)
        return kwargs


def as_bool(value):
    """A flag from JSON (a bool) or a query ("1", "true", "yes", "on"; else False)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def weight_vector(raw, num_styles, what="weights"):
    """A list of numbers (or a comma-separated string) -> `[num_styles]` float64."""
    if isinstance(raw, str):
        raw = [w for w in raw.split(",") if w.strip()]
    try:
        weights = np.asarray(raw, np.float64)
    except (TypeError, ValueError):
        raise UserError(f"{what} must be a list of numbers. Received: {raw!r}") from None
    if weights.ndim != 1 or weights.shape[0] != num_styles:
        raise UserError(
            f"{what} must hold one number per style ({num_styles}). Received: {raw!r}")
    return weights


def _parse_regions(raw, num_styles):
    """`regions` (a list of weight lists, or "w,w,...;w,w,...") -> `[K, num_styles]`."""
    if raw is None or raw == "":
        return None
    rows = raw.split(";") if isinstance(raw, str) else raw
    if not isinstance(rows, (list, tuple)) or not 1 <= len(rows) <= MAX_REGIONS:
        raise UserError(f"regions must be a list of 1 to {MAX_REGIONS} weight lists, one "
                        f"per painted region. Received: {str(raw)[:200]!r}")
    return np.stack([weight_vector(row, num_styles, f"region {i}'s weights")
                     for i, row in enumerate(rows)])


def _parse_paintings(raw):
    """`paintings` ({id: weight}, or "id:w,id:w" in a query) -> {id: float} or None."""
    if raw is None or raw == "" or raw == {}:
        return None
    if isinstance(raw, str):
        pairs = [item.split(":", 1) for item in raw.split(",") if item.strip()]
        if any(len(p) != 2 for p in pairs):
            raise UserError(f"paintings must be 'id:weight,id:weight'. Received: {raw[:200]!r}")
        raw = dict(pairs)
    if not isinstance(raw, dict) or len(raw) > MAX_PAINTINGS:
        raise UserError(f"paintings must map up to {MAX_PAINTINGS} painting ids to weights. "
                        f"Received: {str(raw)[:200]!r}")
    try:
        weights = {str(k).strip(): float(v) for k, v in raw.items()}
    except (TypeError, ValueError):
        raise UserError(f"painting weights must be numbers. Received: {str(raw)[:200]!r}") from None
    if not all(np.isfinite(w) and w >= 0 for w in weights.values()) or not any(
            w > 0 for w in weights.values()):
        raise UserError("painting weights must be >= 0 with at least one above 0. "
                        f"Received: {weights!r}")
    return {k: w for k, w in weights.items() if w > 0}


def parse_options(params, num_styles):
    """`PageRequest` from JSON or query parameters.

    Args:
        params: mapping with `weights` (list of numbers, or a comma-separated
            string), and optional `normalize`, `preserve_colors` (bools or
            "0"/"1"), `strength` (number or string), `regions` (a list of
            weight lists, or in a query "w,w,...;w,w,..."), and
            `region_statistics` ("shared", the default, or "per_style").
        num_styles: the model's number of styles.

    Raises:
        UserError: missing or malformed values (ranges are checked by
            `stylize` itself).
    """
    weights = weight_vector(params.get("weights"), num_styles)
    statistics = params.get("region_statistics") or "shared"
    check_region_statistics(statistics)
    try:
        strength = float(params.get("strength", 1.0))
    except (TypeError, ValueError):
        raise UserError(
            f"strength must be a number in [0, 1]. Received: {params.get('strength')!r}"
        ) from None
    return PageRequest(weights=weights,
                         normalize=as_bool(params.get("normalize", False)),
                         preserve_colors=as_bool(params.get("preserve_colors", False)),
                         strength=strength,
                         regions=_parse_regions(params.get("regions"), num_styles),
                         region_statistics=statistics,
                         paintings=_parse_paintings(params.get("paintings")))


def paintings_suffix(names, weights):
    """`a_750_b_250` for paintings named `a.png`, `b.jpg` mixed 3:1."""
    total = sum(weights)
    return "_".join(f"{n.rsplit('.', 1)[0]}_{round(1000 * w / total):03d}"
                    for n, w in zip(names, weights))


def download_name(photo_name, suffix, paintings=False):
    """A download's file name, Magenta's `{basename}_{suffix}.png`, made file-safe.

    The photo's base name keeps letters, digits, `-` and `_` (others become
    `_`); it is cut to 80 characters, or with paintings (whose names join
    the suffix) the whole name to 120.
    """
    base = photo_name.rsplit(".", 1)[0] or "photo"
    if paintings:
        name = f"{base}_{suffix}"
        return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:120] + ".png"
    base = "".join(c if c.isalnum() or c in "-_" else "_" for c in base)[:80]
    return f"{base}_{suffix}.png"
