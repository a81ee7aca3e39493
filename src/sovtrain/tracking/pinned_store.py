"""The run directory's own MLflow store (sqlite + artifacts), kept in the admitted place.

Why: with no `tracking.uri` a run keeps its MLflow store inside its run directory, and MLflow
opens that store by path. A run directory swapped for a symlink after admission would send
artifacts (checkpoint manifests, reports) and database pages wherever the link points.

- Artifacts are copied under `/proc/self/fd/N` of the directory the guard approved, the
  same way checkpoints are staged: race-free. What the store records (experiment and run
  artifact locations) stays the real path, so `mlflow ui` on that directory finds everything.
- SQLite resolves links itself when it opens a file, so the database cannot be pinned the
  same way. It fails closed on an open connection (a moved file is read-only to it), and
  before every batch the sender checks that the path is still the pinned directory: if not,
  nothing more is sent (a new connection would open the file at the link's target) and every
  record is kept in the run's backlog, which is pinned. A swap landing between that check and
  a new connection is the one window left; the checkpoint guard stops the run at its next save.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.tracking import MlflowClient

from sovtrain.tracking.records import StoreMoved


class PinnedStoreClient(MlflowClient):
    """An MlflowClient for the embedded store in `real_dir`, which is held open at `pinned`."""

    def __init__(self, tracking_uri: str, real_dir: str, pinned: Path) -> None:
        super().__init__(tracking_uri=tracking_uri)
        self.real_dir, self.pinned = real_dir.rstrip("/"), pinned
        self._artifact_roots: dict[str, str | None] = {}

    def check_in_place(self) -> None:
        """Raise StoreMoved unless the run directory's path still names the pinned one."""
        held = os.stat(self.pinned)
        try:
            now = os.stat(self.real_dir)
            same = (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)
        except OSError:
            same = False
        if not same:
            raise StoreMoved(
                f"{self.real_dir} is no longer the run directory admitted for this run (moved "
                "or swapped for a link), so its MLflow store is not written"
            )

    def through_pin(self, uri: str) -> str | None:
        """`uri` (a path or file: URI) rewritten under the descriptor; None if it is not
        inside the run directory."""
        parts = urlsplit(uri)
        path = parts.path if parts.scheme in ("", "file") else None
        if path is None or not (path == self.real_dir or path.startswith(self.real_dir + "/")):
            return None
        return f"{self.pinned}{path[len(self.real_dir) :]}"

    def log_artifact(
        self, run_id: str, local_path: str, artifact_path: str | None = None, **kwargs: Any
    ) -> None:
        """Copy into the run's artifact directory through the pin (log_text comes here too)."""
        if run_id not in self._artifact_roots:
            self._artifact_roots[run_id] = self.through_pin(self.get_run(run_id).info.artifact_uri)
        root = self._artifact_roots[run_id]
        if root is None:  # artifacts stored elsewhere (an experiment made outside this run)
            super().log_artifact(run_id, local_path, artifact_path, **kwargs)
            return
        get_artifact_repository(root).log_artifact(local_path, artifact_path)
