"""`which_styles`: which style(s) to apply, in Magenta's syntax and a few more.

Magenta's `image_stylization_transform --which_styles` takes a Python list
(`"[0,1,2]"`, one output per style) or a dict (`"{0:0.5,3:0.5}"`, one output
mixing the styles with those weights). We accept the same, plus:

- `"0:0.5,3:0.5"` and `"<0:0.5,3:0.5>"` (a mixture without the braces);
- `"3"`, `3` (one style), `"0,3,5"` (a list without brackets);
- style names from `model.style_names` anywhere an index may stand
  (`"android_03"`, `"{starry_night: 0.7, android_03: 0.3}"`);
- a weight vector of length num_styles (`numpy` array), as the studio sends.

Weights are used as given (Magenta does not normalise them); with
`normalize=True` they are rescaled to sum to 1.
"""

import ast
import dataclasses
import math
import re

import numpy as np

from magenta_style.errors import UserError


@dataclasses.dataclass(frozen=True)
class StyleSpec:
    """Parsed `which_styles`: one weight vector per output image.

    Attributes:
        weights: `[num_outputs, num_styles]` float32 style-weight rows.
        suffixes: one output-name suffix per row, Magenta's naming: `"3"` for
            style 3, `"0_500_3_500"` for the mixture {0: 0.5, 3: 0.5}.
        is_mixture: True when the input was a dict/mixture (one output).
    """

    weights: np.ndarray
    suffixes: tuple
    is_mixture: bool

    @property
    def num_outputs(self):
        return len(self.suffixes)


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
    try:
        w = float(value)
    except (TypeError, ValueError):
        raise _bad(text, f"weight {value!r} is not a number") from None
    if math.isnan(w) or math.isinf(w):
        raise _bad(text, f"weight {value!r} is not finite")
    if w < 0:
        raise _bad(text, f"weight {w} is negative")
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
        return ast.literal_eval(stripped)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
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


def mixture_suffix(weights_by_index):
    """Magenta's file-name part for a mixture: {0: .5, 3: .5} -> `0_500_3_500`."""
    return "_".join(f"{i}_{int(round(w * 1000)):03d}"
                    for i, w in sorted(weights_by_index.items()))


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
        A `StyleSpec`.

    Raises:
        UserError: index out of range, unknown name, negative/NaN/all-zero
            weights, empty or unparseable spec.
    """
    text = which_styles
    value = which_styles
    if isinstance(value, str):
        value = _literal(value)
    if isinstance(value, np.ndarray) and value.ndim == 2 and value.dtype.kind == "f":
        # Several weight vectors: one output each.
        specs = [parse_which_styles(row, num_styles, style_names, normalize)
                 for row in value]
        if not specs:
            raise _bad(_short(text), "no weight vector given")
        return StyleSpec(np.concatenate([s.weights for s in specs]),
                         tuple(s.suffixes[0] for s in specs), False)
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind == "f":
        if value.shape[0] != num_styles:
            raise _bad(_short(text), f"a weight vector needs {num_styles} entries, "
                                     f"got {value.shape[0]}")
        value = {i: float(v) for i, v in enumerate(value) if v != 0 or math.isnan(v)} \
            or {0: 0.0}
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
        return StyleSpec(row[None], (mixture_suffix(mix),), True)

    items = value if isinstance(value, (list, tuple)) else [value]
    if not items:
        raise _bad(text, "the list of styles is empty")
    indices = [_index(k, num_styles, style_names, _short(text)) for k in items]
    weights = np.eye(num_styles, dtype=np.float32)[indices]
    return StyleSpec(weights, tuple(str(i) for i in indices), False)


def _short(text):
    if isinstance(text, np.ndarray):
        return np.array2string(text, precision=3, threshold=8)
    return text
