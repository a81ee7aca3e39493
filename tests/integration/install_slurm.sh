#!/usr/bin/env bash
# Install the Debian Slurm + MUNGE packages the integration-test cluster needs.
# Idempotent: does nothing when slurmctld, slurmd and munged are already on PATH, so CI
# (or the Python fixture) can call it on every run. Needs root (apt-get) otherwise.
set -euo pipefail

export PATH="$PATH:/usr/sbin:/sbin"

missing=0
for bin in slurmctld slurmd munged sbatch srun scontrol sinfo squeue scancel; do
    command -v "$bin" >/dev/null 2>&1 || missing=1
done
if [ "$missing" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_slurm.sh: slurm-wlm/munge missing and not root; install them with apt" >&2
    exit 2
fi

export DEBIAN_FRONTEND=noninteractive
# The packages' maintainer scripts try to start services; in a container without an init
# system that fails the install, so forbid service starts for the duration (policy-rc.d).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    created_policy=1
fi
cleanup() { if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update -qq
apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
