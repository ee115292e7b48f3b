#!/usr/bin/env bash
# Trains on a borrowed GPU machine (JAX, no TensorFlow, no network) in runs of
# under 10 minutes, resuming from the checkpoint brought back from the last run.
#
# On the GPU machine, from the repository root, with .accel/ carried
# (tools/accel_prepare.py builds it) and $OUT the folder that comes back:
#
#   TRAIN_SECONDS=420 bash tools/accel_train.sh [extra train_from_scratch flags]
#   SEED_MODEL=checkpoints/varied ... (no checkpoint carried: continue that model)
#   TRAINER=distill ... [extra bin/distill flags] (a student learns a teacher;
#     no VGG-16 or style images needed)
#
# Between runs, on the development machine, put the checkpoint, config and
# XLA cache that came back into .accel/state/ (it replaces the previous
# state) and keep the rest (metrics, curve, grid) outside what is carried:
#
#   rm -rf .accel/state && mkdir -p .accel/state
#   cp <files_at>/ckpt-* <files_at>/config.json <files_at>/jax_cache.tar .accel/state/
#   mkdir -p .accel/runs/<run> && cp <files_at>/* .accel/runs/<run>/
#
# tools/accel_collect.sh does this and commits the model (see BUILD.md).
#
# What it does: installs the carried wheels whose module does not import, puts
# .accel/state/ back into a train_dir (rejoining the checkpoint, which is
# split into 15 MB parts because files coming back are at most 16 MB each),
# trains under KERAS_BACKEND=jax until TRAIN_SECONDS (then SIGINT: train()
# saves a checkpoint and stops), and writes to $OUT at most 8 files: the
# checkpoint parts, config.json, this run's metrics.jsonl.gz and
# loss_curve.png, the newest style grid, the model so far (model.tar: weights
# and config.json) and the XLA compilation cache (tar, if under 16 MB).
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

# 2. The previous run's state, unless this (still warm) machine holds it:
# its train dir then has the same or a newer checkpoint.
STATE="$ACCEL/state"
if ls "$STATE"/ckpt-*.npz.part-* >/dev/null 2>&1; then
  CKPT=$(ls "$STATE"/ckpt-*.npz.part-* | head -1 | sed 's/\.part-.*//')
  [ -f "$RUN/$(basename "$CKPT")" ] || cat "$CKPT".part-* > "$RUN/$(basename "$CKPT")"
  [ -f "$RUN/config.json" ] || cp "$STATE/config.json" "$RUN/config.json"
fi
[ -f "$STATE/jax_cache.tar" ] && [ ! -d "$RUN/jax_cache" ] && tar -xf "$STATE/jax_cache.tar" -C "$RUN"
# SEED_MODEL=checkpoints/varied: with no checkpoint carried or left here,
# continue the committed model (its weights and step, a fresh Adam state;
# training.seed_train_dir). It travels with the working tree, so the 21.5 MB
# checkpoint need not be carried (the carry limit is 64 MiB with the tree).
if [ -n "${SEED_MODEL:-}" ] && ! ls "$RUN"/ckpt-*.npz >/dev/null 2>&1; then
  "$PYTHON" - "$RUN" "$SEED_MODEL" <<'PY' || exit 3
import sys
from magenta_style.storage import model_format
from magenta_style.training import run_dir
ckpt = run_dir.seed_train_dir(sys.argv[1], model_format.load_model(sys.argv[2]))
print(f"seeded {ckpt} from {sys.argv[2]} (fresh Adam state)")
PY
fi
echo "resuming from: $(ls "$RUN"/ckpt-*.npz 2>/dev/null | sort -V | tail -1)"
# REQUIRE_RESUME=1: a run meant to continue must not silently start afresh
# (a machine given back between calls comes back bare).
if [ -n "${REQUIRE_RESUME:-}" ] && ! ls "$RUN"/ckpt-*.npz >/dev/null 2>&1; then
  echo "REQUIRE_RESUME is set but there is no checkpoint to resume from." >&2
  exit 3
fi

# 3. Train until the time is up (SIGINT -> checkpoint -> exit). On the H200 a
# 20-step window took 0.53 s, 0.64 s with a checkpoint and about 2 s with a
# 36-style grid (10 s for a run's first, which compiles): grids every 500
# steps cost 11% of the time, every 2,500 about 2%.
TRAINER=${TRAINER:-train_from_scratch}
case "$TRAINER" in
  train_from_scratch)
    ARGS=(--style_images="$ACCEL/styles/*.jpg" --vgg_weights="$ACCEL/vgg16_blocks1-4_fp16.h5"
          --style_image_size=256 --grid_every=2500) ;;
  distill) ARGS=() ;;
  *) echo "TRAINER must be train_from_scratch or distill. Received: $TRAINER" >&2; exit 2 ;;
esac
timeout -s INT -k 90 "$TRAIN_SECONDS" "$PYTHON" "bin/$TRAINER" \
  --train_dir="$RUN" --content_images="$ACCEL/photos" --save_every=500 --log_every=20 \
  "${ARGS[@]}" "$@"
echo "$TRAINER exited with $? (124/130: stopped by the time limit)"

# 4. What comes back (at most 8 files of at most 16 MB).
LATEST=$(ls "$RUN"/ckpt-*.npz 2>/dev/null | sort -V | tail -1)
if [ -n "$LATEST" ]; then
  split -b 15M -d "$LATEST" "$OUT/$(basename "$LATEST").part-"
fi
[ -f "$RUN/config.json" ] && cp "$RUN/config.json" "$OUT/"
# Gzipped: with 36 styles metrics.jsonl grows by ~1.6 MB per 1,000 steps
# (a file over 16 MB would not come back); gzip makes it 6x smaller.
[ -f "$RUN/metrics.jsonl" ] && gzip -c "$RUN/metrics.jsonl" > "$OUT/metrics.jsonl.gz"
[ -f "$RUN/loss_curve.png" ] && cp "$RUN/loss_curve.png" "$OUT/"
GRID=$(ls "$RUN"/grids/*.png 2>/dev/null | sort | tail -1)
[ -n "$GRID" ] && cp "$GRID" "$OUT/grid.png"
# The model so far (train() writes it on a timed stop too): always back,
# so every run that trained can be committed.
[ -f "$RUN/model/model.weights.h5" ] && tar -cf "$OUT/model.tar" -C "$RUN" model
if [ -d "$RUN/jax_cache" ]; then
  tar -cf "$OUT/jax_cache.tar" -C "$RUN" jax_cache
  [ "$(stat -c %s "$OUT/jax_cache.tar")" -gt 16000000 ] && rm "$OUT/jax_cache.tar"
fi
# The device tool brings back at most 8 files: should the caller have put its
# own files in $OUT too, drop the least needed first so the model and the
# checkpoint always come back.
for EXTRA in jax_cache.tar grid.png loss_curve.png metrics.jsonl.gz; do
  [ "$(ls "$OUT" | wc -l)" -le 8 ] && break
  rm -f "$OUT/$EXTRA"
done
ls -la "$OUT"
tail -1 "$RUN/metrics.jsonl" 2>/dev/null | cut -c 1-300
