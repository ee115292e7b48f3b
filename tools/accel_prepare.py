"""Builds `.accel/`: what training on a borrowed GPU machine needs, under 64 MiB.

    .venv/bin/python tools/accel_prepare.py --photos=200 --styles=8

That machine has JAX (CUDA) and PyTorch but no TensorFlow, no Keras and no
network, and at most 64 MiB travel to it with the working tree. This writes:

- `.accel/wheels/`: Keras and the dependencies the machine may lack, for
  CPython 3.12 manylinux (`pip download --no-deps --only-binary=:all:`);
  `tools/accel_train.sh` installs only those whose module does not import;
- `.accel/vgg16_blocks1-4_fp16.h5`: VGG-16 blocks 1-4 in float16
  (`tools/trim_vgg.py`, 15 MB instead of 59 MB);
- `.accel/photos/`: the first N training photos, short side 258 (Magenta's
  resize), JPEG;
- `.accel/styles/`: N style images, centre-cropped square at 256 px (one
  shape, so JAX compiles the style measurement once);

and prints the size of `.accel/` including `.accel/state/` (the checkpoint
brought back from the previous run). With `--resume_model=checkpoints/varied`
it writes `.accel/state/` from that committed model instead (its weights and
step, a fresh Adam state: `run_dir.seed_train_dir`), for a session that no
longer has the last run's optimizer state. Keep `.accel/` out of git: this adds it
to `.git/info/exclude`.
"""

import argparse
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO, "..", "shared")
# pip name -> import name. Keras 3.15's requirements plus rich's, our Pillow and tqdm.
WHEELS = {
    "keras==3.15.1": "keras", "absl-py": "absl", "namex": "namex", "optree": "optree",
    "ml-dtypes": "ml_dtypes", "h5py": "h5py", "rich": "rich", "pygments": "pygments",
    "markdown-it-py": "markdown_it", "mdurl": "mdurl", "packaging": "packaging",
    "tqdm": "tqdm", "pillow": "PIL",
}
LIMIT = 64 * 2**20


def folder_size(path):
    return sum(os.path.getsize(os.path.join(root, f))
               for root, _, files in os.walk(path) for f in files)


def download_wheels(out, names, python_version):
    os.makedirs(out, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--python-version", python_version, "--platform", "manylinux_2_17_x86_64",
         "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64",
         "-d", out, *names], check=True)


def copy_images(files, out, short_side=None, square=None, quality=90):
    from PIL import Image

    from magenta_style.storage import image_io

    os.makedirs(out, exist_ok=True)
    for path in files:
        image = image_io.load_image(path)
        h, w = image.shape[:2]
        if square:
            side = min(h, w)
            top, left = (h - side) // 2, (w - side) // 2
            image = image_io.resize(image[top:top + side, left:left + side], (square, square))
        elif short_side:
            scale = short_side / min(h, w)
            image = image_io.resize(image, (max(short_side, round(w * scale)),
                                            max(short_side, round(h * scale))))
        name = os.path.splitext(os.path.basename(path))[0] + ".jpg"
        Image.fromarray(image_io.to_uint8(image)).save(os.path.join(out, name), quality=quality)


def seed_state(model_dir, state):
    """`.accel/state/` (as tools/accel_train.sh reads it) from a model directory."""
    import shutil
    import tempfile

    from magenta_style.storage import model_format
    from magenta_style.training import run_dir

    model = model_format.load_model(model_dir)
    shutil.rmtree(state, ignore_errors=True)
    os.makedirs(state)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = run_dir.seed_train_dir(tmp, model)
        shutil.copy(os.path.join(tmp, "config.json"), os.path.join(state, "config.json"))
        # accel_train.sh joins ckpt-N.npz.part-*; one part is under 16 MB here.
        shutil.copy(ckpt, os.path.join(state, os.path.basename(ckpt) + ".part-00"))
    print(f"state: {model_dir} at step {model.provenance['steps']}, fresh Adam")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(REPO, ".accel"))
    parser.add_argument("--photos", type=int, default=200, help="How many training photos.")
    parser.add_argument("--styles", type=int, default=8, help="How many style images.")
    parser.add_argument("--style_size", type=int, default=256)
    parser.add_argument("--photo_side", type=int, default=258,
                        help="Short side of the photos (Magenta resizes to 258, crops 256).")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality of the photos.")
    parser.add_argument("--wheels", default=",".join(WHEELS),
                        help="pip names to carry (drop those the machine has).")
    parser.add_argument("--python_version", default="3.12")
    parser.add_argument("--resume_model", default=None,
                        help="Model directory to continue training (writes .accel/state/).")
    parser.add_argument("--vgg", default=os.path.join(
        SHARED, "weights", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"))
    args = parser.parse_args()

    sys.path.insert(0, REPO)
    sys.path.insert(0, os.path.join(REPO, "tools"))
    import trim_vgg

    exclude = os.path.join(REPO, ".git", "info", "exclude")
    if os.path.isdir(os.path.dirname(exclude)):
        lines = open(exclude).read().splitlines() if os.path.exists(exclude) else []
        if "/.accel/" not in lines:
            with open(exclude, "a") as f:
                f.write("/.accel/\n")
    if args.wheels:
        download_wheels(os.path.join(args.out, "wheels"), args.wheels.split(","),
                        args.python_version)
    os.makedirs(args.out, exist_ok=True)
    trim_vgg.trim(args.vgg, os.path.join(args.out, "vgg16_blocks1-4_fp16.h5"))
    train = os.path.join(SHARED, "images", "train")
    copy_images(sorted(os.path.join(train, f) for f in os.listdir(train))[:args.photos],
                os.path.join(args.out, "photos"), short_side=args.photo_side,
                quality=args.quality)
    styles = os.path.join(SHARED, "images", "styles")
    copy_images(sorted(os.path.join(styles, f) for f in os.listdir(styles))[:args.styles],
                os.path.join(args.out, "styles"), square=args.style_size)
    if args.resume_model:
        seed_state(args.resume_model, os.path.join(args.out, "state"))
    for part in sorted(os.listdir(args.out)):
        path = os.path.join(args.out, part)
        size = folder_size(path) if os.path.isdir(path) else os.path.getsize(path)
        print(f"{size / 2**20:7.1f} MiB  {part}")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                             check=True).stdout.decode().split("\0")
    tree = sum(os.path.getsize(os.path.join(REPO, f)) for f in tracked
               if f and os.path.isfile(os.path.join(REPO, f)))
    print(f"{tree / 2**20:7.1f} MiB  the tracked working tree")
    total = folder_size(args.out) + tree
    print(f"{total / 2**20:7.1f} MiB  total with the working tree (limit 64 MiB)")
    if total > LIMIT:
        sys.exit("Too big for one carry: fewer --photos, or drop wheels the machine has.")


if __name__ == "__main__":
    main()
