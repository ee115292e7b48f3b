"""Where the photos come from and where the pastiches go, through Beam's filesystems.

Inputs (`--input_image`, comma-separated parts, each one of):
- an image file, a glob or a folder (local: as `bin/stylize` reads them;
  `gs://`, `s3://`, `hdfs://`: through `FileSystems.match`, so a bucket works
  where the runner has credentials);
- a text file listing photos (`*.txt`: one path per line, `#` comments;
  relative paths are relative to the list's folder);
- TFRecord files of encoded images (`*.tfrecord`, `*.tfrecords`, sharded
  `*.tfrecord-00000-of-00010`, globs of those): each record a
  `tf.train.Example` with `image/encoded` (tfds' and our training data's
  key; `image/filename` names the output when present) or the bare
  encoded bytes.

A photo element is `(name, source)`: `name` the output prefix, `source`
its path (str) or its encoded bytes.
"""

import hashlib
import io
import os
import posixpath
import re
import tempfile

from apache_beam.io.filesystems import FileSystems

from magenta_style.errors import UserError
from magenta_style.storage import atomic
from magenta_style.storage import image_io
from magenta_style.stylization import batch_files

_TFRECORD = re.compile(r"\.tfrecords?(-\d+-of-\d+)?$|\.tfrecords?-[*?]*$")
_GLOB = re.compile(r"[*?\[]")


def is_local(path):
    """Whether `path` is on this machine's filesystem (no `scheme://`)."""
    return "://" not in str(path)


def _match(pattern):
    """Files (not folders) matching a Beam-filesystem glob, sorted."""
    try:
        results = FileSystems.match([pattern])
    except Exception as e:  # noqa: BLE001 -- Beam wraps any filesystem error
        raise UserError(f"Cannot list {pattern!r}: {str(e).splitlines()[0]}") from None
    return sorted(m.path for r in results for m in r.metadata_list
                  if not m.path.endswith("/"))


def _listed(list_path):
    try:
        with FileSystems.open(list_path) as f:
            text = f.read().decode("utf-8")
    except Exception as e:  # noqa: BLE001 -- missing, unreadable or not UTF-8 text
        raise UserError(f"Cannot read the photo list {list_path}: "
                        f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    folder = posixpath.dirname(list_path) if not is_local(list_path) \
        else os.path.dirname(list_path)
    paths = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if is_local(line) and not os.path.isabs(line) and is_local(list_path):
            line = os.path.join(folder, line)
        elif not is_local(list_path) and is_local(line) and not line.startswith("/"):
            line = posixpath.join(folder, line)
        paths.append(line)
    if not paths:
        raise UserError(f"The photo list {list_path} names no photo.")
    return paths


def expand(spec):
    """`--input_image` -> `(photo paths, TFRecord files)` (see module doc).

    Raises:
        UserError: nothing given, a glob, folder or TFRecord pattern that
            matches nothing, an empty or unreadable photo list.
    """
    parts = [p.strip() for p in str(spec or "").split(",") if p.strip()]
    if not parts:
        raise UserError("No input image given; pass --input_image=PATH (file, glob, folder, "
                        "photo list .txt or .tfrecord).")
    photos, records = [], []
    for part in parts:
        if _TFRECORD.search(part):
            found = _match(part)
            if not found:
                raise UserError(f"No TFRecord file matches {part!r}.")
            records.extend(found)
        elif part.lower().endswith(".txt"):
            photos.extend(_listed(part))
        elif is_local(part):
            photos.extend(batch_files.expand_inputs(part))
        else:
            pattern = part.rstrip("/") + "/*" if part.endswith("/") else part
            found = [p for p in _match(pattern) if p.lower().endswith(image_io.IMAGE_EXTENSIONS)]
            if _GLOB.search(pattern) and not found:
                raise UserError(f"No image file matches {part!r}.")
            photos.extend(found or [part])
    return photos, records


def record_photo(record, tfrecord_path):
    """`(name, encoded bytes)` of one TFRecord record (see module doc)."""
    data, name = record, None
    try:
        import tensorflow as tf

        example = tf.train.Example.FromString(record)
        feature = example.features.feature
        if "image/encoded" in feature and feature["image/encoded"].bytes_list.value:
            data = feature["image/encoded"].bytes_list.value[0]
            names = feature["image/filename"].bytes_list.value \
                if "image/filename" in feature else []
            if names:
                name = os.path.splitext(posixpath.basename(names[0].decode("utf-8", "replace")))[0]
    except Exception:  # noqa: BLE001 -- not an Example: the record is the encoded image
        data = record
    if not name:
        stem = posixpath.basename(tfrecord_path).split(".tfrecord")[0]
        name = f"{stem}-{hashlib.sha1(data).hexdigest()[:12]}"
    return name, data


def open_image(source, what):
    """A PIL image (header read, pixels not yet) of a remote path or encoded bytes.

    Raises:
        UserError: unreadable or not an image, or more pixels than
            `image_io.max_pixels()` allows (a decompression bomb).
    """
    from PIL import Image

    try:
        if isinstance(source, (bytes, bytearray)):
            data = bytes(source)
        else:
            with FileSystems.open(source) as f:
                data = f.read()
        img = Image.open(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001 -- missing file, not an image, truncated header
        raise UserError(f"Cannot read image {what}: "
                        f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    if img.width * img.height > image_io.max_pixels(scaled=True):
        raise UserError(f"Image {what} has {img.width}x{img.height} pixels, more than "
                        f"{image_io.max_pixels(scaled=True)} (magenta_style.storage.image_io).")
    try:
        img.load()
    except Exception as e:  # noqa: BLE001 -- truncated or corrupt pixel data
        raise UserError(f"Cannot read image {what}: {str(e).splitlines()[0]}") from None
    return img


def join(folder, name):
    """`folder/name` on the folder's filesystem."""
    return os.path.join(folder, name) if is_local(folder) else FileSystems.join(folder, name)


def exists(path):
    return os.path.exists(path) if is_local(path) else FileSystems.exists(path)


def save_image(image, path):
    """Writes uint8 `[H, W, 3]` to `path`, never leaving a half-written file there.

    Local: `image_io.save_image` (temp name beside it, fsync, rename).
    Remote: encoded locally, then one object upload (an object store makes
    the object visible only once whole).
    """
    if is_local(path):
        image_io.save_image(image, path)
        return
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, "out" + os.path.splitext(path)[1])
        image_io.save_image(image, local)
        with open(local, "rb") as f:
            write_bytes(path, f.read())


def write_bytes(path, data):
    """Writes `data` to `path` (local: atomically, as `save_image`)."""
    if is_local(path):
        def write(tmp):
            with open(tmp, "wb") as f:
                f.write(data)

        atomic.write_file(path, write, suffix=os.path.splitext(path)[1])
        return
    with FileSystems.create(path) as f:
        f.write(data)
