"""Seconds per training step under KERAS_BACKEND=jax (not a test; run by hand).

The accelerator path (BUILD.md): on a borrowed GPU machine, from the
repository root with `.accel/` carried (tools/accel_prepare.py builds it):

    KERAS_BACKEND=jax python3 bench/train_jax.py --vgg_weights=.accel/vgg16_blocks1-4_fp16.h5 \\
        --styles='.accel/styles/*.jpg' --photos=.accel/photos --batch_size=16 \\
        --variants=fp32,mixed,fp32-cpu-forms --steps=40 --json=$OUT/train_jax.json

It builds exactly the step `loop.train` runs (`modes.build_parts`:
the transformer at --alpha, VGG-16 blocks 1-4, Magenta's losses, Adam, every
example its own style) for each variant and prints:

- the first step (tracing + XLA compilation + one step), in seconds;
- `sync`: seconds per step when every step's losses are read back before
  the next is dispatched (the training loop before it read back one step
  late);
- `chained`: seconds per step when steps are queued without reading the
  losses back (what the device alone sustains; the training loop, which
  reads step N's losses while step N + 1 runs, comes close to this when
  its input keeps up);
- the NumPy/Pillow input pipeline alone, in images per second (it must
  outrun the step).

With `--flops_only` it times nothing: it compiles each variant's step and
prints XLA's count of floating-point operations per step (`cost_analysis`,
a multiply-add counted as 2), and, given `--steps_per_s` (measured on a
device) and `--peak_tflops` (that device's dense peak for the variant's
arithmetic), the model FLOP utilisation, FLOPs per step x steps per second /
peak. The count runs on a CPU, on the graph a GPU runs (plain convolutions:
it sets `MAGENTA_STYLE_FAST_CONV=0`).

Variants: `fp32`; `mixed` (mixed_float16 compute, float32 norms and losses,
loss scaling); `bf16` (mixed_bfloat16 compute, float32 norms and losses, no
loss scaling); a `-cpu-forms` suffix forces the CPU-tuned convolution forms
of `magenta_style.model.fast_conv` (Winograd, blocked 9x9 layers), which
`MAGENTA_STYLE_FAST_CONV=auto` turns off on GPUs; an `@N` suffix sets that
variant's batch size (`bf16@32`; default `--batch_size`). Runs on a CPU too
(small settings) to check the script before spending device time.
"""

import argparse
import glob
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_photos(folder, n, size):
    import numpy as np

    from magenta_style.data import photo_files

    files = photo_files.list_image_files(folder)[:n]
    # Magenta's resize side for this size (the function's own default is 258).
    return np.stack([photo_files.load_and_preprocess(f, image_size=size, resize_side=size + 2)
                     for f in files])


def step_flops(engine, images, labels):
    """XLA's floating-point operation count of one compiled training step."""
    compiled = engine._step.lower(engine.state, engine.constants, images, labels).compile()
    cost = compiled.cost_analysis()
    if isinstance(cost, (list, tuple)):  # one dict per computation in older JAX
        cost = cost[0]
    return float(cost["flops"])


def bench_variant(variant, args, styles, photos):
    import jax
    import keras
    import numpy as np

    from magenta_style.model import fast_conv
    from magenta_style.training import config as train_config
    from magenta_style.training import engine as engine_lib
    from magenta_style.training import loop
    from magenta_style.training import modes

    kind, _, batch = variant.partition("@")
    os.environ[fast_conv.ENV_VAR] = "1" if kind.endswith("-cpu-forms") else (
        "0" if args.flops_only else "auto")
    keras.backend.clear_session()
    cfg = train_config.TrainConfig(
        train_dir=tempfile.mkdtemp(prefix="bench_train_jax_"),
        batch_size=int(batch) if batch else args.batch_size,
        image_size=args.image_size, vgg_weights=args.vgg_weights, alpha=args.alpha,
        mixed_precision=kind.startswith(("mixed", "bf16")),
        mixed_precision_dtype="bfloat16" if kind.startswith("bf16") else "float16",
        style_images="unused")
    engine = engine_lib.engine_for_backend(cfg, None)
    built = modes.build_parts(cfg, engine, styles)
    built.compile(engine)
    num_styles = len(styles.names)
    labels = [loop.labels_for_step(0, s, cfg.batch_size, num_styles)
              for s in range(args.steps + 1)]
    images = jax.device_put(photos[:cfg.batch_size])
    if args.flops_only:
        flops = step_flops(engine, images, labels[0])
        result = dict(variant=variant, batch_size=cfg.batch_size, image_size=cfg.image_size,
                      alpha=args.alpha, flops_per_step=flops)
        line = (f"{variant:16s} batch {cfg.batch_size} {cfg.image_size}px: "
                f"{flops / 1e12:.3f} TFLOP per step ({flops / cfg.batch_size / 1e9:.1f} "
                f"GFLOP per image)")
        if args.steps_per_s and args.peak_tflops:
            result["mfu"] = flops * args.steps_per_s / (args.peak_tflops * 1e12)
            line += (f"; at {args.steps_per_s} steps/s on a {args.peak_tflops} TFLOP/s "
                     f"peak: MFU {100 * result['mfu']:.1f}%")
        print(line, flush=True)
        return result

    def read(result):
        return float(result[0]), {k: np.asarray(v) for k, v in result[1].items()}

    t0 = time.perf_counter()
    loss, _ = read(engine.step(images, labels[0]))
    first = time.perf_counter() - t0

    t0 = time.perf_counter()
    for s in range(1, args.steps + 1):
        loss, _ = read(engine.step(images, labels[s]))
    loop = (time.perf_counter() - t0) / args.steps

    device_labels = [jax.device_put(lab) for lab in labels]
    state = engine.state
    jax.block_until_ready(state)
    t0 = time.perf_counter()
    for s in range(1, args.steps + 1):
        state, last_loss, _ = engine._step(state, engine.constants, images, device_labels[s])
    jax.block_until_ready(state)
    chained = (time.perf_counter() - t0) / args.steps
    engine.state = state
    result = dict(variant=variant, batch_size=cfg.batch_size, image_size=cfg.image_size,
                  alpha=args.alpha, styles=num_styles, first_step_s=first,
                  sync_s_per_step=loop, chained_s_per_step=chained,
                  sync_images_per_s=cfg.batch_size / loop,
                  chained_images_per_s=cfg.batch_size / chained,
                  loss=float(loss), loss_after_chained=float(last_loss))
    print(f"{variant:16s} batch {cfg.batch_size} {cfg.image_size}px: first step {first:6.1f} s; "
          f"sync {loop * 1000:7.1f} ms/step ({1 / loop:6.2f} steps/s, "
          f"{cfg.batch_size / loop:7.1f} images/s); chained {chained * 1000:7.1f} ms/step "
          f"({1 / chained:6.2f} steps/s); loss {float(loss):.4g}", flush=True)
    return result


def bench_pipeline(args):
    """The training feed alone (`engine_jax.Engine.batches`: photos decoded by a
    thread pool, uint8 batches copied to the device by a background thread)."""
    from bench import input_pipeline

    feed = input_pipeline.jax_engine(args.photos, args.batch_size, args.image_size,
                                     random_crop=True, random_flip=True).batches(0)
    dt, cpu = input_pipeline.measure(feed, args.pipeline_batches, warmup=1,
                                     ready=input_pipeline.on_device)
    feed.close()
    print(f"input feed (NumPy/Pillow threads, {os.cpu_count()} CPUs, to the device) batch "
          f"{args.batch_size}: {dt * 1000:.1f} ms/batch ({args.batch_size / dt:.0f} images/s; "
          f"consuming thread's CPU {cpu * 1000:.2f} ms/batch)", flush=True)
    return dict(pipeline_ms_per_batch=dt * 1000, pipeline_images_per_s=args.batch_size / dt,
                pipeline_consumer_cpu_ms=cpu * 1000)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vgg_weights", required=True)
    parser.add_argument("--styles", required=True, help="Glob of style images.")
    parser.add_argument("--photos", required=True, help="Folder of content photos.")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--image_size", type=int, default=256)
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--style_image_size", type=int, default=256)
    parser.add_argument("--variants", default="fp32,mixed,fp32-cpu-forms")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--pipeline_batches", type=int, default=20)
    parser.add_argument("--deadline_s", type=float, default=0,
                        help="Skip variants once this many seconds have passed (0: none).")
    parser.add_argument("--json", help="Also write the results here.")
    parser.add_argument("--flops_only", action="store_true",
                        help="Only count FLOPs per step (XLA cost analysis); no timing.")
    parser.add_argument("--steps_per_s", type=float, default=0,
                        help="With --flops_only: measured steps/s, for the MFU.")
    parser.add_argument("--peak_tflops", type=float, default=0,
                        help="With --flops_only: the device's dense peak TFLOP/s.")
    args = parser.parse_args()

    import jax
    import keras

    from magenta_style.data import style_grams

    if keras.backend.backend() != "jax":
        sys.exit("Run with KERAS_BACKEND=jax.")
    start = time.perf_counter()
    print(f"devices: {jax.devices()}", flush=True)
    results = {"devices": [str(d) for d in jax.devices()], "variants": []}
    if not args.flops_only:
        results.update(bench_pipeline(args))
    files = sorted(glob.glob(args.styles))
    t0 = time.perf_counter()
    styles = style_grams.compute_style_set(files, args.vgg_weights, args.style_image_size,
                                         progress=False)
    results["style_set_s"] = time.perf_counter() - t0
    print(f"style set: {len(files)} styles measured in {results['style_set_s']:.1f} s",
          flush=True)
    largest = max([args.batch_size] + [int(v.partition("@")[2] or 0)
                                       for v in args.variants.split(",")])
    photos = load_photos(args.photos, largest, args.image_size)
    for variant in args.variants.split(","):
        if args.deadline_s and time.perf_counter() - start > args.deadline_s:
            print(f"{variant}: skipped (deadline)", flush=True)
            continue
        results["variants"].append(bench_variant(variant, args, styles, photos))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
