"""beam: a photo collection through plain bin/stylize and through Beam with 1 and 2 workers.

The same photos (../shared/images/train, scaled so the longer side is
`--sizes`, 256 by default; 200 of them) go through each, in one run, so
the numbers compare on one loaded machine: photos/s end to end (process
start, TensorFlow import and model load included, as a user feels it) and
the ratio to plain. Two workers run both ways the local runner offers:
worker processes (each imports TensorFlow and loads the model) and worker
threads of one process (one model shared). Beam's `model_loads` counter
shows the loads.
Full runs are `bin/stylize` subprocesses; `--quick` (CI) runs plain
`stylize_files` and the in-memory Beam runner in this process on a few
tiny photos, and skips when Apache Beam is not installed.

    python -m bench beam                      # 200 photos, 256 px
    python -m bench beam --sizes=128 --models=varied-small
"""

import os
import re
import subprocess
import sys
import tempfile
import time

from bench import inputs

MODEL = "android-26"
PHOTOS, QUICK_PHOTOS = 200, 6
TWO = "runner=DirectRunner,direct_num_workers=2,direct_running_mode="
RUNS = (("plain bin/stylize", None), ("beam 1 worker", "runner=DirectRunner"),
        ("beam 2 worker processes", TWO + "multi_processing"),
        ("beam 2 worker threads", TWO + "multi_threading"))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _photos(folder, count, size):
    """Writes `count` photos, longer side `size`, as PNG into `folder`."""
    import numpy as np

    from magenta_style.storage import image_io

    train = inputs.train_photos()
    names = sorted(os.listdir(train))[:count] if train else []
    for i in range(count):
        if i < len(names):
            photo = image_io.load_image(os.path.join(train, names[i]), max_size=size)
        else:  # no ../shared: smooth synthetic photos
            photo = inputs.photo(size) * (0.6 + 0.4 * np.float32(i % 7) / 7)
        image_io.save_image(photo, os.path.join(folder, f"photo{i:04d}.png"))


def _stylize_command(photos, out, model, beam_options):
    args = [sys.executable, os.path.join(REPO, "bin", "stylize"), f"--input_image={photos}",
            f"--output_dir={out}", f"--checkpoint={model}"]
    if beam_options is not None:
        args.append(f"--beam_pipeline_options={beam_options}")
    start = time.perf_counter()
    run = subprocess.run(args, capture_output=True, text=True, timeout=3600,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise RuntimeError(f"bin/stylize failed ({run.returncode}): {run.stderr[-2000:]}")
    loads = re.search(r"model loaded (\d+) time", run.stderr)
    pipeline = re.search(r"photos/s \(([\d.]+) s\)", run.stderr)
    return seconds, int(loads.group(1)) if loads else 1, (
        float(pipeline.group(1)) if pipeline else None)


def _in_process(photos, out, model, beam_options):
    from magenta_style.stylization.api import StylizeConfig
    from magenta_style.stylization.batch_files import stylize_files

    config = StylizeConfig(checkpoint=model, input_image=photos, output_dir=out)
    start = time.perf_counter()
    if beam_options is None:
        stylize_files(config, progress=False, log=lambda line: None)
        return time.perf_counter() - start, 1, None
    from magenta_style.beam import stylize_collection

    summary = stylize_collection(config, beam_options, log=lambda line: None)
    return time.perf_counter() - start, summary.model_loads, summary.seconds


def run(bench, opts):
    try:
        import apache_beam  # noqa: F401
    except ImportError:
        bench.skip("Apache Beam is not installed (pip install 'magenta_style[beam]')")
        return
    model = (opts.models or (MODEL,))[0]
    size = (opts.sizes or ((48,) if bench.quick else (256,)))[0]
    count = QUICK_PHOTOS if bench.quick else PHOTOS
    runs = RUNS[:2] if bench.quick else RUNS
    with tempfile.TemporaryDirectory() as tmp:
        photos = os.path.join(tmp, "photos")
        os.makedirs(photos)
        _photos(photos, count, size)
        plain = None
        for i, (name, beam_options) in enumerate(runs):
            out = os.path.join(tmp, f"out{i}")
            measure = _in_process if bench.quick else _stylize_command
            # pipeline_s: the Beam pipeline alone (worker start-up included),
            # without the launching process's own start and model load.
            seconds, loads, pipeline_s = measure(photos, out, model, beam_options)
            made = len([n for n in os.listdir(out) if n.endswith(".png")])
            if made != count:
                raise RuntimeError(f"{name} wrote {made} of {count} outputs")
            rate = count / seconds
            plain = plain or rate
            bench.record(f"{name} {count}x{size}px photos/s", rate, "photos/s", model=model,
                         size=size, photos=count, seconds=seconds, pipeline_s=pipeline_s,
                         model_loads=loads, beam_options=beam_options)
            bench.record(f"{name} vs plain", rate / plain, "x", model_loads=loads)
            if beam_options is not None:
                bench.record(f"{name} model loads", loads, "loads")
                bench.record(f"{name} pipeline alone", pipeline_s, "s")
