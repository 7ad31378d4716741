#!/usr/bin/env bash
# Set up .venv with pixelcnn and its test tools. PyTorch is installed as the
# pinned CPU build (torch==2.13.0) only where no torch is importable yet, so an
# existing CUDA build is kept and no multi-GB download happens by accident.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    .venv/bin/python -m pip install --quiet "torch==2.13.0"
fi
.venv/bin/python -m pip install --quiet -e ".[test]"
