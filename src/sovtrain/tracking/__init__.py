"""Experiment tracking (MLflow): run lifecycle, async metrics, artifacts."""

from sovtrain.tracking.mlflow_run import (
    MlflowTracker,
    NullTracker,
    default_tracking_uri,
    flatten,
    run_tracking_uri,
)

__all__ = ["MlflowTracker", "NullTracker", "default_tracking_uri", "flatten", "run_tracking_uri"]
