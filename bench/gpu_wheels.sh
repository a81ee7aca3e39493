#!/usr/bin/env bash
# Wheels for bench/gpu_device.sh: what the bench needs beyond the device's torch (CUDA) and
# transformers, downloaded here (the device has no package registry) into .gpu-wheels/,
# which `run` carries (64 MiB with the data). The list is what a throwaway venv holding
# only torch 2.13.0 + transformers 5.23.0 lacked for the bench's import and run path:
# deepspeed (an sdist, built there with --no-build-isolation against the device's torch)
# and its deps, accelerate (HF Trainer), pydantic/rich (sovtrain), torchao (fp8),
# liger-kernel (its Triton comes with CUDA torch), nvidia-ml-py (energy), setuptools and
# wheel (the sdist and `pip install -e .` build offline). Assumes the device runs CPython
# 3.11 on x86_64 Linux, as here.
set -euo pipefail
cd "$(dirname "$0")/.."
W=.gpu-wheels
PY=${PY:-python3}
mkdir -p "$W"
$PY -m pip download -q -d "$W" --no-deps --no-binary deepspeed deepspeed==0.19.8
$PY -m pip download -q -d "$W" --no-deps --only-binary :all: \
    torchao==0.18.0 liger-kernel==0.8.5 accelerate==1.15.0 nvidia-ml-py \
    hjson msgpack ninja psutil py-cpuinfo einops \
    "pydantic>=2.10,<3" pydantic-core annotated-types typing-inspection \
    rich markdown-it-py mdurl pygments setuptools wheel
ls -l "$W"
du -sh "$W"
