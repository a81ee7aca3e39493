"""The residency policy: which region every storage location and compute site is in.

`data_cards/residency.yaml` names the regions and maps storage prefixes (file-system roots,
buckets) to them; compute sites are the cluster profiles (`slurm/clusters/*.yaml`), each in one
region, whose own file systems count as storage in that region. Anything not mapped is in no
region, and a location in no region is refused for every dataset: default deny.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sovtrain import storage
from sovtrain.core.errors import SovtrainError
from sovtrain.core.paths import cache_root
from sovtrain.core.yamlio import read_mapping
from sovtrain.recipe.load import format_validation_error
from sovtrain.slurm.profile import ClusterProfile


class PolicyError(SovtrainError):
    """The policy file or a cluster profile is missing or malformed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Region(_Strict):
    name: str
    jurisdiction: str = ""


class StorageMapping(_Strict):
    prefix: str = Field(description="A file-system root or bucket URI, e.g. s3://sovtrain-hk")
    region: str
    endpoint_url: str | None = Field(None, description="S3 endpoint serving this bucket.")
    description: str = ""


class Policy(_Strict):
    regions: dict[str, Region]
    storage: list[StorageMapping] = Field(default_factory=list)

    @field_validator("storage")
    @classmethod
    def _known_regions(cls, mappings: list[StorageMapping], info) -> list[StorageMapping]:
        regions = info.data.get("regions", {})
        for m in mappings:
            if m.region not in regions:
                raise ValueError(f"{m.prefix}: unknown region {m.region!r}")
        return mappings


@dataclass(frozen=True)
class Site:
    """A policy joined with the compute site a command runs on."""

    policy: Policy
    cluster: ClusterProfile
    policy_path: Path

    @property
    def compute_region(self) -> str:
        return self.cluster.region

    def storage_region(self, uri: str) -> str | None:
        """Region of the longest matching prefix of the canonical URI; None: unmapped.

        Loopback services (a tracking server on 127.0.0.1) run on the compute node itself.
        """
        canonical = storage.canonical_uri(uri)
        scheme = canonical.partition("://")[0]
        if scheme in ("http", "https") and _host(canonical) in _LOOPBACK:
            return self.cluster.region
        best: tuple[int, str] | None = None
        for prefix, region in self._prefixes:
            if _under(canonical, prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), region)
        return best[1] if best else None

    @functools.cached_property
    def _prefixes(self) -> list[tuple[str, str]]:
        """Canonical (prefix, region) pairs, computed once per site: canonicalising resolves
        paths on the file system, and `storage_region` runs on every guarded read/write."""
        mapped = [(storage.canonical_uri(m.prefix), m.region) for m in self.policy.storage]
        roots = [os.path.expandvars(os.path.expanduser(r)) for r in self.cluster.filesystems]
        # node-local disks: this machine's cache (shard copies, spools) and temp directory
        roots += [str(cache_root()), tempfile.gettempdir()]
        return mapped + [(storage.canonical_uri(r), self.cluster.region) for r in roots if r]

    def endpoints(self) -> dict[str, str]:
        """bucket -> S3 endpoint, for buckets the policy says are served elsewhere."""
        out: dict[str, str] = {}
        for m in self.policy.storage:
            canonical = storage.canonical_uri(m.prefix)
            if m.endpoint_url and canonical.startswith("s3://"):
                out[canonical[5:].split("/", 1)[0]] = m.endpoint_url
        return out


# Exactly these names: 127.0.0.2 is loopback too, but an address a user types to dodge a
# prefix rule is treated like any other unmapped host (default deny).
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _host(canonical: str) -> str:
    """The host an HTTP client will contact, as `urllib.parse` reads it (not a split on `/`:
    `http://127.0.0.2:5702?@127.0.0.1` contacts 127.0.0.2)."""
    return (urlsplit(canonical).hostname or "").lower()


def _under(uri: str, prefix: str) -> bool:
    """Path-component prefix: /srv/hk covers /srv/hk/x but not /srv/hkx."""
    prefix = prefix.rstrip("/")
    return uri == prefix or uri.startswith(prefix + "/")


def _read_yaml(path: Path, what: str) -> dict:
    return read_mapping(path, what, PolicyError)


def load_policy(path: Path) -> Policy:
    try:
        return Policy.model_validate(_read_yaml(path, "residency policy"))
    except ValidationError as err:
        raise PolicyError(format_validation_error(err, path, "residency policy")) from None


def cards_dir() -> Path:
    """Where cards and the policy live: SOVTRAIN_CARDS_DIR, default ./data_cards."""
    return Path(os.environ.get("SOVTRAIN_CARDS_DIR", "data_cards"))


def clusters_dir() -> Path:
    return Path(os.environ.get("SOVTRAIN_CLUSTERS_DIR", "slurm/clusters"))


def cluster_path(name_or_path: str) -> Path:
    """`hk-cyberport` -> slurm/clusters/hk-cyberport.yaml; a path is taken as is."""
    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path:
        return Path(name_or_path)
    return clusters_dir() / f"{name_or_path}.yaml"


def load_cluster(name_or_path: str) -> ClusterProfile:
    path = cluster_path(name_or_path)
    if not path.is_file():
        known = sorted(p.stem for p in clusters_dir().glob("*.yaml"))
        raise PolicyError(f"unknown cluster profile {name_or_path!r} (known: {', '.join(known)})")
    try:
        return ClusterProfile.model_validate(_read_yaml(path, "cluster profile"))
    except ValidationError as err:
        raise PolicyError(format_validation_error(err, path, "cluster profile")) from None


def load_site(cluster: str, policy_path: Path | None = None) -> Site:
    path = policy_path or cards_dir() / "residency.yaml"
    policy = load_policy(path)
    profile = load_cluster(cluster)
    if profile.region not in policy.regions:
        raise PolicyError(
            f"cluster {profile.name}: region {profile.region!r} is not in {path} "
            f"(regions: {', '.join(policy.regions)})"
        )
    _create_local_roots(policy)
    return Site(policy=policy, cluster=profile, policy_path=path)


def _create_local_roots(policy: Policy) -> None:
    """Mapped local roots (`/srv/sovtrain/hk`) are created when missing, so a fresh machine
    can run the example recipes; without permission they are left for an operator."""
    for mapping in policy.storage:
        local = storage.local_path(mapping.prefix)
        if local is not None and not local.exists():
            with contextlib.suppress(OSError):
                local.mkdir(parents=True, exist_ok=True)
