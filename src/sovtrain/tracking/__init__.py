"""Experiment tracking (MLflow): run lifecycle, queued sending, outage backlog and replay.

MLflow is imported only inside this package (one door).
"""

from sovtrain.tracking.backlog import spool_dir
from sovtrain.tracking.mlflow_run import (
    MlflowTracker,
    NullTracker,
    default_tracking_uri,
    flatten,
    run_tracking_uri,
)

__all__ = [
    "MlflowTracker",
    "NullTracker",
    "default_tracking_uri",
    "flatten",
    "run_tracking_uri",
    "spool_dir",
]
