"""Stylize a photo collection on Apache Beam, one laptop to a cluster (the `beam` extra).

- `StylizeImages`: the PTransform (`RunInference` with `StylizeModelHandler`,
  skip-if-done, atomic writes, a dead-letter PCollection).
- `stylize_collection`: what `bin/stylize --beam_pipeline_options=...` runs.
- `options.parse`: tfds-style `--beam_pipeline_options` text -> options and runner.

Importing this package imports Apache Beam; `import magenta_style` does not.
See docs/scale.md for running the same pipeline on Flink, Spark or Dataflow.
"""

from magenta_style.beam.handler import StylizeModelHandler
from magenta_style.beam.pipeline import Summary
from magenta_style.beam.pipeline import stylize_collection
from magenta_style.beam.transforms import StylizeImages

__all__ = ["StylizeImages", "StylizeModelHandler", "Summary", "stylize_collection"]
