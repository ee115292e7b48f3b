"""`--beam_pipeline_options` text -> checked Beam `PipelineOptions` and the runner to use.

The syntax is tensorflow-datasets' (`tfds build --beam_pipeline_options=...`):
comma-separated `name=value` items (a bare `name` sets a boolean option),
each becoming `--name=value` for Beam's own parser. Everything is checked
before any work starts, so a typo is one line and nothing is written.

The local default is Beam's FnApiRunner: `DirectRunner` in Beam >= 2.64
first tries the Prism runner, which downloads a Go binary at run time (no
network here, and a surprise for users); the FnApiRunner is what the
DirectRunner falls back to, and honours `direct_num_workers` and
`direct_running_mode` (`in_memory`, `multi_threading`, `multi_processing`).
"""

import contextlib
import io
import re

from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.runners import runner as runner_lib

from magenta_style.errors import UserError

# Runner names users write for "run it here": all mean the FnApiRunner.
LOCAL_RUNNERS = ("directrunner", "switchingdirectrunner", "fnapirunner")
_ITEM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(=(.*))?$", re.S)


def _known_options():
    # Every option of every PipelineOptions subclass that Beam has imported
    # (standard, direct, Google Cloud, Flink, Spark, portable, ...).
    return set(PipelineOptions([]).get_all_options())


def parse(text):
    """`--beam_pipeline_options` text -> `(PipelineOptions, runner object)`.

    Args:
        text: e.g. `"runner=DirectRunner,direct_num_workers=2,
            direct_running_mode=multi_processing"`; empty means local,
            one worker, in memory.

    Returns:
        `(options, runner)`: the options with `runner` removed from them,
        and a `PipelineRunner` instance (the FnApiRunner for local names).

    Raises:
        UserError: an item that is not `name[=value]`, an option Beam does
            not know, a value Beam's parser refuses, or an unknown runner.
    """
    items = [item.strip() for item in str(text or "").split(",") if item.strip()]
    known = _known_options()
    argv, runner_name = [], None
    for item in items:
        match = _ITEM.match(item)
        if not match:
            raise UserError(f"--beam_pipeline_options items are name=value separated by commas "
                            f"(runner=DirectRunner,direct_num_workers=2). Received: {item!r}")
        name, value = match.group(1), match.group(3)
        if name not in known:
            raise UserError(f"Unknown Beam pipeline option {name!r} in --beam_pipeline_options; "
                            "see Beam's PipelineOptions (runner, direct_num_workers, "
                            "direct_running_mode, project, flink_master, ...).")
        if name == "runner":
            runner_name = (value or "").strip()
            continue
        argv.append(f"--{name}" if value is None else f"--{name}={value}")
    if not any(a.startswith("--default_sdk_harness_log_level") for a in argv):
        # Workers' per-bundle INFO lines would bury the run's own report.
        argv.append("--default_sdk_harness_log_level=WARNING")
    options = PipelineOptions(argv)
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            options.get_all_options()
    except SystemExit:
        lines = [line for line in errors.getvalue().splitlines() if line.strip()]
        reason = lines[-1].split("error: ", 1)[-1] if lines else "refused by Beam's parser"
        raise UserError(f"Bad --beam_pipeline_options: {reason}") from None
    return options, make_runner(runner_name, options)


def is_local(runner_name):
    """Whether `runner_name` (None = the default) runs the pipeline in this process tree."""
    return not runner_name or runner_name.lower() in LOCAL_RUNNERS


def make_runner(runner_name, options):
    """A runner instance for `runner_name`; local names give the FnApiRunner (see module doc).

    The FnApiRunner gets `options` as the DirectRunner hands them over, so
    its worker processes see them too (their log level, for one).

    Raises:
        UserError: a name Beam does not know (or whose extra is not installed).
    """
    if is_local(runner_name):
        from apache_beam.portability.api import beam_provision_api_pb2
        from apache_beam.runners.portability.fn_api_runner import fn_runner
        from apache_beam.runners.portability.portable_runner import JobServiceHandle

        encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
        return fn_runner.FnApiRunner(provision_info=fn_runner.ExtendedProvisionInfo(
            beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded)))
    names = {n.lower(): n for n in StandardOptions.KNOWN_RUNNER_NAMES}
    lowered = runner_name.lower()
    if lowered not in names and lowered + "runner" not in names and "." not in runner_name:
        raise UserError(f"Unknown Beam runner {runner_name!r}; use one of "
                        f"{', '.join(StandardOptions.KNOWN_RUNNER_NAMES)} (or a dotted class "
                        "path).")
    try:
        return runner_lib.create_runner(runner_name)
    except (ImportError, ValueError, AttributeError, RuntimeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"Cannot use Beam runner {runner_name!r}: {first}") from None
