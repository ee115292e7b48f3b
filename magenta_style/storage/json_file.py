"""JSON the project wrote and reads back (configs, headers, metrics), as untrusted input.

A file may be cut short, have flipped bytes, or be written by someone else
to break the reader: every failure is one `UserError` line naming the file.
Python's parser raises RecursionError on deep nesting (`[[[[...`) and has
no size limit, so both are bounded here; none of our files nests deeper
than a few levels or needs more than a few MB.
"""

import json
import os

from magenta_style.errors import UserError

# Deeper than any file we write (config.json: 4 levels with provenance).
MAX_DEPTH = 32
# Larger than any config or header we write (a 10,000-style config is ~1 MB).
MAX_BYTES = 32 << 20


def _depth(value):
    """Nesting depth of parsed JSON (iterative: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def loads(text, what):
    """Parsed JSON from `text` (str or bytes), or one `UserError` line naming `what`.

    Args:
        text: the JSON document.
        what: how the message names its source ("model config /m/config.json").

    Raises:
        UserError: not UTF-8, not JSON, nested deeper than `MAX_DEPTH`.
    """
    try:
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8")
        value = json.loads(text)
    except RecursionError:
        raise UserError(f"{what} is not a file magenta_style wrote: its JSON nests deeper "
                        f"than {MAX_DEPTH} levels.") from None
    except (ValueError, TypeError) as e:  # JSONDecodeError and UnicodeDecodeError are both
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"{what} is damaged or not JSON ({first[:200]}).") from None
    if _depth(value) > MAX_DEPTH:
        raise UserError(f"{what} is not a file magenta_style wrote: its JSON nests deeper "
                        f"than {MAX_DEPTH} levels.")
    return value


def read(path, what="file", max_bytes=MAX_BYTES):
    """Parsed JSON of the file at `path`; `what` names it in messages ("model config").

    Raises:
        FileNotFoundError: no file at `path` (callers say what was expected).
        UserError: unreadable, larger than `max_bytes`, or not JSON (`loads`).
    """
    what = f"{what} {os.fspath(path)}"
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise UserError(f"{what} cannot be read: {e.strerror or e}.") from None
    if len(data) > max_bytes:
        raise UserError(f"{what} is larger than {max_bytes >> 20} MB; not a file "
                        "magenta_style wrote.")
    return loads(data, what)
