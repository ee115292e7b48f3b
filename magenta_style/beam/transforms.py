"""`StylizeImages`: photos in, pastiches written, failures out; resumable, exactly once per output.

    failures = photos | StylizeImages(model, conditioning, options, output_dir)

`photos` holds `(name, source)` or `(name, source, masks)` elements
(`sources`: `source` a path or encoded bytes; `masks` this photo's own
masks when the request has regions). Per photo:

1. skipped when every output already exists (a rerun after a crash or a
   preemption does only the missing work; outputs appear only whole, by
   rename, so an existing one is complete);
2. read and decoded (`Conditioning.load_photo`, as `stylize` does);
3. rendered by `RunInference` with `StylizeModelHandler`;
4. written (temp name, then rename).

A photo that fails at any step becomes a dead-letter record
`{"path": ..., "reason": ...}` in the returned PCollection and never
stops the pipeline. Counters (namespace `magenta_style`): photos_written,
outputs_written, photos_skipped, photos_failed, model_loads.
"""

import dataclasses
import os

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import RunInference

from magenta_style.beam import handler as handler_lib
from magenta_style.beam import sources
from magenta_style.errors import UserError

FAILED = "failed"


def _label(name, source):
    """How a dead-letter record names a photo: its path, or `record:NAME` for bytes."""
    return source if isinstance(source, str) else f"record:{name}"


class _PhotoDoFn(beam.DoFn):
    """Knows a photo's output paths (the request's suffixes under `output_dir`)."""

    def __init__(self, output_dir, suffixes, ext):
        self._output_dir = output_dir
        self._suffixes = tuple(suffixes)
        self._ext = ext

    def targets(self, name):
        return [sources.join(self._output_dir, f"{name}_{s}.{self._ext}")
                for s in self._suffixes]


class SkipDone(_PhotoDoFn):
    """Drops photos whose outputs all exist (unless `overwrite`)."""

    def __init__(self, output_dir, suffixes, ext, overwrite):
        super().__init__(output_dir, suffixes, ext)
        self._overwrite = overwrite
        self._skipped = Metrics.counter(handler_lib.NAMESPACE, "photos_skipped")

    def process(self, element):
        if not self._overwrite and all(sources.exists(t) for t in self.targets(element[0])):
            self._skipped.inc()
            return
        yield element


class ReadPhoto(beam.DoFn):
    """`(name, source[, masks])` -> `(name, label, photo, regions)`, or a dead-letter record."""

    def __init__(self, conditioning, max_size):
        self._conditioning = dataclasses.replace(conditioning, task=None)
        self._max_size = max_size
        self._failed = Metrics.counter(handler_lib.NAMESPACE, "photos_failed")

    def process(self, element):
        name, source = element[0], element[1]
        label = _label(name, source)
        conditioning = self._conditioning
        try:
            if len(element) > 2 and element[2] is not None:
                if conditioning.masks is None:
                    raise UserError("masks were given for a photo, but the request has no "
                                    "regions (resolve it with masks=...)")
                conditioning = dataclasses.replace(conditioning, masks=element[2]).check_masks()
            image = source if isinstance(source, str) and sources.is_local(source) \
                else sources.open_image(source, label, scaled=bool(self._max_size))
            photo, regions = conditioning.load_photo(image, self._max_size)
        except Exception as e:  # noqa: BLE001 -- an unreadable photo is a record, not a crash
            self._failed.inc()
            yield beam.pvalue.TaggedOutput(
                FAILED, {"path": label, "reason": handler_lib.failure_reason(e)})
            return
        yield name, label, photo, regions


class WriteOutputs(_PhotoDoFn):
    """Writes each rendered photo's missing outputs; a failed one becomes a record."""

    def __init__(self, output_dir, suffixes, ext, overwrite):
        super().__init__(output_dir, suffixes, ext)
        self._overwrite = overwrite
        self._written = Metrics.counter(handler_lib.NAMESPACE, "photos_written")
        self._outputs = Metrics.counter(handler_lib.NAMESPACE, "outputs_written")
        self._failed = Metrics.counter(handler_lib.NAMESPACE, "photos_failed")

    def process(self, result):
        name, label = result.example[0], result.example[1]
        ok, payload = result.inference
        try:
            if not ok:
                raise RuntimeError(payload)
            count = 0
            for target, image in zip(self.targets(name), payload):
                if self._overwrite or not sources.exists(target):
                    sources.save_image(image, target)
                    count += 1
        except Exception as e:  # noqa: BLE001 -- a failed write is a record, not a crash
            self._failed.inc()
            yield beam.pvalue.TaggedOutput(
                FAILED, {"path": label, "reason": handler_lib.failure_reason(e)})
            return
        self._written.inc()
        self._outputs.inc(count)
        yield name


class StylizeImages(beam.PTransform):
    """Stylizes a PCollection of photos into `output_dir` (see the module doc).

    Args:
        model: what `load_model` takes (a name or a path workers can read).
        conditioning: the request (`tasks.resolve`, or
            `batch_files.config_conditioning` of a `StylizeConfig`).
        options: a checked `RenderOptions`.
        output_dir: local folder or Beam filesystem URL.
        output_format: png, jpg or webp.
        overwrite: replace existing outputs instead of skipping their photos.
        num_styles, alpha: as `load_model`.
        max_batch_pixels, max_batch_size: RunInference batch limits.

    Returns (from `expand`):
        The dead-letter PCollection of `{"path", "reason"}` dicts.
    """

    def __init__(self, model, conditioning, options, output_dir, output_format="png",
                 overwrite=False, num_styles=None, alpha=None,
                 max_batch_pixels=handler_lib.DEFAULT_MAX_BATCH_PIXELS,
                 max_batch_size=handler_lib.DEFAULT_MAX_BATCH_SIZE):
        super().__init__()
        self._conditioning = dataclasses.replace(conditioning, task=None)
        self._options = options
        self._output_dir = os.fspath(output_dir)
        self._ext = output_format.lower().lstrip(".")
        self._overwrite = overwrite
        self._handler = handler_lib.StylizeModelHandler(
            model, conditioning, options, num_styles, alpha, max_batch_pixels, max_batch_size)

    def expand(self, photos):
        suffixes = self._conditioning.suffixes
        where = (self._output_dir, suffixes, self._ext, self._overwrite)
        loaded = (photos
                  | "SkipDone" >> beam.ParDo(SkipDone(*where))
                  # Spreads the photos over the workers, and keeps reading,
                  # rendering and writing of one photo in one fused stage.
                  | "Spread" >> beam.Reshuffle()
                  | "Read" >> beam.ParDo(ReadPhoto(self._conditioning, self._options.max_size))
                  .with_outputs(FAILED, main="photos"))
        written = (loaded.photos
                   | "Render" >> RunInference(self._handler)
                   | "Write" >> beam.ParDo(WriteOutputs(*where)).with_outputs(FAILED, main="names"))
        return (loaded[FAILED], written[FAILED]) | "Failures" >> beam.Flatten()
