"""Range and finiteness checks of numeric settings: one implementation, one message form.

Every numeric flag and option (sizes, weights, rates, strengths) is checked
where its config is checked, through these, so that NaN, infinity, a bool,
a string or a value far outside what the program can compute with is one
`UserError` line naming the setting, not a traceback or a wrong image.
"""

import math
import numbers

from magenta_style.errors import UserError

# Loss and blend weights above this overflow float32 losses (Grams reach
# ~1e6, squared ~1e12; float32 ends at 3.4e38). Every default is <= 1e4.
MAX_WEIGHT = 1e12
# Image sides: far above any photo the memory limit lets through whole.
MAX_SIDE = 65_536


def number(name, value, low=None, high=None, *, integer=False, low_open=False):
    """`value` as float (or int with `integer`), or one `UserError` line.

    Args:
        name: the setting's name as the user spells it (`--image_size`).
        value: what was given.
        low, high: inclusive bounds (None: unbounded); `low_open` makes
            `low` exclusive (`> 0`).
        integer: require an integer (a float such as 3.0 is accepted).

    Raises:
        UserError: not a real number (bools and strings are not), NaN or
            infinite, not an integer where one is needed, or out of bounds.
    """
    kind = "an integer" if integer else "a number"
    if low is not None and high is not None:
        where = f" in {'(' if low_open else '['}{low:g}, {high:g}]"
    elif low is not None:
        where = f" {'>' if low_open else '>='} {low:g}"
    elif high is not None:
        where = f" <= {high:g}"
    else:
        where = ""
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real)
          and math.isfinite(value) and (not integer or float(value).is_integer())
          and (low is None or (value > low if low_open else value >= low))
          and (high is None or value <= high))
    if not ok:
        raise UserError(f"{name} must be {kind}{where}. Received: {name}={value!r}")
    return int(value) if integer else float(value)


def weights(name, value, high=MAX_WEIGHT):
    """A {key: weight} dict with every weight a number in [0, `high`], or one line."""
    if not isinstance(value, dict):
        raise UserError(f"{name} must be a dict of weights such as {{'vgg_16/conv3': 1.0}}. "
                        f"Received: {name}={value!r}")
    return {key: number(f"{name}[{key!r}]", w, 0, high) for key, w in value.items()}
