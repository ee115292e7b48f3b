"""A model folder's config.json, read as untrusted input, and how a model folder is recognised.

`read_config_json` bounds its size and nesting, checks its format and the
checksum of its content; `check_architecture` and friends bound every
field before anything is built. A config.json is untrusted input: a width
of 1e6 or a million residual blocks would exhaust memory or hang the
builder, NaN or a string where a number belongs would fail deep in Keras.
Each failure is one `UserError` line naming the file. The bounds are far
above any model of this kind (Magenta's widths are at most 128 at alpha
1, 5 residual blocks, 32 styles; ours 36).
"""

import math
import numbers
import os

from magenta_style.errors import UserError
from magenta_style.storage import json_file
from magenta_style.storage import weights_file

MAX_STYLES = 10_000
MAX_ALPHA = 8.0
MAX_WIDTH = 2048
MAX_RESIDUAL_BLOCKS = 64
MAX_KERNEL = 31
MAX_EPSILON = 1.0
MAX_STYLE_DIM = 4096
MAX_NAME_CHARS = 256
# Weights of the whole network (float32: 4 bytes each). android-26 has 1.7M.
MAX_PARAMETERS = 200_000_000
_COUNTS = {"contract_widths": 3, "expand_widths": 2, "kernel_sizes": 3}
# Every file a model folder of either format (multi-style, arbitrary-style) holds.
CONFIG_FILE = "config.json"
MODEL_FOLDER_FILES = frozenset({CONFIG_FILE, "model.weights.h5", "predictor.weights.h5",
                                "transformer.weights.h5", "NOTICE"})


def _bad(where, key, value, why):
    shown = repr(value)
    return UserError(f"Broken model config {where}: {key} {why}. Received: "
                     f"{shown if len(shown) <= 80 else shown[:77] + '...'}")


def _int(where, key, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not lo <= value <= hi:
        raise _bad(where, key, value, f"must be an integer in [{lo}, {hi}]")
    return int(value)


def _ints(where, key, value, lo, hi, odd=False):
    if not isinstance(value, (list, tuple)) or len(value) != _COUNTS[key]:
        raise _bad(where, key, value, f"must list {_COUNTS[key]} integers")
    out = [_int(where, key, v, lo, hi) for v in value]
    if odd and any(v % 2 == 0 for v in out):
        raise _bad(where, key, value, "must be odd (reflection padding of k//2)")
    return out


def _positive(where, key, value, hi):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or not 0 < value <= hi:
        raise _bad(where, key, value, f"must be a number in (0, {hi:g}]")
    return float(value)


def parameters(arch):
    """About how many weights the transformer `arch` (a checked dict) has."""
    alpha = arch.get("alpha", 1.0)
    c1, c2, c3 = (max(1, int(alpha * w)) for w in arch.get("contract_widths", (32, 64, 128)))
    e1, e2 = (max(1, int(alpha * w)) for w in arch.get("expand_widths", (64, 32)))
    big, strided, small = arch.get("kernel_sizes", (9, 3, 3))
    blocks = arch.get("num_residual_blocks", 5)
    conv = (big * big * (3 * c1 + e2 * 3) + strided * strided * (c1 * c2 + c2 * c3)
            + small * small * (2 * blocks * c3 * c3 + c3 * e1 + e1 * e2))
    channels = c1 + c2 + c3 + 2 * blocks * c3 + e1 + e2 + 3
    conditions = arch.get("num_styles", arch.get("style_dim", 1))
    return conv + 2 * conditions * channels


def check_architecture(arch, where, fields):
    """Checks a transformer architecture dict read from a config.json.

    Args:
        arch: the parsed `architecture` (or `transformer`) object.
        where: the file, for messages.
        fields: the keys this kind of architecture has (a config dataclass's
            field names); missing keys take the dataclass's defaults.

    Returns:
        `arch`.

    Raises:
        UserError: an unknown key, a value of the wrong type or out of its
            bounds, an even kernel, or a network above `MAX_PARAMETERS`.
    """
    if not isinstance(arch, dict):
        raise _bad(where, "architecture", arch, "must be a JSON object")
    unknown = sorted(set(arch) - set(fields))
    if unknown:
        raise _bad(where, "architecture", unknown, f"has unknown keys (known: "
                   f"{', '.join(sorted(fields))})")
    checks = {
        "num_styles": lambda v: _int(where, "num_styles", v, 1, MAX_STYLES),
        "style_dim": lambda v: _int(where, "style_dim", v, 1, MAX_STYLE_DIM),
        "alpha": lambda v: _positive(where, "alpha", v, MAX_ALPHA),
        "epsilon": lambda v: _positive(where, "epsilon", v, MAX_EPSILON),
        "num_residual_blocks": lambda v: _int(where, "num_residual_blocks", v, 0,
                                              MAX_RESIDUAL_BLOCKS),
        "contract_widths": lambda v: _ints(where, "contract_widths", v, 1, MAX_WIDTH),
        "expand_widths": lambda v: _ints(where, "expand_widths", v, 1, MAX_WIDTH),
        "kernel_sizes": lambda v: _ints(where, "kernel_sizes", v, 1, MAX_KERNEL, odd=True),
    }
    for key, value in arch.items():
        checks[key](value)
    count = parameters(arch)
    if count > MAX_PARAMETERS:
        raise _bad(where, "architecture", f"{count:,} weights",
                   f"is too large (above {MAX_PARAMETERS:,} weights)")
    return arch


def check_style_names(names, num_styles, where):
    """Checks `style_names`: `num_styles` strings of at most `MAX_NAME_CHARS` characters."""
    if not isinstance(names, list) or len(names) != num_styles:
        raise _bad(where, "style_names", names, f"must list {num_styles} names")
    for name in names:
        if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
            raise _bad(where, "style_names", name,
                       f"must be strings of 1 to {MAX_NAME_CHARS} characters")
    return names


def check_predictor(predictor, where, kinds):
    """Checks a style predictor dict (`kind` one of `kinds`, `style_dim` bounded)."""
    if not isinstance(predictor, dict) or set(predictor) - {"kind", "style_dim"}:
        raise _bad(where, "predictor", predictor, "must hold only kind and style_dim")
    if predictor.get("kind", kinds[0]) not in kinds:
        raise _bad(where, "predictor kind", predictor.get("kind"),
                   f"must be one of {', '.join(kinds)}")
    _int(where, "style_dim", predictor.get("style_dim", 1), 1, MAX_STYLE_DIM)
    return predictor


def read_config_json(path, formats):
    """A model's parsed config.json, checked as untrusted input before anything is built.

    Its size and nesting are bounded (`json_file`), its `format` must be one
    of `formats`, the checksum of its content (when it records one, as
    every model saved since does) must match, and `provenance` must be an
    object. The architecture's bounds are the caller's (`model_config`).

    Raises:
        FileNotFoundError: no file at `path`.
        UserError: anything else wrong with it, in one line naming it.
    """
    meta = json_file.read(path, "Model config")
    if not isinstance(meta, dict) or meta.get("format") not in formats:
        shown = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise UserError(f"Broken model config {path}: expected \"format\": \"{formats[0]}\". "
                        f"Received: format={str(shown)[:80]!r}")
    weights_file.verify_config(meta, path)
    if not isinstance(meta.get("provenance", {}), dict):
        raise UserError(f"Broken model config {path}: provenance must be a JSON object.")
    return meta


def is_model_output(directory):
    """Whether `directory` holds a model folder of ours and nothing else (any age).

    How `atomic.write_dir` recognises models saved before its marker file:
    our config.json (a `magenta_style.` format) and only our file names.
    """
    try:
        names = set(os.listdir(directory))
        if CONFIG_FILE not in names or not names <= MODEL_FOLDER_FILES:
            return False
        meta = json_file.read(os.path.join(directory, CONFIG_FILE), "Model config")
    except (OSError, UserError):
        return False
    return isinstance(meta, dict) and str(meta.get("format", "")).startswith("magenta_style.")
