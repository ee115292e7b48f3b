#!/usr/bin/env bash
# Trains on a borrowed GPU machine (JAX, no TensorFlow, no network) in runs of
# under 10 minutes, resuming from the checkpoint brought back from the last run.
#
# On the GPU machine, from the repository root, with .accel/ carried
# (tools/accel_prepare.py builds it) and $OUT the folder that comes back:
#
#   TRAIN_SECONDS=420 bash tools/accel_train.sh [extra train_from_scratch flags]
#
# Between runs, on the development machine, put what came back into
# .accel/state/ (it replaces the previous state):
#
#   rm -rf .accel/state && mkdir -p .accel/state && cp <files_at>/* .accel/state/
#
# What it does: installs the carried wheels whose module does not import, puts
# .accel/state/ back into a train_dir (rejoining the checkpoint, which is
# split into 15 MB parts because files coming back are at most 16 MB each),
# trains under KERAS_BACKEND=jax until TRAIN_SECONDS (then SIGINT: train()
# saves a checkpoint and stops), and writes to $OUT at most 8 files: the
# checkpoint parts, config.json, metrics.jsonl, the newest style grid, the
# XLA compilation cache (tar) and, once train_steps are done, the model.
set -uo pipefail
cd "$(dirname "$0")/.."
ACCEL=${ACCEL:-.accel}
OUT=${OUT:?set OUT to the folder that comes back}
TRAIN_SECONDS=${TRAIN_SECONDS:-420}
RUN=${RUN_DIR:-/tmp/accel_run}
PYTHON=${PYTHON:-python3}
mkdir -p "$RUN" "$OUT"

# 1. Wheels the machine lacks, PYTHONPATH and KERAS_BACKEND=jax.
. tools/accel_env.sh

# 2. The previous run's state.
STATE="$ACCEL/state"
if ls "$STATE"/ckpt-*.npz.part-* >/dev/null 2>&1; then
  CKPT=$(ls "$STATE"/ckpt-*.npz.part-* | head -1 | sed 's/\.part-.*//')
  cat "$CKPT".part-* > "$RUN/$(basename "$CKPT")"
fi
for f in config.json metrics.jsonl; do
  [ -f "$STATE/$f" ] && cp "$STATE/$f" "$RUN/$f"
done
[ -f "$STATE/jax_cache.tar" ] && tar -xf "$STATE/jax_cache.tar" -C "$RUN"

# 3. Train until the time is up (SIGINT -> checkpoint -> exit).
timeout -s INT -k 90 "$TRAIN_SECONDS" "$PYTHON" bin/train_from_scratch \
  --train_dir="$RUN" --style_images="$ACCEL/styles/*.jpg" --content_images="$ACCEL/photos" \
  --vgg_weights="$ACCEL/vgg16_blocks1-4_fp16.h5" --style_image_size=256 \
  --save_every=200 --log_every=20 --grid_every=500 "$@"
echo "train_from_scratch exited with $? (124/130: stopped by the time limit)"

# 4. What comes back (at most 8 files of at most 16 MB).
LATEST=$(ls "$RUN"/ckpt-*.npz 2>/dev/null | sort -V | tail -1)
if [ -n "$LATEST" ]; then
  split -b 15M -d "$LATEST" "$OUT/$(basename "$LATEST").part-"
fi
for f in config.json metrics.jsonl; do [ -f "$RUN/$f" ] && cp "$RUN/$f" "$OUT/"; done
GRID=$(ls "$RUN"/grids/*.png 2>/dev/null | sort | tail -1)
[ -n "$GRID" ] && cp "$GRID" "$OUT/grid.png"
if [ -f "$RUN/model/model.weights.h5" ]; then
  cp "$RUN/model/model.weights.h5" "$OUT/model.weights.h5"
  cp "$RUN/model/config.json" "$OUT/model_config.json"
elif [ -d "$RUN/jax_cache" ]; then
  tar -cf "$OUT/jax_cache.tar" -C "$RUN" jax_cache
  [ "$(stat -c %s "$OUT/jax_cache.tar")" -gt 16000000 ] && rm "$OUT/jax_cache.tar"
fi
ls -la "$OUT"
tail -1 "$RUN/metrics.jsonl" 2>/dev/null | cut -c 1-300
