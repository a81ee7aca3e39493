"""MLflow run lifecycle for rank 0; every call after start-up is queued, none blocks.

Tracking must never stall or kill training. The step loop (and every other caller) only
queues a record; one sender thread (`sender.py`) ships them in order, spills them to a
backlog file in the run directory while the server is away and replays them when it is
back; `finish()` waits a bounded time and returns. What is still unsent at exit stays in
the backlog for `sovtrain tracking sync RUN_DIR`. Other ranks get a `NullTracker` with the
same interface, so the loop has no `if rank == 0` around logging.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from sovtrain.tracking.backlog import BACKLOG, Backlog, hold_lock
from sovtrain.tracking.records import Record, max_step, metrics_record, snapshot
from sovtrain.tracking.run_start import bound_http_requests, open_run, seconds_from_env, within
from sovtrain.tracking.sender import Sender

log = logging.getLogger(__name__)

_MAX_PARAM_LEN = 6000


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """`{"train": {"lr": 1}}` -> `{"train.lr": "1"}`; lists become JSON; long values are cut."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            flat[name] = text[:_MAX_PARAM_LEN]
    return flat


class NullTracker:
    """What non-zero ranks (and `tracking.enabled: false`) get: every call does nothing."""

    run_id: str | None = None

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        pass

    def log_params(self, params: Mapping[str, Any]) -> None:
        pass

    def set_tags(self, tags: Mapping[str, str]) -> None:
        pass

    def log_text(self, text: str, artifact_path: str) -> None:
        pass

    def log_dict(self, data: Mapping[str, Any], artifact_path: str) -> None:
        pass

    def log_datasets(self, datasets: list[Mapping[str, Any]]) -> None:
        pass

    def log_file(self, path: Path, artifact_path: str | None = None) -> None:
        pass

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def finish(self, status: str = "FINISHED") -> None:
        pass


class MlflowTracker(NullTracker):
    """One MLflow run; `run_id` given means continue that run (resume, requeue).

    Start-up needs the server (SovtrainError within `start_timeout` if it is unreachable);
    nothing after it does. Timeouts default to SOVTRAIN_TRACKING_{START,FINISH}_TIMEOUT
    (30 s each) and the retry backoff cap to SOVTRAIN_TRACKING_RETRY_MAX (30 s).
    """

    run_id: str  # known once started (NullTracker's is None)

    def __init__(
        self,
        tracking_uri: str,
        experiment: str,
        run_name: str,
        run_id: str | None = None,
        artifact_location: str | None = None,
        queue_size: int = 10_000,
        spool: Path | None = None,
        start_timeout: float | None = None,
        finish_timeout: float | None = None,
        backoff_cap: float | None = None,
        pinned_store: tuple[str, Path] | None = None,
    ) -> None:
        bound_http_requests()
        self.tracking_uri = tracking_uri
        self.finish_timeout = _knob(finish_timeout, "SOVTRAIN_TRACKING_FINISH_TIMEOUT")
        self.client = _client(tracking_uri, pinned_store)
        self.spool, self._spool_lock = _own_spool(spool)
        try:
            backlog = _adopt_backlog(self.spool, tracking_uri)
            opened = within(
                _knob(start_timeout, "SOVTRAIN_TRACKING_START_TIMEOUT"),
                tracking_uri,
                lambda: open_run(self.client, experiment, run_name, run_id, artifact_location),
            )
        except BaseException:
            if self._spool_lock is not None:
                self._spool_lock.close()
            raise
        self.experiment_id, self.run_id = opened.experiment_id, opened.run_id
        self._logged_through = -1  # metrics at steps <= this are already in MLflow
        if opened.continued:
            queued = max_step(backlog.records(), opened.run_id, "loss")
            self._logged_through = max(opened.last_step, queued)
        self._announced = False
        self._finished = False
        self._sender = Sender(
            self.client, tracking_uri, backlog, attempt=uuid.uuid4().hex[:12],
            memory_limit=queue_size,
            backoff_cap=_knob(backoff_cap, "SOVTRAIN_TRACKING_RETRY_MAX"),
            skip_finish_of=self.run_id if opened.continued else None,
            precheck=getattr(self.client, "check_in_place", None),
        )  # fmt: skip
        self._sender.start()

    @property
    def backlog_path(self) -> Path:
        return self.spool / BACKLOG

    # The hot path: enqueue only.
    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        if step <= self._logged_through:
            self._skip_logged(step)
            return
        self._sender.put(metrics_record(self.run_id, metrics, step, int(time.time() * 1000)))

    def _skip_logged(self, step: int) -> None:
        """A resume from an older checkpoint replays steps MLflow already has: drop them,
        so the run's curve has each step once."""
        if not self._announced:
            self._announced = True
            last = self._logged_through
            log.info(
                "MLflow already has steps up to %d: steps %d..%d are not logged again",
                last, step, last,
            )  # fmt: skip

    def _put(self, op: str, **fields: Any) -> None:
        record: Record = {"op": op, "run": self.run_id, **fields}
        self._sender.put(record)

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._put("params", p={k: str(v) for k, v in params.items()})

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self._put("tags", t={k: str(v) for k, v in tags.items()})

    def log_text(self, text: str, artifact_path: str) -> None:
        self._put("text", text=text, path=artifact_path)

    def log_dict(self, data: Mapping[str, Any], artifact_path: str) -> None:
        self.log_text(json.dumps(data, indent=2, sort_keys=True, default=str), artifact_path)

    def log_file(self, path: Path, artifact_path: str | None = None) -> None:
        """The file as it is now: a snapshot is queued, not the path (logs keep growing)."""
        try:
            copy = snapshot(Path(path), self.spool, uuid.uuid4().hex[:16])
        except OSError as err:
            log.warning("not logging %s to MLflow: %s", path, err)
            return
        self._put("file", file=copy, path=artifact_path)

    def log_datasets(self, datasets: list[Mapping[str, Any]]) -> None:
        """MLflow dataset inputs with explicit digests (lineage: cards and shards)."""
        rows = [
            {
                **{k: str(d[k]) for k in ("name", "digest", "source_type", "source")},
                "tags": {k: str(v) for k, v in d.get("tags", {}).items()},
            }
            for d in datasets
        ]
        self._put("datasets", d=rows)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait (bounded) until everything queued so far was sent; True if it was."""
        return self._sender.drain(self.finish_timeout if timeout is None else timeout)

    def finish(self, status: str = "FINISHED") -> None:
        """Queue the final status, wait at most `finish_timeout`, spill the rest. Never
        raises and never hangs: an exit must not depend on the tracking server."""
        if self._finished:
            return
        self._finished = True
        try:
            self._put("finish", status=status, end=int(time.time() * 1000))
            if not self._sender.close(self.finish_timeout):
                self._left_behind()
        except Exception as err:  # tracking must never kill training
            log.warning("finishing MLflow tracking failed: %s", err)
        finally:
            if self._spool_lock is not None:
                self._spool_lock.close()

    def _left_behind(self) -> None:
        memory, spilled = self._sender.pending()
        spool = Path(os.path.realpath(self.spool))  # a pinned /proc/self/fd/N path, shown real
        target = spool.parent if spool.name == "tracking" else spool / BACKLOG
        if self._sender.held:
            log.warning(
                "%d tracking records (and the run's final status) are kept in %s; once the "
                "run directory is back in its admitted place run: sovtrain tracking sync %s",
                memory + spilled, spool / BACKLOG, target,
            )  # fmt: skip
            return
        log.warning(
            "MLflow at %s did not take the last tracking records within %.0fs: %d records "
            "(and the run's final status) are kept in %s; when the server is back run: "
            "sovtrain tracking sync %s",
            self.tracking_uri, self.finish_timeout, memory + spilled, spool / BACKLOG, target,
        )  # fmt: skip


def _knob(value: float | None, env: str) -> float:
    return value if value is not None else seconds_from_env(env, 30.0)


def _own_spool(wanted: Path | None) -> tuple[Path, IO[str] | None]:
    """The spool directory this tracker replays, locked for its lifetime. If the run's
    spool is busy (a `tracking sync` runs) or unwritable, a private one is used."""
    candidates = [wanted] if wanted is not None else []
    for folder in candidates:
        try:
            handle = hold_lock(folder)
        except OSError as err:
            log.warning("tracking spool %s unusable (%s): using a temporary one", folder, err)
            continue
        if handle is not None:
            return folder, handle
        log.warning("tracking spool %s is in use by another process: using a temporary one",
                    folder)  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="sovtrain-tracking-"))
    return folder, hold_lock(folder)


def _client(tracking_uri: str, pinned_store: tuple[str, Path] | None) -> Any:
    """The MLflow client; the embedded store of a pinned run directory (real path, pinned
    path) is opened through the pin, never by its path again."""
    if pinned_store is not None:
        from sovtrain.tracking.pinned_store import PinnedStoreClient

        return PinnedStoreClient(tracking_uri, *pinned_store)
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


def _adopt_backlog(folder: Path, tracking_uri: str) -> Backlog:
    """An earlier attempt's unsent records are replayed first (they are older); a backlog
    for another tracking server is set aside for `tracking sync`, never sent here."""
    backlog = Backlog(folder / BACKLOG)
    try:
        backlog.repair()
        uri = backlog.tracking_uri
    except (OSError, ValueError) as err:
        log.warning("unreadable tracking backlog %s (%s): set aside", backlog.path, err)
        backlog.path.rename(backlog.path.with_suffix(".unreadable"))
        return Backlog(folder / BACKLOG)
    if uri is None:
        return backlog
    if uri != tracking_uri:
        moved = backlog.set_aside()
        log.warning(
            "tracking backlog for %s set aside as %s (this run tracks to %s): replay it with "
            "`sovtrain tracking sync %s`", uri, moved, tracking_uri, moved,
        )  # fmt: skip
        return Backlog(folder / BACKLOG)
    count = backlog.count()
    if count:
        log.info("replaying %d tracking records left by an earlier attempt (%s)", count,
                 backlog.path)  # fmt: skip
    return backlog


def default_tracking_uri(output_uri: str, local_dir: Path | None) -> str:
    """An embedded sqlite store inside the run directory (or a temp dir for remote runs)."""
    base = local_dir if local_dir is not None else Path(tempfile.mkdtemp(prefix="sovtrain-ml-"))
    base.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(base / 'mlflow.db').resolve()}"


def run_tracking_uri(recipe: Any) -> str:
    """Where a recipe's run is tracked: `tracking.uri`, else the run directory's own store."""
    from sovtrain import storage

    out = recipe.run.output_uri
    return recipe.tracking.uri or default_tracking_uri(out, storage.local_path(out))
