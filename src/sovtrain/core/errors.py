"""Error types that map to the CLI's exit codes (0 ok, 2 bad input, 3 refused by policy,
4 diverged, 5 a rank stalled, 75 checkpointed on a signal).

Raising one of these means "the user can fix this": the CLI prints the message without a
traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class SovtrainError(Exception):
    """Base class: a problem the user can act on."""

    exit_code = 2


class RecipeError(SovtrainError):
    """A recipe file or override is malformed; the message names the file and field."""


class DataError(SovtrainError):
    """Prepared data is missing, stale or corrupt."""


class StorageError(SovtrainError, ValueError):
    """A URI the storage layer will not resolve (e.g. chained `a::b` URLs)."""


class CheckpointError(SovtrainError):
    """A checkpoint is missing, incomplete or fails verification."""


class HardwareError(SovtrainError):
    """The recipe asks for something this machine's devices cannot run (fp8 without fp8
    tensor cores, Triton kernels without a CUDA GPU); the message says which switch to
    change."""


class TrainingDiverged(SovtrainError):
    """The loss became NaN or infinite; training stopped before writing a bad checkpoint."""

    exit_code = 4


class PolicyRefused(SovtrainError):
    """A storage or compute action is not allowed by the residency policy."""

    exit_code = 3


class Preempted(SovtrainError):
    """A scheduler signal stopped training after a verified checkpoint: requeue to continue.

    Exit code 75 (EX_TEMPFAIL) is what the sbatch template requeues on.
    """

    exit_code = 75


class RankStalled(SovtrainError):
    """A rank made no progress for `train.collective_timeout_s`: the watchdog ended the job.

    Never raised (the main thread is stuck inside a collective, so the watchdog thread leaves
    with `os._exit`); it holds the exit code, 5, next to the others. Not 75: a stall is not a
    checkpoint, the job must end so that a resubmission resumes from the last verified one.
    """

    exit_code = 5
