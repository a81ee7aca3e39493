#!/usr/bin/env bash
# The GPU bench on a lent device (one H200), as one `run` command: bash bench/gpu_device.sh
# carry: [".gpu-wheels", ".gpu-data"] (bench/gpu_wheels.sh, bench/prepare_gpu_data.sh).
# Offline install into the Python that has CUDA torch + transformers (~1 min), then the
# bench under a hard time budget (a `run` may last 600 s); table + JSON + logs in $OUT.
set -uo pipefail
OUT=${OUT:-runs/bench-gpu}
PY=${PY:-python3}
BUDGET_S=${BUDGET_S:-450}
STEPS=${STEPS:-10}
W=.gpu-wheels
mkdir -p "$OUT"
exec > >(tee "$OUT/device.log") 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
$PY -c "import torch, transformers; print(torch.__version__, torch.version.cuda, transformers.__version__)"
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1
pip=($PY -m pip install -q --no-index --find-links "$W")
"${pip[@]}" setuptools wheel
"${pip[@]}" --no-build-isolation deepspeed==0.19.8 || exit 3
"${pip[@]}" torchao==0.18.0 accelerate==1.15.0 nvidia-ml-py rich pydantic
"${pip[@]}" liger-kernel==0.8.5 || echo "liger-kernel not installed (its triton comes with CUDA torch)"
"${pip[@]}" --no-build-isolation --no-deps -e . || echo "editable install failed: PYTHONPATH=src"
export PYTHONPATH=$PWD/src
for m in deepspeed torchao liger_kernel accelerate sovtrain; do $PY -c "import $m" || echo "no $m"; done
timeout $((BUDGET_S + 60)) $PY bench/gpu_throughput.py --out "$OUT" --data .gpu-data/finance-1b \
    --steps "$STEPS" --warmup 2 --global-batch 32 --budget-s "$BUDGET_S" ${EXTRA:-}
echo "bench exit $?"
