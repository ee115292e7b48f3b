"""Content photos for training, as tf.data pipelines.

Sources: a folder (searched recursively, so ImageNet-style class trees work),
a glob or a list of image files; TFRecord files of `tf.train.Example`s
(Magenta's ImageNet layout, key `image/encoded`); and tensorflow-datasets
(`coco/2017`, images only). `content_dataset` picks one from a string.

Every pipeline yields `[batch_size, image_size, image_size, 3]` float32
batches in [0, 1] (all batches full: the remainder is dropped). Decoding and
preprocessing run in parallel (`AUTOTUNE`) and batches are prefetched.

Preprocessing (a `Preprocessing`, or its fields as keywords) is Magenta's by
default, except that the resize is antialiased.

A file or record that cannot be decoded (corrupt, truncated, not an image) is
skipped, logged once and counted in a `SkipStats` the caller can pass in and
read; it never stops training. The decode runs inside a one-element dataset
with `ignore_errors()` followed by a placeholder, so a failure becomes a
`valid=False` flag instead of an exception.

The same preprocessing without TensorFlow is in `magenta_style.data.photo_files`.
"""

import os
import random

import tensorflow as tf

from magenta_style.data.photo_files import IMAGE_EXTENSIONS
from magenta_style.data.photo_files import SkipStats
from magenta_style.data.photo_files import check_readable
from magenta_style.data.photo_files import list_image_files
from magenta_style.data.preprocessing import Preprocessing
from magenta_style.data.preprocessing import from_keywords
from magenta_style.data.preprocessing import scaled_side
from magenta_style.errors import UserError

AUTOTUNE = tf.data.AUTOTUNE

__all__ = [
    "IMAGE_EXTENSIONS",
    "Preprocessing",
    "SkipStats",
    "content_dataset",
    "decode_image",
    "folder_dataset",
    "list_image_files",
    "preprocess_image",
    "tfds_dataset",
    "tfrecord_dataset",
]


def preprocess_image(image_uint8, image_size=256, resize_side=258, random_crop=False,
                     random_flip=False, seed=None, antialias=True, preprocessing=None):
    """One photo -> a training crop (Magenta's by default), eagerly or in `Dataset.map`.

    Args:
        image_uint8: `[H, W, 3]` uint8 tensor (any H, W >= 1).
        image_size, resize_side, random_crop, random_flip, antialias: see
            `Preprocessing` (here resize_side defaults to 258); ignored where
            `preprocessing` is given.
        seed: `[2]` int tensor for the stateless random ops (a given seed
            always gives the same crop and flip); None draws fresh ones.
        preprocessing: a `Preprocessing` instead of the separate keywords.

    Returns:
        `[image_size, image_size, 3]` float32 in [0, 1].
    """
    preprocessing = from_keywords(preprocessing, preprocess_image, image_size=image_size,
                                  resize_side=resize_side, random_crop=random_crop,
                                  random_flip=random_flip, antialias=antialias)
    image = tf.convert_to_tensor(image_uint8)
    if image.dtype != tf.uint8:
        raise UserError(f"preprocess_image takes uint8. Received: dtype={image.dtype.name}")
    size = preprocessing.image_size
    shape = tf.shape(image, out_type=tf.int64)
    short = tf.minimum(shape[0], shape[1])
    side = preprocessing.resolved_resize_side()
    new_shape = tf.stack([scaled_side(shape[0], short, side), scaled_side(shape[1], short, side)])
    image = tf.image.resize(image, tf.cast(new_shape, tf.int32), method="bilinear",
                            antialias=preprocessing.antialias)
    if preprocessing.random_crop or preprocessing.random_flip:
        seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32) if seed is None else seed
        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    if preprocessing.random_crop:
        image = tf.image.stateless_random_crop(image, [size, size, 3], seed=crop_seed)
    else:
        top, left = (new_shape[0] - size) // 2, (new_shape[1] - size) // 2
        image = image[top:top + size, left:left + size]
    if preprocessing.random_flip:
        image = tf.image.stateless_random_flip_left_right(image, seed=flip_seed)
    image = tf.clip_by_value(image / 255.0, 0.0, 1.0)
    return tf.ensure_shape(image, [size, size, 3])


def _guarded(load_fn, describe_fn, stats, max_consecutive, deterministic):
    """Maps items to `(uint8 image, ok)`, dropping failures (counted).

    `load_fn(item)` -> `[H, W, 3]` uint8 and may fail at run time; failures
    are turned into a flag by running it in a one-element dataset with
    `ignore_errors()` and appending a placeholder (`take(1)` keeps whichever
    comes first).
    """
    placeholder = (tf.zeros([1, 1, 3], tf.uint8), tf.constant(False))
    # Count even when the caller does not read the counts: the log line and
    # the stop when nothing at all is readable need them.
    stats = SkipStats() if stats is None else stats

    def attempt(item):
        ok = tf.data.Dataset.from_tensors(item).map(
            lambda x: (load_fn(x), tf.constant(True))).ignore_errors()
        return ok.concatenate(tf.data.Dataset.from_tensors(placeholder)).take(1).map(
            lambda image, valid: (image, valid, describe_fn(item)))

    def count(image, valid, description):
        def record(valid, description):
            stats.record(bool(valid), description.numpy().decode("utf-8", "replace"),
                         max_consecutive)
            return valid

        return tf.py_function(record, [valid, description], tf.bool)

    def chain(ds):
        ds = ds.interleave(attempt, cycle_length=AUTOTUNE, block_length=1,
                           num_parallel_calls=AUTOTUNE, deterministic=deterministic)
        ds = ds.filter(count)
        return ds.map(lambda image, valid, description: image)

    return chain


def decode_image(contents):
    """Encoded JPEG/PNG/GIF/BMP/WebP bytes -> `[H, W, 3]` uint8 (first frame).

    JPEGs use the accurate integer DCT (TensorFlow's default is the fast
    one, about one level off on average), which is what Pillow uses, so
    both input paths decode identical pixels.
    """
    image = tf.cond(
        tf.io.is_jpeg(contents),
        lambda: tf.io.decode_jpeg(contents, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(contents, channels=3, dtype=tf.uint8,
                                   expand_animations=False))
    return tf.ensure_shape(image, [None, None, 3])


def _finish(ds, batch_size, preprocessing, seed, deterministic):
    """uint8 images -> preprocessed, batched, prefetched."""
    if seed is None:
        seed = random.SystemRandom().randrange(2**31 - 1)

    def prep(index, image):
        element_seed = tf.stack([tf.constant(seed, tf.int64), index])
        return preprocess_image(image, seed=element_seed, preprocessing=preprocessing)

    ds = ds.enumerate().map(prep, num_parallel_calls=AUTOTUNE, deterministic=deterministic)
    return ds.batch(batch_size, drop_remainder=True).prefetch(AUTOTUNE)


def _check_batch(batch_size):
    if not isinstance(batch_size, int) or batch_size < 1:
        raise UserError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}")


def folder_dataset(files, batch_size, image_size=256, resize_side=None, shuffle=True,
                   seed=None, random_crop=False, random_flip=False, repeat=True, stats=None,
                   num_shards=1, shard_index=0, antialias=True, preprocessing=None):
    """Content batches from image files.

    Args:
        files: a folder (searched recursively for image extensions), a glob
            (`**` recurses), a file, a comma-separated string or a list of
            these (see `photo_files.list_image_files`).
        batch_size: images per batch; every batch is full.
        image_size, resize_side, random_crop, random_flip, antialias: see
            `Preprocessing` (Magenta's by default: resize_side image_size + 2,
            no random crops or flips); ignored where `preprocessing` is given.
        shuffle: shuffle all file names, reshuffled every epoch (cheaper and
            better mixed than Magenta's buffer of 16,384 decoded images).
        seed: int for a repeatable order, crops and flips; None for fresh.
        repeat: repeat forever (training) or stop after one epoch.
        stats: optional `SkipStats`, updated as unreadable files are skipped.
        num_shards, shard_index: keep every `num_shards`-th file from
            `shard_index` (one shard per input pipeline in tf.distribute).
        preprocessing: a `Preprocessing` instead of the separate keywords.

    Returns:
        A `tf.data.Dataset` of `[batch_size, image_size, image_size, 3]`
        float32 in [0, 1].

    Raises:
        UserError: no files match; fewer files than one batch; none of the
            files tried is a readable image; bad sizes.
    """
    _check_batch(batch_size)
    preprocessing = from_keywords(preprocessing, folder_dataset, image_size=image_size,
                                  resize_side=resize_side, random_crop=random_crop,
                                  random_flip=random_flip, antialias=antialias)
    paths = list_image_files(files)[shard_index::num_shards]
    if len(paths) < batch_size:
        raise UserError(
            f"{len(paths)} content images are fewer than one batch of {batch_size}; add "
            f"photos or lower batch_size. Received: files={files!r}"
        )
    check_readable(paths)
    deterministic = seed is not None
    ds = tf.data.Dataset.from_tensor_slices(paths)
    if shuffle:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    guard = _guarded(lambda path: decode_image(tf.io.read_file(path)), lambda path: path, stats,
                     2 * len(paths) + 1, deterministic)
    return _finish(guard(ds), batch_size, preprocessing, seed, deterministic)


def _tfrecord_files(pattern):
    if isinstance(pattern, (list, tuple)):
        parts = [os.fspath(p) for p in pattern]
    else:
        parts = [p.strip() for p in os.fspath(pattern).split(",") if p.strip()]
    files = set()
    for part in parts:
        files.update(tf.io.gfile.glob(part))
    if not files:
        raise UserError(f"No TFRecord files match {pattern!r}. Received: pattern={pattern!r}")
    return sorted(files)


def tfrecord_dataset(pattern, batch_size, image_size=256, image_key="image/encoded",
                     resize_side=None, shuffle=True, seed=None, random_crop=False,
                     random_flip=False, repeat=True, stats=None, shuffle_buffer=1024,
                     num_shards=1, shard_index=0, antialias=True, compression_type=None,
                     preprocessing=None):
    """Content batches from TFRecord files of `tf.train.Example`s.

    Args:
        pattern: glob(s) of TFRecord files (comma-separated or a list;
            `gs://` works). Magenta's ImageNet shards are `train-*`.
        image_key: the bytes feature holding the encoded image.
        shuffle_buffer: encoded records held for shuffling (files are
            shuffled too).
        compression_type: None, "GZIP" or "ZLIB".
        Others: as `folder_dataset`. A record without `image_key` or with an
        undecodable image is skipped and counted.

    Returns:
        A `tf.data.Dataset` of `[batch_size, image_size, image_size, 3]`
        float32 in [0, 1].
    """
    _check_batch(batch_size)
    preprocessing = from_keywords(preprocessing, tfrecord_dataset, image_size=image_size,
                                  resize_side=resize_side, random_crop=random_crop,
                                  random_flip=random_flip, antialias=antialias)
    files = _tfrecord_files(pattern)[shard_index::num_shards]
    if not files:
        raise UserError(
            f"Shard {shard_index} of {num_shards} gets none of the {pattern!r} files; use "
            "more files than input pipelines."
        )
    deterministic = seed is not None
    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.interleave(
        lambda f: tf.data.TFRecordDataset(f, compression_type=compression_type),
        cycle_length=min(len(files), 16), num_parallel_calls=AUTOTUNE,
        deterministic=deterministic)
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    feature = {image_key: tf.io.FixedLenFeature([], tf.string)}

    def load(record):
        return decode_image(tf.io.parse_single_example(record, feature)[image_key])

    guard = _guarded(load, lambda record: tf.constant(f"a record of {pattern}"), stats,
                     10_000, deterministic)
    return _finish(guard(ds), batch_size, preprocessing, seed, deterministic)


def tfds_dataset(name="coco/2017", split="train", batch_size=16, image_size=256,
                 data_dir=None, image_key="image", download=False, resize_side=None,
                 shuffle=True, seed=None, random_crop=False, random_flip=False, repeat=True,
                 stats=None, shuffle_buffer=1024, num_shards=1, shard_index=0, antialias=True,
                 preprocessing=None):
    """Content batches from a tensorflow-datasets dataset (images only).

    Only the image feature is parsed (`PartialDecoding`: COCO's boxes are
    never read) and it is read still encoded (`SkipDecoding`) and decoded
    here, so a bad image is skipped and counted as in the other sources.

    Args:
        name: a TFDS name, e.g. "coco/2017" (Magenta trained on ImageNet;
            COCO is what fast style transfer uses).
        split: a TFDS split, e.g. "train" or "train[:10%]".
        data_dir: TFDS data folder (default: TFDS's, `~/tensorflow_datasets`).
        image_key: the image feature.
        download: let TFDS download and prepare the dataset if it is not
            there (COCO 2017 is about 19 GB, so it is off by default).
        Others: as `folder_dataset`.

    Returns:
        A `tf.data.Dataset` of `[batch_size, image_size, image_size, 3]`
        float32 in [0, 1].

    Raises:
        UserError: unknown dataset, image feature or split; dataset not
            prepared and `download` is off.
    """
    import tensorflow_datasets as tfds  # Heavy; only this source needs it.

    _check_batch(batch_size)
    preprocessing = from_keywords(preprocessing, tfds_dataset, image_size=image_size,
                                  resize_side=resize_side, random_crop=random_crop,
                                  random_flip=random_flip, antialias=antialias)
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as e:  # TFDS raises several types for unknown names.
        raise UserError(f"Unknown tensorflow-datasets dataset {name!r}: "
                        f"{str(e).splitlines()[0]}") from None
    if image_key not in builder.info.features:
        raise UserError(
            f"Dataset {name} has no image feature {image_key!r}; its features are "
            f"{sorted(builder.info.features)}. Received: image_key={image_key!r}"
        )
    if download:
        builder.download_and_prepare()
    read_config = tfds.ReadConfig(shuffle_seed=seed, interleave_cycle_length=16)
    if num_shards > 1:
        read_config.input_context = tf.distribute.InputContext(
            num_input_pipelines=num_shards, input_pipeline_id=shard_index)
    try:
        ds = builder.as_dataset(split=split, shuffle_files=shuffle, read_config=read_config,
                                decoders=tfds.decode.PartialDecoding(
                                    {image_key: True},
                                    decoders={image_key: tfds.decode.SkipDecoding()}))
    except AssertionError:  # TFDS's "could not find data in ...".
        raise UserError(
            f"Dataset {name} is not prepared in {builder.data_dir}. Prepare it once with "
            f"`tfds build {name} --data_dir=DIR` and pass --tfds_data_dir=DIR (data_dir=DIR "
            "in Python) or set TFDS_DATA_DIR=DIR; or pass --download (download=True) to let "
            "tensorflow-datasets fetch it (COCO 2017: about 19 GB)."
        ) from None
    except (ValueError, KeyError) as e:
        raise UserError(f"Cannot read split {split!r} of {name}: "
                        f"{str(e).splitlines()[0]}") from None
    deterministic = seed is not None
    ds = ds.map(lambda example: example[image_key], num_parallel_calls=AUTOTUNE)
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    guard = _guarded(decode_image, lambda _: tf.constant(f"an image of {name}:{split}"), stats,
                     10_000, deterministic)
    return _finish(guard(ds), batch_size, preprocessing, seed, deterministic)


def content_dataset(source, batch_size, image_size=256, **kwargs):
    """Content batches from any source named by one string (or a list).

    `source` forms:
        - "tfds:NAME", e.g. "tfds:coco/2017": tensorflow-datasets
          (`tfds_dataset`; the split is the `split=` argument);
        - "tfrecord:PATTERN", or a pattern whose file name contains
          ".tfrecord"/".tfrecords"/".tfrec" (e.g. `train.tfrecord-*`):
          TFRecords (`tfrecord_dataset`);
        - anything else: a folder, glob, file, comma-separated list or list
          of files (`folder_dataset`).

    Args:
        source: see above.
        batch_size, image_size: as in the per-source functions.
        **kwargs: passed on (`preprocessing` or its fields `resize_side`,
            `random_crop`, `random_flip`, `antialias`; `seed`, `shuffle`,
            `repeat`, `stats`, `num_shards`, `shard_index`,
            and source-specific ones such as `split`, `data_dir`,
            `image_key`).

    Returns:
        A `tf.data.Dataset` of `[batch_size, image_size, image_size, 3]`
        float32 in [0, 1].
    """
    if isinstance(source, str) and source.startswith("tfds:"):
        return tfds_dataset(source[len("tfds:"):], batch_size=batch_size,
                            image_size=image_size, **kwargs)
    if isinstance(source, str) and source.startswith("tfrecord:"):
        return tfrecord_dataset(source[len("tfrecord:"):], batch_size, image_size, **kwargs)
    if isinstance(source, str) and _looks_like_tfrecord(source):
        return tfrecord_dataset(source, batch_size, image_size, **kwargs)
    return folder_dataset(source, batch_size, image_size, **kwargs)


def _looks_like_tfrecord(pattern):
    """True for names such as `x.tfrecord`, `train.tfrecords-*`, `a.tfrec`."""
    return any(".tfrec" in os.path.basename(p.strip()).lower() for p in pattern.split(","))
