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

Local files, globs and folders are expanded by the launching process (as
`bin/stylize` does, refusing two photos that would write the same names);
photo lists, remote globs and TFRecords are read by the workers, so a
list of millions never passes through the launcher. A photo element is
`(name, source)`: `name` the output prefix, `source` its path (str) or
its encoded bytes.
"""

import dataclasses
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


def _match(pattern, limit=None):
    """Files (not folders) matching a Beam-filesystem glob, sorted (at most `limit`)."""
    try:
        results = FileSystems.match([pattern], limits=[limit])
    except Exception as e:  # noqa: BLE001 -- Beam wraps any filesystem error
        raise UserError(f"Cannot list {pattern!r}: {str(e).splitlines()[0]}") from None
    return sorted(m.path for r in results for m in r.metadata_list
                  if not m.path.endswith("/"))


# A photo list is checked for one path in its first bytes; the rest is read
# by the pipeline (a list of millions never passes through the launcher).
_LIST_PROBE_BYTES = 1 << 16


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What `--input_image` names, by how the pipeline reads it.

    Attributes:
        photos: photo paths expanded here (local files, globs and folders;
            remote plain files).
        lists: photo-list files, read line by line by the workers.
        patterns: remote globs and folders, matched by the workers.
        records: TFRecord files.
    """

    photos: tuple = ()
    lists: tuple = ()
    patterns: tuple = ()
    records: tuple = ()


def _check_list(list_path):
    try:
        with FileSystems.open(list_path) as f:
            head = f.read(_LIST_PROBE_BYTES)
        text = head.decode("utf-8", "replace")
    except Exception as e:  # noqa: BLE001 -- missing or unreadable
        raise UserError(f"Cannot read the photo list {list_path}: "
                        f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    if len(head) < _LIST_PROBE_BYTES and not any(
            line.strip() and not line.strip().startswith("#") for line in text.splitlines()):
        raise UserError(f"The photo list {list_path} names no photo.")


def photo_name(path, output_basename=None):
    """The output prefix of a photo read by the workers: its file name, after `output_basename`."""
    stem = os.path.splitext(posixpath.basename(path))[0]
    return f"{output_basename}_{stem}" if output_basename else stem


def listed_photo(list_line, output_basename=None):
    """`(list path, line)` -> `[(name, photo path)]`, or `[]` for a blank or `#` line.

    Relative paths are relative to the list's folder.
    """
    list_path, line = list_line
    line = line.strip()
    if not line or line.startswith("#"):
        return []
    if is_local(line) and not line.startswith("/"):
        line = (os.path.join(os.path.dirname(list_path), line) if is_local(list_path)
                else posixpath.join(posixpath.dirname(list_path), line))
    return [(photo_name(line, output_basename), line)]


def matched_photo(metadata, output_basename=None):
    """A matched file (`FileMetadata`) -> `[(name, path)]` when it is an image, else `[]`."""
    path = metadata.path
    if path.endswith("/") or not path.lower().endswith(image_io.IMAGE_EXTENSIONS):
        return []
    return [(photo_name(path, output_basename), path)]


def expand(spec):
    """`--input_image` -> `Inputs` (see module doc); remote globs are checked, not listed.

    Raises:
        UserError: nothing given, a glob, folder or TFRecord pattern that
            matches nothing, an empty or unreadable photo list.
    """
    parts = [p.strip() for p in str(spec or "").split(",") if p.strip()]
    if not parts:
        raise UserError("No input image given; pass --input_image=PATH (file, glob, folder, "
                        "photo list .txt or .tfrecord).")
    photos, lists, patterns, records = [], [], [], []
    for part in parts:
        if _TFRECORD.search(part):
            found = _match(part)
            if not found:
                raise UserError(f"No TFRecord file matches {part!r}.")
            records.extend(found)
        elif part.lower().endswith(".txt"):
            _check_list(part)
            lists.append(part)
        elif is_local(part):
            photos.extend(batch_files.expand_inputs(part))
        elif part.endswith("/") or _GLOB.search(part):
            pattern = part.rstrip("/") + "/*" if part.endswith("/") else part
            if not _match(pattern, limit=1):
                raise UserError(f"No file matches {part!r}.")
            patterns.append(pattern)
        else:
            photos.append(part)
    return Inputs(tuple(photos), tuple(lists), tuple(patterns), tuple(records))


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


def open_image(source, what, scaled=False):
    """The decoded PIL image of a remote path or of encoded bytes.

    Args:
        source: a Beam-filesystem path, or the encoded bytes.
        what: how messages name it.
        scaled: it will be scaled down (`max_size`), so only decoded at
            full size: the larger pixel limit applies (`image_io.max_pixels`).

    Raises:
        UserError: unreadable or not an image, or more pixels than
            `image_io.max_pixels(scaled)` allows (a decompression bomb),
            checked from the header before decoding.
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
    limit = image_io.max_pixels(scaled)
    if img.width * img.height > limit:
        raise UserError(f"Image {what} is {img.width}x{img.height}, more than the {limit} "
                        f"pixels this machine can stylize (set {image_io.MAX_PIXELS_ENV}, or "
                        "scale photos down with --max_size).")
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
