"""Register an export in the MLflow model registry: a pointer with lineage, never a copy.

Why a pointer: the exported weights derive from resident data and were written where the
policy allows. `mlflow.register_model` on logged artifacts would upload another copy into
the tracking server's artifact store, wherever that lives. Here the model version's
`source` is the export's own URI, and the version carries the same compliance tags as the
training run (datasets@version, card digests, sensitivity, compute site and region, regions
the weights may be stored in) plus the weights' sha256, so a reviewer reads the lineage from
the registry and can check the bytes at the source.

Local sources work with a file/sqlite tracking store (the default, one store per run
directory). An MLflow *server* accepts only non-local sources (s3://...) or paths inside the
run's artifact directory; export to s3:// when registering with a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sovtrain.core.errors import SovtrainError


@dataclass(frozen=True)
class Registered:
    name: str
    version: str
    source: str
    tracking_uri: str


def version_tags(result: Any, compliance: dict[str, str], init_from: str | None) -> dict[str, str]:
    """Tags of one registered version: compliance lineage + what exactly was exported."""
    return {
        **compliance,
        "sovtrain.export.kind": result.kind,
        "sovtrain.export.step": str(result.step),
        "sovtrain.export.weights_from": result.weights_from,
        # one file's sha256, or for shards that of their sha256sum listing
        "sovtrain.export.weights_sha256": result.weights_sha256,
        "sovtrain.export.dtype": result.dtype,
        "sovtrain.export.base_model": init_from or "",
    }


def _source(out_uri: str) -> str:
    return out_uri if "://" in out_uri else Path(out_uri).resolve().as_uri()


def register_export(recipe: Any, result: Any, name: str, compliance: dict[str, str]) -> Registered:
    """Create (or extend) registered model `name` with a version pointing at the export."""
    from sovtrain.tracking import run_tracking_uri
    from sovtrain.tracking.model_registry import RegistryRefused, register_version

    if not recipe.tracking.enabled:
        raise SovtrainError("--register: the run was trained with tracking.enabled: false")
    uri = run_tracking_uri(recipe)
    tags = version_tags(result, compliance, recipe.model.init_from)
    source = _source(result.out_uri)
    try:
        version = register_version(
            uri, name, model_description=f"sovtrain exports of {recipe.run.name}",
            source=source, run_id=result.mlflow_run_id, tags=tags,
            description=f"{result.kind} export of step {result.step}, see README.md at the source",
        )  # fmt: skip
    except RegistryRefused as err:
        raise SovtrainError(f"--register {name}: MLflow refused ({err.reason})") from None
    return Registered(name, version.version, source, uri)
