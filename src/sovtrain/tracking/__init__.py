"""Experiment tracking (MLflow): run lifecycle, queued sending, outage backlog and replay.

MLflow is imported only inside this package (one door). What training needs of a tracker
is the `Tracker` Protocol (`protocol.py`); `FanOutTracker` sends it to several sinks. Runs
touched outside training (scheduled for a Slurm job, read for a model card or `slurm
status`, extended by eval) are in `runs.py`, the model registry in `model_registry.py`.
"""

from sovtrain.tracking.backlog import spool_dir
from sovtrain.tracking.mlflow_run import (
    MlflowTracker,
    NullTracker,
    default_tracking_uri,
    flatten,
    run_tracking_uri,
)
from sovtrain.tracking.protocol import FanOutTracker, Tracker
from sovtrain.tracking.system_metrics import SystemMetricsTracker, node_id

__all__ = [
    "FanOutTracker",
    "MlflowTracker",
    "NullTracker",
    "SystemMetricsTracker",
    "Tracker",
    "default_tracking_uri",
    "flatten",
    "node_id",
    "run_tracking_uri",
    "spool_dir",
]
