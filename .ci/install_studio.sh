#!/usr/bin/env bash
# What the style studio's tests need, installed idempotently (safe to rerun):
# - Debian's Chromium (+ chromedriver) for tests/studio/test_browser.py. We
#   never run `playwright install`: it downloads its own browser build, which
#   this network does not allow; the tests launch /usr/bin/chromium.
# - the `studio` extra (Starlette + uvicorn) and Playwright's Python client,
#   into the Python on PATH (CI's activated .venv), or $PYTHON.
set -euo pipefail
PYTHON="${PYTHON:-python3}"

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi

"$PYTHON" -m pip install -q "starlette>=0.36" "uvicorn>=0.27" "playwright>=1.40"
chromium --version
