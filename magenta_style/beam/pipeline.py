"""`stylize_collection`: `bin/stylize --beam_pipeline_options=...`, the whole run.

Checks everything a user can get wrong before any work (pipeline options
and runner, output folder, inputs, model and styles: one `UserError` line
each, nothing written), builds the pipeline (photos -> `StylizeImages` ->
`failures.jsonl`), runs it, and reports Beam's counters and the throughput.
"""

import contextlib
import dataclasses
import json
import os
import sys
import time

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.metrics.metric import MetricsFilter

from magenta_style.beam import handler as handler_lib
from magenta_style.beam import options as options_lib
from magenta_style.beam import sources
from magenta_style.beam import transforms
from magenta_style.errors import UserError
from magenta_style.storage import atomic
from magenta_style.storage import image_io
from magenta_style.stylization import batch_files
from magenta_style.stylization.options import RenderOptions

FAILURES_FILE = "failures.jsonl"
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclasses.dataclass(frozen=True)
class Summary:
    """What one run did (Beam's counters) and how fast.

    Attributes:
        written, skipped, failed: photos rendered and written, photos whose
            outputs all existed, photos in `failures.jsonl`.
        outputs: files written.
        model_loads: times a worker process loaded the model.
        seconds: wall time of the pipeline (start-up included).
    """

    written: int
    skipped: int
    failed: int
    outputs: int
    model_loads: int
    seconds: float

    @property
    def photos_per_second(self):
        return self.written / self.seconds if self.seconds > 0 else 0.0


def _write_failures(records, path):
    lines = "".join(json.dumps(r, sort_keys=True) + "\n"
                    for r in sorted(records, key=lambda r: r["path"]))
    sources.write_bytes(path, lines.encode("utf-8"))


@contextlib.contextmanager
def _local_workers_env():
    """Lets local worker processes import this package and keep TensorFlow's chatter down."""
    env = {"PYTHONPATH": os.pathsep.join(
        [_PACKAGE_ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]),
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _counters(result):
    values = {}
    for counter in result.metrics().query(
            MetricsFilter().with_namespace(handler_lib.NAMESPACE))["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        values[counter.key.metric.name] = values.get(counter.key.metric.name, 0) + (value or 0)
    return values


def stylize_collection(config, beam_pipeline_options="", log=None):
    """Stylizes every photo of `config.input_image` into `config.output_dir` on Beam.

    Args:
        config: a `StylizeConfig` (as `bin/stylize`; `contact_sheet` is not
            supported here). `input_image` may also name photo lists
            (`.txt`) and TFRecord files (`beam.sources`).
        beam_pipeline_options: tfds-style `name=value,...` text
            (`beam.options.parse`); empty: local, one worker.
        log: callable taking one line (default: print to stderr).

    Returns:
        A `Summary`. Failed photos are in `{output_dir}/failures.jsonl`
        (one JSON object per line: `path`, `reason`), rewritten each run.

    Raises:
        UserError: bad options, runner, output folder, inputs, model or styles.
    """
    log = log or (lambda line: print(line, file=sys.stderr))
    options, runner = options_lib.parse(beam_pipeline_options)
    if config.contact_sheet:
        raise UserError("--contact_sheet is drawn by plain bin/stylize; drop it (or "
                        "--beam_pipeline_options) and run the sheet separately.")
    if not config.output_dir:
        raise UserError("No output folder given; pass --output_dir=FOLDER.")
    output_dir = config.output_dir
    ext = config.output_format.lower().lstrip(".")
    if "." + ext not in image_io.FORMATS:
        raise UserError(f"Unknown output_format {config.output_format!r}; use png, jpg or webp.")
    if sources.is_local(output_dir):
        output_dir = os.path.abspath(os.path.expanduser(output_dir))
        atomic.check_output_dir(output_dir)
    render_options = RenderOptions.from_config(config)
    inputs = sources.expand(config.input_image)
    photos, base = list(inputs.photos), config.output_basename
    if photos and (inputs.lists or inputs.patterns or inputs.records):
        # Other inputs too: a lone photo is not named `output_basename` alone.
        names = [sources.photo_name(p, base) for p in photos]
    else:
        names = batch_files.output_basenames(photos, base) if photos else []
    conditioning = batch_files.config_conditioning(config)
    if sources.is_local(output_dir):
        stale = atomic.remove_stale(output_dir)
        if stale:
            log(f"removed {stale} temp file(s) left in {output_dir} by an earlier run")

    pipeline = beam.Pipeline(runner=runner, options=options)
    collections = []
    if photos:
        collections.append(pipeline | "Photos" >> beam.Create(list(zip(names, photos))))
    if inputs.lists:
        collections.append(
            pipeline
            | "PhotoLists" >> beam.Create(inputs.lists)
            | "ReadLists" >> beam.io.ReadAllFromText(with_filename=True)
            | "ListedPhotos" >> beam.FlatMap(sources.listed_photo, base))
    if inputs.patterns:
        collections.append(
            pipeline
            | "Patterns" >> beam.Create(inputs.patterns)
            | "Match" >> fileio.MatchAll()
            | "MatchedPhotos" >> beam.FlatMap(sources.matched_photo, base))
    if inputs.records:
        collections.append(
            pipeline
            | "TFRecordFiles" >> beam.Create(inputs.records)
            | "ReadTFRecords" >> beam.io.ReadAllFromTFRecord(with_filename=True)
            | "Decode" >> beam.MapTuple(lambda path, record: sources.record_photo(record, path)))
    failures = (tuple(collections) | "AllPhotos" >> beam.Flatten()
                | "Stylize" >> transforms.StylizeImages(
                    config.checkpoint, conditioning, render_options, output_dir,
                    output_format=ext, overwrite=config.overwrite,
                    num_styles=config.num_styles, alpha=config.alpha))
    failures_path = sources.join(output_dir, FAILURES_FILE)
    (failures
     | "AllFailures" >> beam.combiners.ToList()
     | "WriteFailures" >> beam.Map(_write_failures, failures_path))

    start = time.perf_counter()
    with _local_workers_env() if options_lib.is_local(type(runner).__name__) \
            else contextlib.nullcontext():
        result = pipeline.run()
        result.wait_until_finish()
    seconds = time.perf_counter() - start
    counts = _counters(result)
    summary = Summary(written=counts.get("photos_written", 0),
                      skipped=counts.get("photos_skipped", 0),
                      failed=counts.get("photos_failed", 0),
                      outputs=counts.get("outputs_written", 0),
                      model_loads=counts.get("model_loads", 0), seconds=seconds)
    log(f"wrote {summary.outputs} file(s) for {summary.written} photo(s) to {output_dir}; "
        f"skipped {summary.skipped} already done; {summary.failed} failed"
        + (f" (see {failures_path})" if summary.failed else "")
        + f"; model loaded {summary.model_loads} time(s); "
        f"{summary.photos_per_second:.2f} photos/s ({seconds:.1f} s)")
    return summary
