"""precision: varied at float32 and bfloat16 beside onnxruntime float32 and int8, with fidelity.

One run, so the ratios compare (the machine is shared; absolute times are
not). Per size (full: 512 and 1024 px): the runner's forward at float32
and bfloat16 (`stylization.precision`), and onnxruntime on the same network
and weights (`onnx_export.onnx_model`) in float32 and statically quantised
(`onnxruntime.quantization.quantize_static`: QDQ, per-channel int8
weights, int8 activations calibrated on ../shared/images/train photos over
all the model's styles; only the convolutions, instance norm stays float).
Then fidelity against float32 on ../shared/images/content photos x every
style: mean and 99.9th percentile of the absolute difference in levels of
255, VGG-16 content and style losses relative to float32's (with the VGG
weights), `auto`'s choice on this machine, and a contact sheet of the worst
style of bfloat16 (photo, float32, then each configuration) beside the
JSON (or in the current folder).

    python -m bench precision --json=precision.json
"""

import os
import tempfile
import time
from functools import partial

import numpy as np

from bench import inputs

FULL_SIZES = (512, 1024)
QUICK_SIZES = (64,)
# Fidelity: photos (of the 20) at this size, every style. Fewer than all 20
# photos: 20 x 36 at four configurations took hours on the shared 2-core machine.
FULL_PHOTOS, QUICK_PHOTOS = 3, 1
FULL_FIDELITY_SIZE, QUICK_FIDELITY_SIZE = 256, 64
QUICK_STYLES = 2
CALIBRATION_PHOTOS, CALIBRATION_SIZE = 12, 256
STYLE_LAYERS = ("vgg_16/conv1", "vgg_16/conv2", "vgg_16/conv3", "vgg_16/conv4")
CONTENT_LAYER = "vgg_16/conv3"


def _numpy(call, *args):
    return np.asarray(call(*args))


def _train_photos(count, size):
    folder = inputs.train_photos()
    if folder is None:  # a bare checkout: synthetic stand-ins
        return [inputs.square_photo(size, name="absent") for _ in range(count)]
    names = sorted(os.listdir(folder))
    step = max(1, len(names) // count)
    return [inputs.square_photo(size, name=os.path.join("..", "train", n))
            for n in names[::step][:count]]


def _ort_sessions(model, workdir, quick):
    """onnxruntime sessions of the model: (float32, static int8)."""
    import onnxruntime as ort
    from onnxruntime import quantization as q

    from magenta_style import onnx_export

    f32_path = os.path.join(workdir, "f32.onnx")
    int8_path = os.path.join(workdir, "int8.onnx")
    onnx_export.export_onnx(model, f32_path)
    n = len(model.style_names)
    count = 2 if quick else max(CALIBRATION_PHOTOS, n)
    size = QUICK_FIDELITY_SIZE if quick else CALIBRATION_SIZE
    photos = _train_photos(min(count, CALIBRATION_PHOTOS), size)
    feeds = []
    for i in range(count):  # every style at least once (when count >= n)
        weights = np.zeros((1, n), np.float32)
        weights[0, i % n] = 1.0
        feeds.append({onnx_export.INPUT_IMAGE: photos[i % len(photos)][None],
                      onnx_export.INPUT_STYLE_WEIGHTS: weights})

    class Reader(q.CalibrationDataReader):
        def __init__(self):
            self.items = iter(feeds)

        def get_next(self):
            return next(self.items, None)

    q.quantize_static(f32_path, int8_path, Reader(), quant_format=q.QuantFormat.QDQ,
                      per_channel=True, activation_type=q.QuantType.QInt8,
                      weight_type=q.QuantType.QInt8, op_types_to_quantize=["Conv"])
    return tuple(ort.InferenceSession(p, providers=["CPUExecutionProvider"])
                 for p in (f32_path, int8_path))


def _ort_call(session, images, weights):
    from magenta_style import onnx_export

    return session.run(None, {onnx_export.INPUT_IMAGE: np.asarray(images, np.float32),
                              onnx_export.INPUT_STYLE_WEIGHTS: np.asarray(weights)})[0]


def _losses(vgg, photos, outputs, style_grams):
    """Mean content and style loss of `outputs[p][s]` `[P, H, W, 3]` (photo p, style s)."""
    from magenta_style.losses import loss_terms

    content, style = [], []
    target = np.asarray(vgg(photos)[CONTENT_LAYER])
    for s, grams in enumerate(style_grams):
        features = vgg(outputs[:, s])
        content.append(float(np.mean(np.square(
            np.asarray(features[CONTENT_LAYER]) - target))))
        total = 0.0
        for layer in STYLE_LAYERS:
            gram = np.asarray(loss_terms.gram_matrix(features[layer]))
            total += float(np.mean(np.square(gram - grams[layer])))
        style.append(total)
    return np.array(content), np.array(style)


def _fidelity(bench, model, calls, quick, sheet_path):
    from magenta_style.stylization import grid
    from magenta_style.stylization import precision

    n = len(model.style_names)
    size = QUICK_FIDELITY_SIZE if quick else FULL_FIDELITY_SIZE
    names = sorted(f for f in os.listdir(inputs.shared("images", "content"))) \
        if os.path.isdir(inputs.shared("images", "content")) else [inputs.PHOTO]
    photos = np.stack([inputs.square_photo(size, name)
                       for name in names[:QUICK_PHOTOS if quick else FULL_PHOTOS]])
    styles = list(range(QUICK_STYLES if quick else n))
    rows = np.eye(n, dtype=np.float32)[styles]
    outputs = {}  # precision -> [P, S, H, W, 3]
    for label, call in calls.items():
        outputs[label] = np.stack([np.asarray(call(np.repeat(p[None], len(rows), 0), rows))
                                   for p in photos])
    reference = outputs["float32"]
    worst = {}
    for label, out in outputs.items():
        if label == "float32":
            continue
        per_style = [precision.fidelity(reference[:, s], out[:, s]) for s in range(len(styles))]
        mean_abs = float(np.mean([f["mean_abs"] for f in per_style]))
        p999 = precision.fidelity(reference, out)["p999"]
        worst[label] = int(np.argmax([f["mean_abs"] for f in per_style]))
        w = per_style[worst[label]]
        bench.record(f"{label} vs float32 mean abs", mean_abs, "levels", size=size,
                     photos=len(photos), styles=len(styles))
        bench.record(f"{label} vs float32 p99.9", p999, "levels", size=size)
        bench.record(f"{label} worst style mean abs", w["mean_abs"], "levels",
                     style=model.style_names[styles[worst[label]]], p999=w["p999"])
        bench.record(f"{label} passes limits", float(
            mean_abs <= precision.MEAN_LIMIT and p999 <= precision.P999_LIMIT
            and w["mean_abs"] <= precision.MEAN_LIMIT), "bool")
    vgg_file = inputs.vgg_weights()
    folder = inputs.shared("images", "styles")
    by_name = {os.path.splitext(f)[0]: os.path.join(folder, f)
               for f in (os.listdir(folder) if os.path.isdir(folder) else ())}
    if not quick and vgg_file and all(model.style_names[s] in by_name for s in styles):
        from magenta_style.losses import loss_terms
        from magenta_style.losses import vgg as vgg_lib
        from magenta_style.storage import image_io

        vgg = vgg_lib.build_loss_network(weights=vgg_file)
        style_grams = []
        for s in styles:
            painting = grid.square_crop(image_io.load_image(by_name[model.style_names[s]]),
                                        size)
            features = vgg(painting[None])
            style_grams.append({layer: np.asarray(loss_terms.gram_matrix(features[layer]))
                                for layer in STYLE_LAYERS})
        content_ref, style_ref = _losses(vgg, photos, reference, style_grams)
        for label, out in outputs.items():
            if label == "float32":
                continue
            content, style = _losses(vgg, photos, out, style_grams)
            for kind, mine, ref in (("content", content, content_ref),
                                    ("style", style, style_ref)):
                rel = np.abs(mine - ref) / ref
                bench.record(f"{label} VGG {kind} loss vs float32", 100 * float(
                    abs(mine.mean() - ref.mean()) / ref.mean()), "%",
                    worst_style_pct=100 * float(rel.max()))
    else:
        bench.skip("VGG losses: quick run, no VGG-16 weights, or paintings not in ../shared")
    if sheet_path and worst:
        # The worst style of the precision `stylize` offers, else of any.
        label = "bfloat16" if "bfloat16" in worst else max(worst, key=lambda k: precision.fidelity(
            reference[:, worst[k]], outputs[k][:, worst[k]])["mean_abs"])
        s = worst[label]
        cells = [[photos[p]] + [outputs[k][p, s] for k in outputs] for p in range(len(photos))]
        sheet = grid.assemble(cells, size, gap=4, labels=["photo", *outputs])
        from magenta_style.storage import image_io

        image_io.save_image(image_io.to_uint8(sheet), sheet_path)
        bench.log(f"  contact sheet of {model.style_names[styles[s]]} ({label}'s worst "
                  f"style): {sheet_path}")


def run(bench, opts):
    import magenta_style
    from magenta_style.stylization import precision
    from magenta_style.stylization.runner import runner

    name = (opts.models or ("varied",))[0]
    model = magenta_style.load_model(name)
    n = len(model.style_names)
    model_name, flags = precision.cpu_features()
    native = sorted(f for f in flags if f in precision.NATIVE_FLAGS["bfloat16"])
    bench.log(f"  CPU {model_name}; native bfloat16: {', '.join(native) or 'none'}")
    calls = {p: runner(model, False, p) for p in precision.CANDIDATES}
    with tempfile.TemporaryDirectory() as workdir:
        try:
            ort_f32, ort_int8 = _ort_sessions(model, workdir, bench.quick)
            calls["ort float32"] = partial(_ort_call, ort_f32)
            calls["ort int8"] = partial(_ort_call, ort_int8)
        except ImportError as e:
            bench.skip(f"onnxruntime / onnx not installed ({e})")
        weights = np.zeros((1, n), np.float32)
        weights[0, 0] = 1.0
        for size in opts.sizes or (QUICK_SIZES if bench.quick else FULL_SIZES):
            image = inputs.square_photo(size)[None]
            fns = {label: partial(_numpy, call, image, weights) for label, call in calls.items()}
            for label, fn in fns.items():
                bench.time(f"{name} {size}px {label}", fn, model=name, size=size,
                           precision=label)
            # Ratios from rounds that alternate the configurations: load from
            # other processes then falls on all of them alike.
            rounds = {label: [] for label in fns}
            for _ in range(bench.repeats):
                for label, fn in fns.items():
                    start = time.perf_counter()
                    fn()
                    rounds[label].append(time.perf_counter() - start)
            for label in fns:
                if label != "float32":
                    ratios = np.array(rounds["float32"]) / np.array(rounds[label])
                    bench.record(f"{name} {size}px {label} speed vs float32", float(
                        np.median(ratios)), "x (median of alternating rounds)", size=size,
                        ratios=ratios.tolist())
        t = time.perf_counter()
        measured = precision.measure(
            lambda p: calls[p],
            inputs.square_photo(QUICK_FIDELITY_SIZE if bench.quick else precision.MEASURE_SIZE),
            np.eye(n, dtype=np.float32)[:precision.MEASURE_ROWS])
        chosen = precision.choose(measured)
        bench.record(f"auto chooses {chosen}", time.perf_counter() - t, "s to measure",
                     measured=measured)
        if opts.json:
            sheet = os.path.splitext(opts.json)[0] + "_worst_style.png"
        else:
            sheet = None if bench.quick else "precision_worst_style.png"
        _fidelity(bench, model, calls, bench.quick, sheet)
