"""MLflow's system metrics (GPU utilisation, memory, power; CPU, disk, network) for a run.

Why a tracker: system metrics are per host, not per rank, so they come from the first local
rank of each host, including hosts whose ranks otherwise track nothing (a `NullTracker`).
As a `Tracker` (every call a no-op but `flush`/`finish`) the session adds it to the
`FanOutTracker` it already has, and its `finish` stops the sampling thread with the run.
MLflow's own `SystemMetricsMonitor` samples and logs (`system/<node id>/gpu_0_...`); the
node id (`SLURMD_NODENAME`, else the host name; `MLFLOW_SYSTEM_METRICS_NODE_ID` wins, as
MLflow reads it) keeps two hosts' `gpu_0` apart. These records go straight to MLflow, not
through the queued sender: losing a sample while the server is away costs nothing.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from sovtrain.tracking.mlflow_run import NullTracker

log = logging.getLogger(__name__)


def node_id() -> str:
    """This host's name in the metric keys: Slurm's node name, else the host name."""
    return os.environ.get("SLURMD_NODENAME") or socket.gethostname().split(".")[0]


class SystemMetricsTracker(NullTracker):
    """MLflow's system metrics monitor for run `run_id`, sampling from `start` to `finish`;
    every other call is the `NullTracker`'s no-op."""

    run_id: str | None = None  # never the primary tracker: the MLflow run's id comes first

    def __init__(self, monitor: Any) -> None:
        self.monitor = monitor

    @classmethod
    def start(cls, tracking_uri: str, run_id: str, node: str) -> SystemMetricsTracker | None:
        """Sampling for this host, or None (one warning) if MLflow cannot start it: system
        metrics are an aid, a failure here must not stop training."""
        try:
            from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

            monitor = SystemMetricsMonitor(
                run_id, node_id=node, tracking_uri=tracking_uri, resume_logging=True
            )
            monitor.start()
        except Exception as err:
            log.warning("MLflow system metrics not started on %s: %s", node, err)
            return None
        log.info("MLflow system metrics on (node id %s)", monitor.node_id)
        return cls(monitor)

    def finish(self, status: str = "FINISHED") -> None:
        """Stop sampling (the thread waits at most one sampling interval) and flush."""
        try:
            self.monitor.finish()
        except Exception as err:  # never raises: the run's outcome is decided elsewhere
            log.warning("stopping MLflow system metrics failed: %s", err)
