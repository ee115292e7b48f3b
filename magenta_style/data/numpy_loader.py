"""`NumpyContentLoader`: content photos as NumPy batches, with Pillow and threads.

The TensorFlow-free input path of training under `KERAS_BACKEND=jax` (the
preprocessing is `photo_files`', identical to the tf.data path's), and
`write_resized_copies`, which shrinks a photo folder to carry to a machine
with little room. Importing this module must not import TensorFlow.
"""

import collections
import concurrent.futures
import os

import numpy as np
from PIL import Image

from magenta_style.data import photo_files
from magenta_style.data.preprocessing import from_keywords
from magenta_style.errors import UserError


def _load_task(path, preprocessing, seed):
    """One loader task: uint8 crop, or None when the file is unreadable.

    Module-level (not a method) so a process pool pickles only its arguments.
    """
    try:
        return photo_files.open_crop(path, preprocessing, np.random.default_rng(seed))
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError,
            Image.DecompressionBombError):
        return None


class NumpyContentLoader:
    """Batches of preprocessed content photos, decoded by a worker pool.

    Pillow releases the GIL while it decodes and resizes, so the default
    thread pool scales across cores without process start-up or pickling
    costs; `processes=True` uses a process pool (started with "spawn", which
    is safe beside JAX's threads) for when Python overhead dominates.

    Iterating yields `[batch_size, image_size, image_size, 3]` arrays, float32
    in [0, 1] or (`dtype="uint8"`) uint8 in [0, 255], forever when `repeat`
    (reshuffled every epoch), else one epoch. Unreadable files are skipped
    and counted in `self.stats` (`photo_files.SkipStats`) and logged once;
    they never stop iteration.

    With a `seed`, the file order and every random crop and flip depend only
    on (seed, epoch, position), not on worker timing, so runs are repeatable.

    Args:
        files: a folder, glob, comma-separated string or list (see
            `photo_files.list_image_files`).
        batch_size: images per batch (the last partial batch of an epoch is
            dropped, so every batch has this size).
        image_size, resize_side, random_crop, random_flip, draft: see
            `Preprocessing` (resize_side None: image_size + 2, Magenta's;
            draft: fast reduced-scale decoding of large JPEGs, False
            matches the tf.data path exactly); ignored where
            `preprocessing` is given.
        shuffle: shuffle the files every epoch.
        seed: int or None (fresh randomness).
        workers: pool size (default: number of CPUs).
        repeat: iterate forever.
        prefetch_batches: batches decoded ahead of the consumer.
        num_shards, shard_index: keep only every `num_shards`-th file starting
            at `shard_index` (one shard per host in multi-host training).
        processes: a process pool instead of threads.
        start_epoch, start_position: where in the stream of files to start,
            to continue it exactly when resuming: element e of the stream is
            position `e % len(files)` of epoch `e // len(files)`, so pass
            e = `step * batch_size` (exact while every file is readable).
        dtype: "float32" (x / 255) or "uint8" (the decoded values, 4x fewer
            bytes to move; the consumer scales them, as the JAX training step
            does on the device).
    """

    def __init__(self, files, batch_size, image_size=256, resize_side=None, shuffle=True,
                 seed=None, random_crop=False, random_flip=False, workers=None,
                 repeat=True, prefetch_batches=2, num_shards=1, shard_index=0,
                 processes=False, start_epoch=0, start_position=0, draft=True,
                 dtype="float32", preprocessing=None):
        if dtype not in ("float32", "uint8"):
            raise UserError(f"dtype must be 'float32' or 'uint8'. Received: dtype={dtype!r}")
        self.preprocessing = from_keywords(
            preprocessing, NumpyContentLoader.__init__, image_size=image_size,
            resize_side=resize_side, random_crop=random_crop, random_flip=random_flip,
            draft=draft)
        if batch_size < 1:
            raise UserError(f"batch_size must be positive. Received: batch_size={batch_size}")
        if isinstance(files, str) and (files.startswith(("tfds:", "tfrecord:"))
                                       or ".tfrec" in files.lower()):
            raise UserError(
                "The NumPy loader reads image files only (no TensorFlow); TFDS and TFRecord "
                f"sources need the tf.data path. Received: files={files!r}"
            )
        self.files = photo_files.list_image_files(files)[shard_index::num_shards]
        if len(self.files) < batch_size:
            raise UserError(
                f"{len(self.files)} content images are fewer than one batch of "
                f"{batch_size}; add photos or lower batch_size. Received: files={files!r}"
            )
        photo_files.check_readable(self.files)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = int(np.random.SeedSequence().entropy % 2**63) if seed is None else seed
        self.workers = workers or os.cpu_count() or 1
        self.repeat = repeat
        self.prefetch_batches = max(1, prefetch_batches)
        self.processes = processes
        if not 0 <= start_position < len(self.files):
            raise UserError(f"start_position must be in [0, {len(self.files)}) (files per "
                            f"epoch). Received: start_position={start_position}")
        self.start_epoch = start_epoch
        self.start_position = start_position
        self.dtype = dtype
        self.stats = photo_files.SkipStats()

    # The preprocessing fields, read-only, as attributes (resize_side resolved).
    image_size = property(lambda self: self.preprocessing.image_size)
    resize_side = property(lambda self: self.preprocessing.resolved_resize_side())
    random_crop = property(lambda self: self.preprocessing.random_crop)
    random_flip = property(lambda self: self.preprocessing.random_flip)
    draft = property(lambda self: self.preprocessing.draft)

    @property
    def skipped(self):
        """How many unreadable files were skipped so far."""
        return self.stats.skipped

    def __len__(self):
        """Batches per epoch, assuming every file is readable."""
        return len(self.files) // self.batch_size

    def _epoch_order(self, epoch):
        if not self.shuffle:
            return list(range(len(self.files)))
        rng = np.random.default_rng([self.seed, epoch])
        return rng.permutation(len(self.files)).tolist()

    def _tasks(self):
        """(file index, task arguments) in order, epoch after epoch."""
        epoch, start = self.start_epoch, self.start_position
        while True:
            for position, index in enumerate(self._epoch_order(epoch)):
                if position < start:
                    continue
                yield index, (self.files[index], self.preprocessing,
                              [self.seed, epoch, position, 1])
            epoch, start = epoch + 1, 0
            if not self.repeat:
                return

    def _pool(self):
        if self.processes:
            import multiprocessing

            return concurrent.futures.ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"))
        return concurrent.futures.ThreadPoolExecutor(self.workers)

    def __iter__(self):
        """Yields `[B, S, S, 3]` batches of `dtype`; see the class docstring."""
        window = self.batch_size * (self.prefetch_batches + 1)
        # Two full epochs without one readable file means none is readable.
        limit = 2 * len(self.files) + 1
        tasks = self._tasks()
        pending = collections.deque()
        batch = []
        with self._pool() as pool:

            def refill():
                while len(pending) < window:
                    task = next(tasks, None)
                    if task is None:
                        return
                    pending.append((task[0], pool.submit(_load_task, *task[1])))

            refill()
            while pending:
                index, future = pending.popleft()
                crop = future.result()
                self.stats.record(crop is not None, self.files[index], limit)
                refill()
                if crop is None:
                    continue
                batch.append(crop)
                if len(batch) == self.batch_size:
                    # Workers return uint8 (4x less to move); convert once.
                    stacked = np.stack(batch)
                    batch = []
                    yield (stacked if self.dtype == "uint8"
                           else stacked.astype(np.float32) / np.float32(255.0))


def write_resized_copies(files, output_dir, resize_side=258, quality=90, limit=None,
                         progress=True):
    """Writes each photo shrunk so its short side is `resize_side` (JPEG).

    For carrying a training subset to a machine with little room (the GPU
    machines take at most 64 MiB): training preprocesses the copies exactly
    as the originals (they are already at the resize size), up to JPEG
    re-encoding. Photos already smaller are copied at their size. Unreadable
    files are skipped and counted; output names keep the relative folder
    layout and end in `.jpg`.

    Args:
        files: folder, glob or list (see `photo_files.list_image_files`).
        output_dir: created if needed.
        resize_side: short side of the copies (training's
            `Preprocessing.resolved_resize_side()`).
        quality: JPEG quality.
        limit: copy only the first `limit` files (sorted order).
        progress: tqdm progress bar.

    Returns:
        (number written, `photo_files.SkipStats`).
    """
    from tqdm import tqdm

    paths = photo_files.list_image_files(files)[:limit]
    root = os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in paths])
    stats = photo_files.SkipStats()
    written = 0
    for path in tqdm(paths, desc="Resizing photos", unit="photo", disable=not progress):
        rel = os.path.splitext(os.path.relpath(os.path.abspath(path), root))[0] + ".jpg"
        out = os.path.join(output_dir, rel)
        try:
            with Image.open(path) as img:
                img.draft("RGB", (resize_side, resize_side))
                img = photo_files.to_rgb8(img)
                h, w = img.height, img.width
                if min(h, w) > resize_side:
                    nh, nw = photo_files.resized_shape(h, w, resize_side)
                    img = img.resize((nw, nh), Image.BILINEAR)
                os.makedirs(os.path.dirname(out), exist_ok=True)
                tmp = out + ".tmp"
                img.save(tmp, format="JPEG", quality=quality)
                os.replace(tmp, out)
            written += 1
            stats.record(True, path)
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
            stats.record(False, path)
    return written, stats
