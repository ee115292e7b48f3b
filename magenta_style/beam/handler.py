"""`StylizeModelHandler`: our model, loaded once per worker process, for Beam's `RunInference`.

`RunInference` keeps the loaded model in Beam's `Shared` store, so every
thread (DoFn instance) of a worker process uses one copy; the handler
loads whatever `load_model` takes (a shipped name, a model directory, a
Magenta checkpoint, `arbitrary-v1`) by its name or path, so the model
files reach remote workers as the package does (shipped models) or by a
path the workers can read.

Each photo is rendered by `render.render_photo`, the body of
`magenta_style.stylize` (tiling, `preserve_colors`, `strength`, mixtures,
masks), so a Beam output equals `stylize`'s. Batches are sized in pixels
(`max_batch_pixels`) to bound a worker's memory; the photos of a batch are
rendered one by one, because stacking equal-size photos into one network
call measured no faster on CPU (docs/scale.md).
"""

import dataclasses
import logging
import os
import threading
import time

from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import ModelHandler
from apache_beam.ml.inference.base import PredictionResult

from magenta_style.stylization import render
from magenta_style.stylization import tasks

NAMESPACE = "magenta_style"


def _not_resource_noise(record):
    # RunInference warns on every batch that it cannot measure memory when
    # its optional torch-based model manager is not installed (its `resource`
    # import sits in the same try block); memory is not what we ask of it.
    return not str(record.msg).startswith("Resource module is not available")


logging.getLogger().addFilter(_not_resource_noise)
DEFAULT_MAX_BATCH_PIXELS = 4_000_000
DEFAULT_MAX_BATCH_SIZE = 16


def photo_pixels(example):
    """The weight of one `(name, source label, photo, regions)` example: its pixels."""
    photo = example[2]
    return int(photo.shape[0] * photo.shape[1])


def failure_reason(error):
    """One line for the dead-letter list: the message, or the type when there is none."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


@dataclasses.dataclass
class LoadedModel:
    """What `load_model` returns: the resolved request with its model, in one process.

    Attributes:
        conditioning: the `Conditioning` with `task` (the loaded model).
        load_seconds: how long loading took.
        counted: whether the `model_loads` counter has seen this load yet
            (counters count inside a bundle, so the first batch reports it).
    """

    conditioning: object
    load_seconds: float
    counted: bool = False
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)


class StylizeModelHandler(ModelHandler):
    """Renders `(name, source label, photo, regions)` examples with one request's styles.

    Args:
        model: what `magenta_style.load_model` takes (None: the default,
            `varied`, or `arbitrary-v1` for style vectors).
        conditioning: the request's `Conditioning` (`tasks.resolve` in the
            driver); its rows travel with the handler, its model does not.
        options: a checked `RenderOptions`.
        num_styles, alpha: as `load_model`.
        max_batch_pixels, max_batch_size: limits of one RunInference batch.

    Each prediction's `inference` is `(True, [H, W, 3] uint8 outputs)` or
    `(False, one-line reason)`: one bad photo never fails its batch.
    """

    def __init__(self, model, conditioning, options, num_styles=None, alpha=None,
                 max_batch_pixels=DEFAULT_MAX_BATCH_PIXELS,
                 max_batch_size=DEFAULT_MAX_BATCH_SIZE):
        super().__init__(max_batch_size=max_batch_size, max_batch_weight=max_batch_pixels,
                         element_size_fn=photo_pixels)
        self._model = os.fspath(model) if isinstance(model, os.PathLike) else model
        self._conditioning = dataclasses.replace(conditioning, task=None)
        self._options = options
        self._num_styles = num_styles
        self._alpha = alpha

    def load_model(self):
        start = time.perf_counter()
        task = tasks.as_task(self._model, self._num_styles, self._alpha,
                             paintings=self._conditioning.vectors)
        return LoadedModel(dataclasses.replace(self._conditioning, task=task),
                           time.perf_counter() - start)

    def run_inference(self, batch, model, inference_args=None):
        with model.lock:
            if not model.counted:
                model.counted = True
                Metrics.counter(NAMESPACE, "model_loads").inc()
                Metrics.distribution(NAMESPACE, "model_load_ms").update(
                    int(1000 * model.load_seconds))
        results = []
        for example in batch:
            _, _, photo, regions = example
            try:
                outs = render.render_photo(model.conditioning, photo, self._options, regions)
                results.append(PredictionResult(example, (True, outs)))
            except Exception as e:  # noqa: BLE001 -- one photo must not fail the others
                results.append(PredictionResult(example, (False, failure_reason(e))))
        return results

    def get_num_bytes(self, batch):
        # The default pickles the whole batch just to measure it.
        return sum(example[2].nbytes for example in batch)

    def get_metrics_namespace(self):
        return NAMESPACE
