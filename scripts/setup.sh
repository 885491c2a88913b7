#!/usr/bin/env bash
# Set up .venv with everything the course needs (idempotent: a second run with unchanged
# requirements returns at once). Where there is no NVIDIA GPU, the CPU build of torch is
# installed first, so that requirements.txt does not pull a CUDA build of several GB.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt pyproject.toml grader/pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && .venv/bin/python -c 'import lenet_ref, torch' 2>/dev/null; then
  exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "setup: NVIDIA GPU found; requirements.txt brings a CUDA build of torch" >&2
  else
    # On the course machines this wheel (CPU build) lies on the local disk. Elsewhere pip
    # takes it from PyPI; for a smaller CPU-only build there, first run:
    #   .venv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
    echo "setup: no GPU found; installing torch 2.13.0 (CPU)" >&2
    .venv/bin/python -m pip install --quiet torch==2.13.0
  fi
fi
.venv/bin/python -m pip install --quiet -r requirements.txt
.venv/bin/python -m pip check
echo "$want" > "$stamp"
