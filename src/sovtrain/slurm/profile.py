"""Cluster profiles (`slurm/clusters/*.yaml`): where a job runs and how to start it there.

A profile is written by the site's operators, but everything in it still ends up in a shell
script, so every field is validated to a narrow shape here and quoted again when rendered.
No field is raw shell: environment setup is structured (modules, venv, container, variables).

The residency part of a profile (name, region, file systems) is governance's `ComputeSite`,
which `ClusterProfile` extends: admission reads only that part, the scheduler all of it.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sovtrain.governance.sites import ComputeSite, load_profile

# Conservative shapes for values that reach #SBATCH lines and commands.
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
_PLAIN = re.compile(r"^[A-Za-z0-9_./@+-]+$")  # rendered into the script: no $, ~ or globs
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
_TIME = re.compile(r"^(\d+-)?\d{1,2}:\d{2}:\d{2}$")
_MODULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+/-]{0,127}$")


def check_word(value: str, what: str = "value") -> str:
    if not _WORD.match(value):
        raise ValueError(f"{what} {value!r}: letters, digits, '.', '_', '+', '-' only")
    return value


def check_time(value: str) -> str:
    if not _TIME.match(value):
        raise ValueError(f"{value!r}: expected HH:MM:SS or D-HH:MM:SS")
    return value


def time_seconds(value: str) -> int:
    days, _, clock = value.rpartition("-")
    hours, minutes, seconds = (int(x) for x in clock.split(":"))
    return (int(days or 0) * 24 + hours) * 3600 + minutes * 60 + seconds


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Container(_Strict):
    runtime: Literal["apptainer", "singularity"] = "apptainer"
    image: str = Field(description="Image file on the shared file system (.sif).")
    binds: list[str] = Field(default_factory=list, description="host[:container] paths")

    @field_validator("image")
    @classmethod
    def _image_path(cls, value: str) -> str:
        if not _PLAIN.match(value):
            raise ValueError(f"{value!r}: not a plain path")
        return value

    @field_validator("binds")
    @classmethod
    def _bind_paths(cls, values: list[str]) -> list[str]:
        for value in values:
            if not all(_PLAIN.match(part) for part in value.split(":")):
                raise ValueError(f"{value!r}: expected host[:container] plain paths")
        return values


class Environment(_Strict):
    modules: list[str] = Field(default_factory=list, description="`module load` these, in order")
    venv: str | None = Field(
        None, description="Python venv to activate (relative: to the submit directory)."
    )
    container: Container | None = None
    variables: dict[str, str] = Field(
        default_factory=dict, description="Exported as is (quoted), e.g. NCCL_IB_HCA: mlx5"
    )

    @field_validator("modules")
    @classmethod
    def _module_names(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _MODULE.match(value):
                raise ValueError(f"module {value!r}: not a module name")
        return values

    @field_validator("venv")
    @classmethod
    def _venv_path(cls, value: str | None) -> str | None:
        if value is not None and not _PLAIN.match(value):
            raise ValueError(f"{value!r}: not a plain path")
        return value

    @field_validator("variables")
    @classmethod
    def _variable_names(cls, values: dict[str, str]) -> dict[str, str]:
        for name, value in values.items():
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r}: environment names are A-Z, 0-9 and _")
            if "\n" in str(value) or "\0" in str(value):
                raise ValueError(f"{name}: value must be a single line")
        return {k: str(v) for k, v in values.items()}


class ClusterProfile(ComputeSite):
    """One compute site: its residency facts (`ComputeSite`: name, region, filesystems)
    and how jobs start there. Every key is known: unknown ones are refused."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    scheduler: Literal["slurm", "none"] = Field(
        "slurm", description="none: a single machine (local runs; no sbatch)."
    )
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    max_nodes: int = Field(1, ge=1)
    gpus_per_node: int = Field(0, ge=0, le=16)
    gpu_type: str | None = Field(None, description="Peak-FLOPS table key: h100, h800, h20 ...")
    gpu_power_w: float | None = Field(
        None, gt=0.0, le=2000.0, description="Board power per GPU here (W); None: the TDP."
    )
    cpus_per_node: int = Field(1, ge=1)
    mem_per_node_gb: int | None = Field(None, ge=1, description="None: all of the node's.")
    time_limit: str = Field("24:00:00", description="Default wall time, HH:MM:SS or D-HH:MM:SS")
    signal_grace_s: int = Field(
        300, ge=10, description="USR1 this long before the limit: checkpoint, then requeue."
    )
    environment: Environment = Field(default_factory=Environment)
    log_dir: str = Field("slurm-logs", description="Job stdout/stderr (relative: submit dir).")

    # name and region are ComputeSite's, checked again here: they reach #SBATCH lines
    _words = field_validator("name", "region", "partition", "account", "qos", "gpu_type")(
        lambda cls, v: v if v is None else check_word(v)
    )
    _time = field_validator("time_limit")(lambda cls, v: check_time(v))

    @field_validator("log_dir")
    @classmethod
    def _log_path(cls, value: str) -> str:
        if not _PLAIN.match(value):
            raise ValueError(f"{value!r}: not a plain path")
        return value

    @model_validator(mode="after")
    def _slurm_needs_partition(self) -> ClusterProfile:
        if self.scheduler == "slurm" and self.partition is None:
            raise ValueError("a slurm profile needs a partition")
        if self.gpus_per_node and self.gpu_type is None:
            raise ValueError("gpus_per_node needs gpu_type (it sets peak FLOPS for MFU)")
        return self

    @property
    def tasks_per_node(self) -> int:
        """One task per GPU; one per node on CPU-only sites."""
        return self.gpus_per_node or 1

    @property
    def cpus_per_task(self) -> int:
        return max(1, self.cpus_per_node // self.tasks_per_node)


def load_cluster(name_or_path: str) -> ClusterProfile:
    """The whole profile `name_or_path` names (slurm/clusters/NAME.yaml or a path)."""
    return load_profile(name_or_path, ClusterProfile)
