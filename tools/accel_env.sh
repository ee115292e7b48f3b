# Sourced by tools/accel_*.sh on the GPU machine, from the repository root:
# installs the carried wheels (.accel/wheels) whose module does not import,
# puts them and the repository on PYTHONPATH and selects Keras's JAX backend.
ACCEL=${ACCEL:-.accel}
PYTHON=${PYTHON:-python3}
MISSING=$("$PYTHON" - "$ACCEL/wheels" <<'PY'
import glob, importlib.util, os, sys
names = {"keras": "keras", "absl_py": "absl", "namex": "namex", "optree": "optree",
         "ml_dtypes": "ml_dtypes", "h5py": "h5py", "rich": "rich", "pygments": "pygments",
         "markdown_it_py": "markdown_it", "mdurl": "mdurl", "packaging": "packaging",
         "tqdm": "tqdm", "pillow": "PIL"}
for wheel in sorted(glob.glob(os.path.join(sys.argv[1], "*.whl"))):
    module = names.get(os.path.basename(wheel).split("-")[0].lower())
    if module and importlib.util.find_spec(module) is None:
        print(wheel)
PY
)
if [ -n "$MISSING" ]; then
  "$PYTHON" -m pip install --quiet --no-index --no-deps --target /tmp/accel_pydeps $MISSING
fi
export PYTHONPATH="/tmp/accel_pydeps:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export KERAS_BACKEND=jax

