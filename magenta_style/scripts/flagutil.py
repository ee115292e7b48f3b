"""Flags generated from config dataclasses, and the scripts' error handling.

Defaults live only in the dataclasses; `define_flags` reads them. A flag that
another script module already defined (absl raises on duplicates) is reused,
so shared flags are defined once per process.
"""

import ast
import dataclasses
import signal
import sys
import typing

from absl import app
from absl import flags
from absl import logging as absl_logging

from magenta_style.errors import UserError

FLAGS = flags.FLAGS

# Read from sys.argv by `magenta_style.scripts` before TensorFlow loads;
# defined here so that absl accepts it in every script.
if "verbose" not in FLAGS:
    flags.DEFINE_bool("verbose", False,
                      "Also show TensorFlow's start-up log lines (oneDNN, CUDA probing).")


def parse_literal(text, name):
    """A Python literal from a flag string (`{"vgg_16/conv3": 1.0}`, `[0,1]`).

    Raises:
        UserError: naming the flag and the bad value.
    """
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise UserError(
            f"--{name} must be a Python literal such as "
            f"'{{\"vgg_16/conv3\": 1.0}}' or '[0, 1]'. Received: {text!r}"
        ) from None


def _kind(field):
    tp = field.type
    if isinstance(tp, str):
        tp = {"int": int, "float": float, "bool": bool, "str": str}.get(tp, tp)
    origin = typing.get_origin(tp)
    if origin is typing.Union:  # Optional[X]
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        tp = args[0] if len(args) == 1 else str
        origin = typing.get_origin(tp)
    return origin or tp


def _default(field):
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def define_flags(cls, exclude=(), required=()):
    """Defines one absl flag per field of dataclass `cls` (once per process).

    Help text comes from `field(metadata={"help": ...})`. dict, list and
    tuple fields become string flags holding a Python literal.
    """
    for field in dataclasses.fields(cls):
        name = field.name
        if name in exclude or name in FLAGS:
            continue
        default = _default(field)
        help_text = field.metadata.get("help", name.replace("_", " "))
        kind = _kind(field)
        if kind is bool:
            flags.DEFINE_bool(name, default, help_text)
        elif kind is int and not isinstance(default, bool):
            flags.DEFINE_integer(name, default, help_text)
        elif kind is float:
            flags.DEFINE_float(name, default, help_text)
        elif kind in (dict, list, tuple):
            flags.DEFINE_string(
                name, None if default is None else repr(default), help_text)
        else:
            flags.DEFINE_string(
                name, None if default is None else str(default), help_text)
        if name in required:
            flags.mark_flag_as_required(name)


def config_from_flags(cls, **overrides):
    """An instance of `cls` from the parsed flags (literal fields parsed).

    Only flags the user set are read; the rest keep `cls`'s defaults. A
    flag shared by two scripts is defined once, with the first script's
    default, so its flag default must not leak into the other's config.
    """
    values = {}
    for field in dataclasses.fields(cls):
        if field.name in overrides or field.name not in FLAGS:
            continue
        flag = FLAGS[field.name]
        if flag.using_default_value and not flag.present:
            continue
        value = FLAGS[field.name].value
        kind = _kind(field)
        if kind in (dict, list, tuple) and isinstance(value, str):
            value = parse_literal(value, field.name)
            if kind is tuple and isinstance(value, list):
                value = tuple(value)
        values[field.name] = value
    values.update(overrides)
    return cls(**values)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs."""


def _raise_terminated(signum, frame):
    del signum, frame
    raise Terminated()


def run(main):
    """`app.run(main)`: a `UserError` is one line and exit 2, Ctrl-C exit 130.

    Ctrl-C (or `timeout -s INT`) ends with the shell's code for SIGINT and no
    traceback; training has saved its checkpoint and said so by then.
    SIGTERM (`kill`, `timeout`, a batch system) is handled the same way, so
    temp files are removed and checkpoints saved, and ends with 143. An
    unexpected positional argument is one line too.
    """

    def guarded(argv):
        if not FLAGS.verbose:
            # TensorFlow's SavedModel code logs INFO lines through absl
            # ("Writing fingerprint to ..."); warnings still show.
            absl_logging.set_verbosity(absl_logging.WARNING)
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
        try:
            return main(argv)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)
        except flags.Error as e:
            print(f"error: {e} (flags are written --name=value; see --help)", file=sys.stderr)
            sys.exit(2)
        except Terminated:
            print("Terminated.", file=sys.stderr)
            sys.exit(128 + signal.SIGTERM)
        except KeyboardInterrupt:
            print("Interrupted.", file=sys.stderr)
            sys.exit(130)
        finally:
            signal.signal(signal.SIGTERM, previous)

    app.run(guarded)
