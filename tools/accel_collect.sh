#!/usr/bin/env bash
# Right after a training call on the GPU machine: keeps what came back and
# commits the model, so that no trained model is ever lost with the lease.
#
#   bash tools/accel_collect.sh <files_at> <run name>    (e.g. h200-2026-11-26-run1)
#
# - the model so far (model.tar) -> $MODEL_DIR (default checkpoints/varied/:
#   model.weights.h5, config.json with the steps done and the last logged
#   losses; a new model folder gets varied's NOTICE, the same style images),
#   committed;
# - the run's losses (not the per-style series, which are MBs) ->
#   docs/varied/metrics-<run>.jsonl.gz, its grid and curve -> docs/varied/,
#   committed with it;
# - the checkpoint with Adam's state, config.json and the XLA cache ->
#   .accel/state/ for the next run (git-ignored; 21.5 MB at alpha 1);
# - everything as it came -> .accel/runs/<run>/.
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${1:?the folder the device call returned (files_at)}
NAME=${2:?a name for this run}
MODEL_DIR=${MODEL_DIR:-checkpoints/varied}
DOCS=${DOCS:-docs/varied}
PYTHON=${PYTHON:-.venv/bin/python}

mkdir -p ".accel/runs/$NAME" "$MODEL_DIR" "$DOCS"
cp "$FILES"/* ".accel/runs/$NAME/"
if [ ! -f "$FILES/model.tar" ]; then
  echo "No model.tar came back: nothing to commit." >&2
  exit 1
fi
TMP=$(mktemp -d)
tar -xf "$FILES/model.tar" -C "$TMP"
cp "$TMP/model/model.weights.h5" "$MODEL_DIR/model.weights.h5.tmp"
cp "$TMP/model/config.json" "$MODEL_DIR/config.json.tmp"
mv "$MODEL_DIR/model.weights.h5.tmp" "$MODEL_DIR/model.weights.h5"
mv "$MODEL_DIR/config.json.tmp" "$MODEL_DIR/config.json"
# A new model folder (varied-small): varied's NOTICE (same photos, styles,
# recipe) under a first paragraph that names this model and its widths.
[ -f "$MODEL_DIR/NOTICE" ] || "$PYTHON" - "$MODEL_DIR" <<'PY'
import json, os, sys
folder = sys.argv[1]
arch = json.load(open(os.path.join(folder, "config.json")))["architecture"]
widths = [int(arch["alpha"] * w) for w in arch["contract_widths"]]
head = (f"{os.path.basename(os.path.normpath(folder))}: the project's own "
        f"{arch['num_styles']}-style pastiche generator (Magenta's image_stylization\n"
        f"architecture at width multiplier alpha {arch['alpha']}: widths {tuple(widths)}, "
        f"{arch['num_residual_blocks']} residual blocks).\n")
from magenta_style.model import transformer
from magenta_style.storage import model_format
tables = transformer.style_tables(model_format.load_model(folder))
per_style = sum(2 * int(t.gamma.shape[-1]) for t in tables)  # gamma and beta
body = open("checkpoints/varied/NOTICE").read().split("\n\n", 1)[1]
body = body.replace("holds only 3,206 normalisation", f"holds only {per_style:,} normalisation")
with open(os.path.join(folder, "NOTICE.tmp"), "w") as f:
    f.write(head + "\n" + body)
os.replace(os.path.join(folder, "NOTICE.tmp"), os.path.join(folder, "NOTICE"))
PY
rm -rf "$TMP"
STEP=$("$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['provenance']['steps'])" \
  "$MODEL_DIR/config.json")
if [ -f "$FILES/metrics.jsonl.gz" ]; then
  "$PYTHON" - "$FILES/metrics.jsonl.gz" "$DOCS/metrics-$NAME.jsonl.gz" <<'PY'
import gzip, json, sys
with gzip.open(sys.argv[1], "rt") as f, gzip.open(sys.argv[2], "wt") as out:
    for line in f:
        r = json.loads(line)
        out.write(json.dumps({k: v for k, v in r.items() if not k.startswith("styles/")}) + "\n")
PY
fi
[ -f "$FILES/loss_curve.png" ] && cp "$FILES/loss_curve.png" "$DOCS/loss_curve-$NAME.png"
[ -f "$FILES/grid.png" ] && "$PYTHON" -c "from PIL import Image; import sys; \
Image.open(sys.argv[1]).convert('RGB').save(sys.argv[2], quality=85)" "$FILES/grid.png" \
  "$DOCS/grid-$NAME.jpg"
git add "$MODEL_DIR" "$DOCS"
git commit -q -m "$(basename "$MODEL_DIR"): the model after $NAME (step $STEP), its losses, curve and grid"
echo "committed $MODEL_DIR at step $STEP"

if ls "$FILES"/ckpt-*.npz.part-* >/dev/null 2>&1; then
  rm -rf .accel/state && mkdir -p .accel/state
  cp "$FILES"/ckpt-*.npz.part-* "$FILES/config.json" .accel/state/
  [ -f "$FILES/jax_cache.tar" ] && cp "$FILES/jax_cache.tar" .accel/state/
  du -sh .accel/state
fi
