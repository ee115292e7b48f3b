#!/usr/bin/env bash
# Measures training speed on a borrowed GPU machine in one call of the device
# tool: tools/accel_train_jax.py (the step alone: fp32, mixed precision, and the
# CPU-tuned convolution forms for comparison; the input feed alone),
# tools/accel_loop_overhead.py (the loop's own host time per step), then the real training loop
# (tools/accel_train.sh: NumPy input pipeline, logging, checkpointing) for the
# time that is left. From the repository root, with .accel/ carried:
#
#   OUT=$OUT TOTAL_SECONDS=470 BENCH_SECONDS=200 bash tools/accel_measure.sh
#
# BENCH_ARGS: more tools/accel_train_jax.py flags (they override the ones here).
# BENCH_SECONDS: no bench variant starts after this many seconds. The
# training run gets TOTAL_SECONDS minus what the bench used (at least 60 s).
# $OUT gets bench.log and train_jax.json besides accel_train.sh's files
# (8 files at most come back).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT to the folder that comes back}
TOTAL_SECONDS=${TOTAL_SECONDS:-470}
BENCH_SECONDS=${BENCH_SECONDS:-200}
START=$(date +%s)
mkdir -p "$OUT"
. tools/accel_env.sh
export PYTHONUNBUFFERED=1
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  "$PYTHON" -c "import jax, keras; print('jax', jax.__version__, 'keras', keras.__version__)"
  "$PYTHON" tools/accel_train_jax.py --vgg_weights="$ACCEL/vgg16_blocks1-4_fp16.h5" \
    --styles="$ACCEL/styles/*.jpg" --photos="$ACCEL/photos" --batch_size=16 \
    --variants=fp32,mixed,fp32-cpu-forms --steps=50 --deadline_s="$BENCH_SECONDS" \
    --json="$OUT/train_jax.json" ${BENCH_ARGS:-}
  "$PYTHON" tools/accel_loop_overhead.py --steps=2000
} 2>&1 | grep -v -i "warning" | tee "$OUT/bench.log"
LEFT=$(( TOTAL_SECONDS - ($(date +%s) - START) ))
[ "$LEFT" -lt 60 ] && LEFT=60
echo "training for $LEFT s"
TRAIN_SECONDS=$LEFT bash tools/accel_train.sh --train_steps=40000 --batch_size=16 "$@" 2>&1 \
  | tr '\r' '\n' | grep -v -i "warning" | awk 'NR % 50 == 1 || !/%\|/'
