"""Benchmark of `magenta_style.optimize` (not a test; run by hand).

    .venv/bin/python bench/optimize.py --out_dir=/tmp/bench_optimize
    .venv/bin/python bench/optimize.py --out_dir=/tmp/b --sizes=256 --budget=300 --nojit_compare

Time per iteration; for time to a good result see bench/optimize_quality.py.

Prints seconds per L-BFGS iteration (median wall time, and CPU seconds / cores,
which other users' load hardly changes; the variants' steps alternate so they
share the same machine load) at each size for two layer sets, with XLA,
without (a plain tf.function graph) and VGG-19, then the losses reached after
a fixed budget of iterations at 256 px; writes those images as PNGs and
`results.json` into --out_dir.

Layer sets:
- "tutorial": the PyTorch neural-style tutorial's, the reference the issue
  quotes (0.42 s/iter at 256 px, 2.0 s at 512, 2-core CPU; not reproduced
  here: bench/compare_with_pytorch.sh re-times it). Its `conv_4` and
  `conv_1..conv_5` count convolutions, so content is conv2_2 and style
  conv1_1, conv1_2, conv2_1, conv2_2, conv3_1; the network stops at conv3_1,
  where VGG-16 and VGG-19 are the same layers. Init from the photo, no TV.
  The tutorial's weights (content 1, style 1e6) are for torchvision-normalised
  inputs (features ~60x smaller than with Caffe-scale inputs), so we keep
  neural-style's 5 and 100.
- "neural_style": jcjohnson's defaults (content relu4_2, style relu1_1 ..
  relu5_1), about 3x the work.

VGG-16 uses the real ImageNet weights (the only ones available offline);
VGG-19 uses random weights, which cost the same per iteration (the losses
of those runs mean nothing).
"""

import json
import os
import statistics
import sys
import time

from absl import app
from absl import flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # this checkout's magenta_style, not an installed one

from magenta_style.optimization.gatys import _converged  # noqa: E402
from magenta_style.optimization.gatys import build_step  # noqa: E402
from magenta_style.optimization.gatys import optimize  # noqa: E402
from magenta_style.storage import image_io  # noqa: E402

SHARED = os.path.join(REPO, "..", "shared")
flags.DEFINE_string("out_dir", None, "Where to write PNGs and results.json.")
flags.DEFINE_list("sizes", ["256", "512"], "Output sizes (square).")
flags.DEFINE_list("layer_sets", ["tutorial", "neural_style"], "Layer sets to time.")
flags.DEFINE_integer("timing_iterations", 8, "Timed iterations per variant.")
flags.DEFINE_integer("warmup_iterations", 0,
                     "Untimed iterations before timing; 100 fills L-BFGS's default history, "
                     "whose update then reads 200 image-sized vectors per iteration.")
flags.DEFINE_integer("budget", 100, "Iterations of the loss-after-budget runs (256 px); 0 skips.")
flags.DEFINE_bool("jit_compare", True, "Also time without XLA.")
flags.DEFINE_bool("vgg19", True, "Also time VGG-19 (random weights).")
flags.DEFINE_string("vgg16_weights", os.path.join(
    SHARED, "weights", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"), "VGG-16 h5.")
flags.DEFINE_string("content", os.path.join(SHARED, "images", "content", "golden_gate_sq.jpg"),
                    "Photo (square, so sizes are exact).")
flags.DEFINE_string("style", os.path.join(SHARED, "images", "styles", "starry_night_crop.jpg"),
                    "Painting.")
FLAGS = flags.FLAGS

# On the neural_style preset (its weights and units), as when these were measured.
LAYER_SETS = {
    "tutorial": dict(preset="neural_style", content_layers="relu2_2",
                     style_layers="relu1_1,relu1_2,relu2_1,relu2_2,relu3_1",
                     tv_weight=0.0, init="content"),
    "neural_style": dict(preset="neural_style", init="content"),
}


def interleaved_timing(variants, rounds):
    """Median seconds per iteration of each variant, steps alternated.

    The machine is shared, so load drifts; alternating one step of each
    variant puts them under the same load and makes the ratios meaningful.
    """
    steps = {}
    for name, options in variants.items():
        t0 = time.perf_counter()
        steps[name] = build_step(FLAGS.content, FLAGS.style, progress=False, **options)
        float(steps[name]()["total_loss"])  # trace + compile
        print(f"  {name}: setup + first step {time.perf_counter() - t0:.1f} s", flush=True)
        for _ in range(FLAGS.warmup_iterations):
            steps[name]()
        if FLAGS.warmup_iterations:
            float(steps[name]()["total_loss"])
            print(f"  {name}: {FLAGS.warmup_iterations} warm-up iterations done", flush=True)
    wall = {name: [] for name in variants}
    cpu = {name: [] for name in variants}
    for _ in range(rounds):
        for name, step in steps.items():
            t0, c0 = time.perf_counter(), time.process_time()
            float(step()["total_loss"])  # forces the step to finish
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    # CPU seconds (all threads) / cores: what the wall time would be on an
    # idle machine with perfect parallelism; robust to other users' load.
    cores = os.cpu_count()
    return {name: {"wall_s": round(statistics.median(wall[name]), 3),
                   "cpu_s": round(statistics.median(cpu[name]), 3),
                   "cpu_s_per_core": round(statistics.median(cpu[name]) / cores, 3)}
            for name in variants}


def main(argv):
    del argv
    if not FLAGS.out_dir:
        raise app.UsageError("--out_dir is required.")
    os.makedirs(FLAGS.out_dir, exist_ok=True)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    rows = []
    vgg16 = dict(arch="vgg16", weights=FLAGS.vgg16_weights)
    for size in [int(s) for s in FLAGS.sizes if s]:
        for layers in FLAGS.layer_sets:
            opts = dict(LAYER_SETS[layers], image_size=size)
            variants = {"vgg16_xla": dict(vgg16, **opts)}
            if FLAGS.jit_compare:
                variants["vgg16_graph"] = dict(vgg16, jit_compile=False, **opts)
            if FLAGS.vgg19 and layers != "tutorial":  # same layers as vgg16 there
                variants["vgg19random_xla"] = dict(arch="vgg19", weights=None, **opts)
            print(f"{layers} {size}px, load {os.getloadavg()[0]:.1f}", flush=True)
            medians = interleaved_timing(variants, FLAGS.timing_iterations)
            row = {"layers": layers, "size": size, "seconds_per_iteration": medians,
                   "load_average": os.getloadavg()[0]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    # Losses reached after a fixed budget (through optimize(), as users run it).
    for layers in FLAGS.layer_sets if FLAGS.budget else []:
        t0 = time.perf_counter()
        result = optimize(FLAGS.content, FLAGS.style, image_size=256, iterations=FLAGS.budget,
                          convergence_tolerance=0.0, progress=False, **vgg16,
                          **LAYER_SETS[layers])
        name = f"budget_{layers}_vgg16_256_{FLAGS.budget}it"
        image_io.save_image(result.image, os.path.join(FLAGS.out_dir, name + ".png"))
        best, stop_at = [], None
        for h in result.history:  # where the default convergence stop would end it
            best.append(min([h["total_loss"]] + best[-1:]))
            if stop_at is None and _converged(best, 50, 1e-3):
                stop_at = h["iteration"]
        row = {"name": name, "seconds": time.perf_counter() - t0,
               "final": {k: result.history[-1][k] for k in
                         ("total_loss", "total_content_loss", "total_style_loss")},
               "curve": {h["iteration"]: h["total_loss"] for h in result.history
                         if h["iteration"] in (0, 10, 25, 50, 100, 200, 300, 500, 1000)},
               "default_convergence_stop_at": stop_at}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"load average at end: {os.getloadavg()}", flush=True)
    with open(os.path.join(FLAGS.out_dir, "results.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    app.run(main)
