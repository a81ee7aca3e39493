"""The MLflow model registry: one version per export, pointing at the export's own URI.

What a version carries (its tags, its source) is decided by `sovtrain.export.registry`;
this module only speaks MLflow. A refusal by MLflow becomes `RegistryRefused` with the
server's message, so no caller needs MLflow's exception types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sovtrain.core.errors import SovtrainError


class RegistryRefused(SovtrainError):
    """MLflow refused a registry call; `reason` is its message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str


def register_version(
    tracking_uri: str,
    name: str,
    *,
    model_description: str,
    source: str,
    run_id: str | None,
    tags: Mapping[str, str],
    description: str,
) -> ModelVersion:
    """Add a version of registered model `name` (created with `model_description` when it
    does not exist yet) at `source`; the run it came from, if any, is tagged with it."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        try:
            client.get_registered_model(name)
        except MlflowException:
            client.create_registered_model(name, description=model_description)
        version = client.create_model_version(
            name, source, run_id=run_id, tags=dict(tags), description=description
        )
        if run_id:
            client.set_tag(run_id, "sovtrain.registered_model", f"{name}/{version.version}")
    except MlflowException as err:
        raise RegistryRefused(err.message) from None
    return ModelVersion(name, str(version.version))
