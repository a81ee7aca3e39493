#!/usr/bin/env bash
# The 1B recipe's data for the GPU bench, prepared here (2 cores: ~2 min) so the device
# spends no minutes on it: 64k-vocabulary tokenizer trained on 2e7 characters, 20k
# documents per language, ~1.7k train rows of 4096 tokens (~21 MB; the overrides are
# GPU_DATA_OVERRIDES in bench/_gpu_variants.py, which the bench applies too). Writes
# .gpu-data/finance-1b (git-ignored), which `run` carries.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PYTHONPATH=$PWD/src:${PYTHONPATH:-} $PY bench/gpu_throughput.py --prepare-only \
    --data .gpu-data/finance-1b --out .gpu-data/prepare-log
du -sh .gpu-data/finance-1b
