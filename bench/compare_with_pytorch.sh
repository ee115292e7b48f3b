#!/bin/bash
# Ours, then the issues' PyTorch references, one pair at a time, so each pair
# shares the machine's load (run by hand; not a test). Needs torch in another
# environment (it is not a dependency):
#
#   python -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch
#   TORCH_PYTHON=/tmp/torchenv/bin/python bash bench/compare_with_pytorch.sh [stylize] [optimize] [train]
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=3
PY=${PYTHON:-.venv/bin/python}
TORCH=${TORCH_PYTHON:-/tmp/torchenv/bin/python}
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(stylize optimize train)
quiet() { grep -v "^WARNING\|^I0000\|^W0000\|Warn\|^W11" || true; }

echo "== $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD), load $(cut -d' ' -f1-3 /proc/loadavg)"
for part in "${parts[@]}"; do
  case $part in
    stylize)
      $PY bench/stylize.py --sizes=512,1024 --modes=xla --no-tiled 2>&1 | quiet
      $TORCH bench/reference_pytorch.py --parts=stylize --compile --repeats=3 2>&1 | quiet ;;
    optimize)
      $PY bench/optimize.py --out_dir="${TMPDIR:-/tmp}/compare_optimize" --sizes=256,512 \
        --layer_sets=tutorial --budget=0 --timing_iterations=5 --warmup_iterations=100 \
        --nojit_compare --novgg19 2>&1 | quiet
      $TORCH bench/reference_pytorch.py --parts=lbfgs --formats=nchw --lbfgs_warmup_steps=5 \
        --repeats=5 2>&1 | quiet ;;
    train)
      $PY bench/train.py --batch_sizes=4 --modes=xla --steps=3 --no_pipeline 2>&1 | quiet
      $TORCH bench/reference_pytorch.py --parts=train --repeats=3 2>&1 | quiet ;;
    *) echo "unknown part '$part': choose from stylize, optimize, train" >&2; exit 2 ;;
  esac
  echo "== $part done, $(date -u +%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
done
