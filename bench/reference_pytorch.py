"""The issues' PyTorch references, timed on this machine (not a test).

    python -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch
    /tmp/torchenv/bin/python bench/reference_pytorch.py --parts=stylize,train,lbfgs

Issues 3, 4 and 5 quote PyTorch timings "on this 2-core machine". This script
re-measures them where our own benchmarks run, so both sides see the same
CPU and the same load (compare with runs made right before or after):

- stylize (issue 3, bench/stylize.py): the `TransformerNet` of PyTorch's
  examples/fast_neural_style (reflection padding, instance norm, 5 residual
  blocks, nearest-upsampling convolutions; alpha = 1, i.e. 32/64/128
  channels), one image at 512x512 and 1024x1024 under `torch.inference_mode`.
- train (issue 5, bench/train.py): that example's training step at batch 4,
  256 px: the transformer, VGG-16 features to relu4_3 on the pastiches and on
  the photos, content MSE at relu2_2, Gram MSE at relu1_2..relu4_3, Adam.
- lbfgs (issue 4, bench/optimize.py): the PyTorch neural-style tutorial:
  VGG-19 cut after conv_5 (conv3_1; content at conv_4, style at conv_1..
  conv_5), the image itself optimised by `torch.optim.LBFGS`; seconds per
  closure evaluation (one forward + backward, what our L-BFGS iteration
  costs) at 256 and 512 px.

The architectures are written here from the published descriptions; weights
are random (torchvision's downloads need a network and speed does not depend
on the values). torch is not a dependency of magenta_style; nothing else
imports this file.
"""

import argparse
import os
import statistics
import time

import torch
from torch import nn


def conv(cin, cout, k, stride=1):
    """Reflection padding k // 2, then a convolution (the example's ConvLayer)."""
    return nn.Sequential(nn.ReflectionPad2d(k // 2), nn.Conv2d(cin, cout, k, stride))


class Residual(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(
            conv(channels, channels, 3), nn.InstanceNorm2d(channels, affine=True), nn.ReLU(),
            conv(channels, channels, 3), nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x):
        return x + self.body(x)


class Upsample(nn.Module):
    """Nearest x2, then a reflection-padded convolution (UpsampleConvLayer)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = conv(cin, cout, 3)

    def forward(self, x):
        return self.conv(nn.functional.interpolate(x, scale_factor=2, mode="nearest"))


# name: (contract widths, residual blocks, expand widths). "alpha1" is the
# example's TransformerNet (and Magenta's alpha = 1); "android-26" the
# architecture of our shipped default model (checkpoints/android-26).
ARCHITECTURES = {"alpha1": ((32, 64, 128), 5, (64, 32)),
                 "android-26": ((32, 32, 32), 6, (8, 4))}


def transformer_net(name="alpha1"):
    (c1, c2, c3), blocks, (e1, e2) = ARCHITECTURES[name]

    def block(layer, channels):
        return [layer, nn.InstanceNorm2d(channels, affine=True), nn.ReLU()]

    return nn.Sequential(
        *block(conv(3, c1, 9), c1), *block(conv(c1, c2, 3, 2), c2),
        *block(conv(c2, c3, 3, 2), c3), *[Residual(c3) for _ in range(blocks)],
        *block(Upsample(c3, e1), e1), *block(Upsample(e1, e2), e2), conv(e2, 3, 9))


def vgg_features(config):
    """VGG feature layers: ints are 3x3 conv widths (each + ReLU), "M" max pools."""
    layers, cin = [], 3
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(cin, item, 3, padding=1), nn.ReLU()]
            cin = item
    return nn.Sequential(*layers)


def gram(f):
    b, c, h, w = f.shape
    f = f.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def _format_name(fmt):
    return "channels_last" if fmt == torch.channels_last else "NCHW"


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_stylize(repeats, formats, compile_too):
    for name in ARCHITECTURES:
        for size in (512, 1024):
            for fmt in formats:
                net = transformer_net(name).eval().to(memory_format=fmt)
                x = torch.rand(1, 3, size, size).to(memory_format=fmt)
                variants = [("eager", net)]
                if compile_too:
                    variants.append(("torch.compile", torch.compile(net)))
                for how, fn in variants:
                    def run(fn=fn, x=x):
                        with torch.inference_mode():
                            fn(x)

                    print(f"stylize  TransformerNet {name:10s} {size}x{size} "
                          f"{_format_name(fmt)}, {how}: {timed(run, repeats) * 1000:.0f} ms/image",
                          flush=True)


def bench_train(repeats, fmt, compile_too, batch=4, size=256):
    """The example's step; also with the photos' VGG pass cut at relu3_3.

    The example runs VGG-16 to relu4_3 on the photos although its content
    loss reads relu2_2; Magenta (and magenta_style) stop the photos' pass at
    the content layer (conv3_3), so the second line does the same arithmetic
    as bench/train.py.
    """
    net = transformer_net().to(memory_format=fmt)
    # VGG-16 to relu4_3; the outputs of relu1_2, relu2_2, relu3_3, relu4_3.
    vgg = vgg_features([64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512])
    vgg = vgg.to(memory_format=fmt)
    for p in vgg.parameters():
        p.requires_grad_(False)
    taps = [3, 8, 15, 22]
    blocks = [vgg[a + 1 if a else 0:b + 1] for a, b in zip([0] + taps, taps)]
    variants = [("eager", net, blocks)]
    if compile_too:
        variants.append(("torch.compile", torch.compile(net), [torch.compile(b) for b in blocks]))

    def features(x, parts, count=4):
        out = []
        for block in parts[:count]:
            x = block(x)
            out.append(x)
        return out

    with torch.no_grad():
        style = torch.rand(1, 3, size, size).to(memory_format=fmt)
        style_grams = [gram(f) for f in features(style, blocks)]
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    photos = (torch.rand(batch, 3, size, size) * 255).to(memory_format=fmt)

    for how, model, parts in variants:
        for photo_blocks, label in ((4, "photos to relu4_3 (the example)"),
                                    (3, "photos to relu3_3 (Magenta's work)")):
            def step(model=model, parts=parts, photo_blocks=photo_blocks):
                optimizer.zero_grad()
                fy = features(model(photos), parts)
                fx = features(photos, parts, photo_blocks)
                content = nn.functional.mse_loss(fy[1], fx[1])
                style = sum(nn.functional.mse_loss(gram(a), g.expand(batch, -1, -1))
                            for a, g in zip(fy, style_grams))
                (content + 1e5 * style).backward()
                optimizer.step()

            seconds = timed(step, repeats)
            print(f"train    fast_neural_style step, batch {batch}, {size} px, "
                  f"{_format_name(fmt)}, {how}, {label}: {seconds:.2f} s/step "
                  f"({batch / seconds:.2f} images/s)", flush=True)


def bench_lbfgs(repeats, fmt, warmup_steps):
    vgg19_to_conv3_1 = vgg_features([64, 64, "M", 128, 128, "M", 256]).to(memory_format=fmt)
    for p in vgg19_to_conv3_1.parameters():
        p.requires_grad_(False)
    for size in (256, 512):
        seconds, calls = _lbfgs_seconds(vgg19_to_conv3_1, size, fmt, repeats, warmup_steps)
        print(f"lbfgs    neural-style tutorial, {size}x{size}, {_format_name(fmt)}: "
              f"{seconds:.3f} s per evaluation ({calls} evaluations)", flush=True)


def _lbfgs_seconds(vgg, size, fmt, repeats, warmup_steps):
    """Seconds per closure evaluation of `torch.optim.LBFGS`, and their count."""
    convs = [i for i, layer in enumerate(vgg) if isinstance(layer, nn.Conv2d)]

    def features(x):
        out = {}
        x = x.to(memory_format=fmt)  # the optimised image itself stays NCHW for LBFGS
        for i, layer in enumerate(vgg):
            x = layer(x)
            if i in convs:
                out[convs.index(i) + 1] = x  # the tutorial's conv_1 .. conv_5
        return out

    photo = torch.rand(1, 3, size, size)
    style = torch.rand(1, 3, size, size)
    with torch.no_grad():
        target_content = features(photo)[4]
        target_grams = {k: gram(v) for k, v in features(style).items()}
    image = photo.clone().requires_grad_(True)
    # No early stop: every step makes max_iter (20) evaluations, as on real images.
    optimizer = torch.optim.LBFGS([image], tolerance_grad=-1, tolerance_change=-1)
    calls = [0]

    def closure():
        calls[0] += 1
        optimizer.zero_grad()
        f = features(image)
        loss = nn.functional.mse_loss(f[4], target_content)
        loss = loss + 1e6 * sum(nn.functional.mse_loss(gram(f[k]), g)
                                for k, g in target_grams.items())
        loss.backward()
        return loss

    for _ in range(warmup_steps):  # 20 evaluations each; 5 fill the 100-pair history
        optimizer.step(closure)
    calls[0] = 0
    start = time.perf_counter()
    for _ in range(max(1, repeats // 5)):
        optimizer.step(closure)
    return (time.perf_counter() - start) / calls[0], calls[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="stylize,train,lbfgs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--formats", default="nchw,channels_last",
                        help="memory formats to time (PyTorch's default NCHW, channels_last)")
    parser.add_argument("--lbfgs_warmup_steps", type=int, default=1,
                        help="untimed LBFGS steps of 20 evaluations (5 fill its history)")
    parser.add_argument("--compile", action="store_true",
                        help="also time torch.compile'd models (needs a C++ compiler)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    formats = [{"nchw": torch.contiguous_format, "channels_last": torch.channels_last}[f]
               for f in args.formats.split(",")]
    load = os.getloadavg()[0]
    print(f"torch {torch.__version__}, {args.threads} threads, load average {load:.1f}")
    for name in args.parts.split(","):
        if name == "stylize":
            bench_stylize(args.repeats, formats, args.compile)
        elif name == "train":
            for fmt in formats:
                bench_train(args.repeats, fmt, args.compile)
        elif name == "lbfgs":
            for fmt in formats:
                bench_lbfgs(args.repeats, fmt, args.lbfgs_warmup_steps)
        else:
            parser.error(f"unknown part {name!r}; choose from stylize, train, lbfgs")


if __name__ == "__main__":
    main()
