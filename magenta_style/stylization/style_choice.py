"""`which_styles`: which style(s) to apply, in Magenta's syntax and a few more.

Magenta's `image_stylization_transform --which_styles` takes a Python list
(`"[0,1,2]"`, one output per style) or a dict (`"{0:0.5,3:0.5}"`, one output
mixing the styles with those weights). We accept the same, plus:

- `"0:0.5,3:0.5"` and `"<0:0.5,3:0.5>"` (a mixture without the braces);
- `"3"`, `3` (one style), `"0,3,5"` (a list without brackets);
- style names from `model.style_names` anywhere an index may stand
  (`"the_scream"`, `"{starry_night_crop: 0.7, udnie: 0.3}"`);
- a weight vector of length num_styles (`numpy` array of any number dtype),
  as the studio sends; a `[K, num_styles]` array is K outputs.

Weights are used as given (Magenta does not normalise them); with
`normalize=True` they are rescaled to sum to 1. A style may appear once per
spec: `[0, 0]` and `{0: 0.5, 0: 0.5}` are refused rather than silently
collapsed.
"""

import ast
import math
import re

import numpy as np

from magenta_style.errors import UserError
from magenta_style.stylization.conditioning import Conditioning

# Above this, every unit of the network saturates (the image stops
# changing: android-26 gives the same picture from 1e3 to 1e10), and from
# ~1e19 float32 overflows into a black or flat image.
MAX_WEIGHT = 1000.0


def _bad(text, why):
    return UserError(
        f"Bad which_styles: {why}. Use an index '3', a list '[0,1,2]', a mixture "
        f"'{{0:0.5,3:0.5}}' or style names. Received: {text!r}"
    )


def _index(key, num_styles, style_names, text):
    """A style index from an int or a style name."""
    if isinstance(key, (bool, np.bool_)):
        raise _bad(text, f"{key!r} is not a style index")
    if isinstance(key, (int, np.integer)):
        index = int(key)
    elif isinstance(key, (float, np.floating)) and float(key).is_integer():
        index = int(key)
    elif isinstance(key, str):
        name = key.strip()
        if re.fullmatch(r"[+-]?\d+", name):
            index = int(name)
        elif style_names and name in style_names:
            return list(style_names).index(name)
        else:
            known = ", ".join(style_names) if style_names else "none"
            raise _bad(text, f"unknown style name {name!r} (known: {known})")
    else:
        raise _bad(text, f"{key!r} is not a style index or name")
    if not 0 <= index < num_styles:
        raise _bad(text, f"style index {index} is out of range; this model has "
                         f"{num_styles} styles (0..{num_styles - 1})")
    return index


def _weight(value, text):
    shown = repr(value)
    try:
        w = float(value)
    except OverflowError:  # an int beyond float's range, such as 10**400
        w, shown = (math.inf if value > 0 else -math.inf), "beyond float range"
    except (TypeError, ValueError):
        raise _bad(text, f"weight {value!r} is not a number") from None
    if isinstance(value, (int, np.integer)) and len(shown) > 12:
        shown = f"{w:g}"  # 1e+300, not three hundred digits
    if math.isnan(w) or (math.isinf(w) and isinstance(value, (float, str, np.floating))):
        raise _bad(text, f"weight {shown} is not finite")
    if w < 0:
        raise _bad(text, f"weight {shown} is negative")
    if w > MAX_WEIGHT:
        raise _bad(text, f"weight {shown} is above {MAX_WEIGHT:g} (larger weights "
                         "saturate or overflow the network)")
    return w


def _split_plain(text):
    """`"0:0.5,3:0.5"` -> {"0": "0.5", ...}; `"0,3"` -> ["0", "3"]."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise _bad(text, "no style given")
    if any(":" in p for p in parts):
        pairs = {}
        for p in parts:
            if ":" not in p:
                raise _bad(text, f"{p!r} has no ':weight' in a mixture")
            key, value = (s.strip() for s in p.rsplit(":", 1))
            if key in pairs:
                raise _bad(text, f"style {key!r} is given twice")
            pairs[key] = value
        return pairs
    return parts if len(parts) > 1 else parts[0]


def _literal(text):
    """The Python value of a which_styles string (Magenta's literal_eval)."""
    stripped = text.strip()
    if stripped.startswith("<") and stripped.endswith(">"):
        value = _split_plain(stripped[1:-1])
        if isinstance(value, dict):
            return value
        return dict.fromkeys(value if isinstance(value, list) else [value], 1.0)
    try:
        value = ast.literal_eval(stripped)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    else:
        if isinstance(value, dict):
            _check_unique_keys(stripped, text)
        return value
    if stripped.startswith("{") and stripped.endswith("}"):
        # Style names without quotes: {starry: 0.5, 3: 0.5}.
        value = _split_plain(stripped[1:-1])
        if not isinstance(value, dict):
            raise _bad(text, "a mixture needs 'style: weight' pairs")
        return value
    if stripped.startswith("[") and stripped.endswith("]"):
        value = _split_plain(stripped[1:-1])
        return value if isinstance(value, list) else [value]
    return _split_plain(stripped)


def _check_unique_keys(stripped, text):
    """Refuses `{0: 0.5, 0: 0.5}`, which Python's dict literal collapses silently."""
    node = ast.parse(stripped, mode="eval").body
    if not isinstance(node, ast.Dict):
        return
    seen = set()
    for key in node.keys:
        value = ast.literal_eval(key) if key is not None else None
        if isinstance(value, str):
            value = value.strip()
        if value in seen:
            raise _bad(text, f"style {value!r} is given twice")
        seen.add(value)


def _weight_text(w):
    """A weight for a file name: Magenta's thousandths when they are exact.

    0.5 -> `500` (as Magenta names it). A weight that thousandths do not
    hold exactly (0.5004, 1e-6) is written in full, `0p5004`, so two
    different mixtures never share a file name; weights are compared as the
    float32 the network uses.
    """
    w32 = np.float32(w)
    thousandths = int(round(float(w32) * 1000))
    if np.float32(thousandths / 1000) == w32:
        return f"{thousandths:03d}"
    return np.format_float_positional(w32, unique=True, trim="-").replace(".", "p")


def mixture_suffix(weights_by_index):
    """Magenta's file-name part for a mixture: {0: .5, 3: .5} -> `0_500_3_500`.

    Weights that thousandths do not hold exactly are written in full
    (`{0: 0.5004}` -> `0_0p5004`), so the name identifies the mixture.
    """
    return "_".join(f"{i}_{_weight_text(w)}" for i, w in sorted(weights_by_index.items()))


def parse_which_styles(which_styles, num_styles, style_names=None, normalize=False):
    """Parses `which_styles` into one weight row per output image.

    Args:
        which_styles: int, style name, list/tuple of those, dict
            {index_or_name: weight}, a `[num_styles]` weight vector (numpy
            array), or a string in any of the forms of the module docstring.
        num_styles: int, the model's number of styles.
        style_names: optional sequence of num_styles names.
        normalize: rescale mixture weights to sum to 1 (Magenta does not).

    Returns:
        A `Conditioning`: one style-weight row per output; `several` when a
        list was asked for (even of one style), `mixed` for a mixture.

    Raises:
        UserError: index out of range, unknown name, negative/NaN/all-zero
            weights, empty or unparseable spec.
    """
    text = which_styles
    value = which_styles
    if isinstance(value, str):
        value = _literal(value)
    # A numpy vector is a weight vector whatever its dtype (np.eye(n, dtype=int)[3]
    # is style 3, not n indices); a Python list is a list of indices.
    if isinstance(value, np.ndarray) and value.ndim == 2 and value.dtype.kind in "fiu":
        # Several weight vectors: one output each.
        specs = [parse_which_styles(row, num_styles, style_names, normalize)
                 for row in value]
        if not specs:
            raise _bad(_short(text), "no weight vector given")
        suffixes = [sp.suffixes[0] for sp in specs]
        if len(set(suffixes)) < len(suffixes):
            raise _bad(_short(text), "a weight vector is given twice (its outputs would "
                                     "share a file name)")
        return Conditioning(np.concatenate([s.rows for s in specs]),
                            tuple(s.suffixes[0] for s in specs), several=True)
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "fiu":
        if value.shape[0] != num_styles:
            raise _bad(_short(text), f"a weight vector needs {num_styles} entries, "
                                     f"got {value.shape[0]} (a numpy array is a weight "
                                     "vector; pass style indices as a list, [0, 3])")
        value = {i: float(v) for i, v in enumerate(value.tolist())
                 if v != 0 or math.isnan(v)} or {0: 0.0}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (set, frozenset)):
        value = sorted(value, key=str)

    if isinstance(value, dict):
        if not value:
            raise _bad(text, "the mixture is empty")
        mix = {}
        for key, w in value.items():
            index = _index(key, num_styles, style_names, _short(text))
            if index in mix:
                raise _bad(_short(text), f"style {index} is given twice")
            mix[index] = _weight(w, _short(text))
        total = sum(mix.values())
        if total <= 0:
            raise _bad(_short(text), "all weights are zero")
        if normalize:
            mix = {i: w / total for i, w in mix.items()}
        row = np.zeros([num_styles], np.float32)
        for i, w in mix.items():
            row[i] = w
        if not np.any(row > 0):  # weights below float32's range (~1e-45) round to 0
            raise _bad(_short(text), "all weights are zero in float32 (the smallest weight it "
                                     "holds is about 1e-45); use larger weights")
        return Conditioning(row[None], (mixture_suffix(mix),), several=_listed(text),
                            mixed=True)

    items = value if isinstance(value, (list, tuple)) else [value]
    if not items:
        raise _bad(text, "the list of styles is empty")
    indices = [_index(k, num_styles, style_names, _short(text)) for k in items]
    if len(set(indices)) < len(indices):
        twice = next(i for i in indices if indices.count(i) > 1)
        # Both outputs would have the same file name: one would be lost.
        raise _bad(_short(text), f"style {twice} is listed twice")
    weights = np.eye(num_styles, dtype=np.float32)[indices]
    return Conditioning(weights, tuple(str(i) for i in indices),
                        several=len(indices) > 1 or _listed(text))


def _short(text):
    if isinstance(text, np.ndarray):
        return np.array2string(text, precision=3, threshold=8)
    return text


def _listed(which_styles):
    """True when the user asked for a list of styles (even of length one)."""
    if isinstance(which_styles, (list, tuple)):
        return True
    if isinstance(which_styles, np.ndarray):
        return which_styles.ndim == 2
    return isinstance(which_styles, str) and which_styles.strip().startswith("[")


def parse_region_styles(which_styles, num_styles, style_names=None, normalize=False):
    """Parses `which_styles` of a masked stylization: a style or mixture per region.

    Args:
        which_styles: a list, one entry per region (= per mask), each an
            index, a style name or a mixture dict (`[0, 3]`,
            `[{0: 0.5, 3: 0.5}, 7]`, `["starry", "wave"]`); a single entry
            for one region; a `[K, num_styles]` float array; or a string of
            any of these (`"0,3"`, `"[{0:0.5,3:0.5},7]"`).
        num_styles: int, the model's number of styles.
        style_names: optional names (as `parse_which_styles`).
        normalize: rescale each mixture's weights to sum to 1.

    Returns:
        A `Conditioning` with one row per region and one output suffix
        (`regions_0-3`, `regions_0_500_3_500-7`); the caller adds the masks.

    Raises:
        UserError: as `parse_which_styles`, per region.
    """
    value = which_styles
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            # Names without quotes ("starry,wave"): a plain list of styles.
            spec = parse_which_styles(value, num_styles, style_names, normalize)
            if spec.mixed:  # "0:0.5,3:0.5" is one region
                return Conditioning(spec.rows, (f"regions_{spec.suffixes[0]}",))
            return Conditioning(spec.rows, ("regions_" + "-".join(spec.suffixes),))
    if isinstance(value, np.ndarray) and value.ndim == 2:
        spec = parse_which_styles(value, num_styles, style_names, normalize)
        return Conditioning(spec.rows, ("regions_" + "-".join(spec.suffixes),))
    if not isinstance(value, (list, tuple)):
        value = [value]
    if not value:
        raise UserError("which_styles names no style; give one style or mixture per mask, "
                        "e.g. [0, 3] or [{0: 0.5, 3: 0.5}, 7].")
    rows, suffixes = [], []
    for entry in value:
        if isinstance(entry, (list, tuple, set)):
            raise UserError(
                f"Each region takes one style or one mixture dict, not a list. Received: "
                f"{entry!r} in which_styles={which_styles!r}")
        spec = parse_which_styles(entry, num_styles, style_names, normalize)
        rows.append(spec.rows[0])
        suffixes.append(spec.suffixes[0])
    return Conditioning(np.stack(rows).astype(np.float32), ("regions_" + "-".join(suffixes),))
