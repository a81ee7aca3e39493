"""Compute sites: where a job runs, as far as residency cares, joined with the policy.

A site is described by its cluster profile (`slurm/clusters/*.yaml`): its name, the region it
is in, and the roots of its own file systems, which count as storage in that region. That is
`ComputeSite`, and it is all governance reads. The same file also says how jobs start there
(partition, GPUs, environment): that part belongs to the scheduler, whose
`sovtrain.slurm.profile.ClusterProfile` extends `ComputeSite` and reads the file with
`load_profile` too, strictly (unknown keys refused) when it renders a job. Governance
therefore needs nothing from the scheduler, and the cluster files keep one flat shape.

`Site` is a policy joined with the compute site a command runs on: it answers which region a
storage location is in (`storage_region`), for admission and the storage guard alike.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sovtrain import storage
from sovtrain.core.paths import cache_root
from sovtrain.core.yamlio import read_mapping
from sovtrain.governance.policy import Policy, PolicyError, cards_dir, load_policy
from sovtrain.recipe.load import format_validation_error

# The shapes the scheduler also renders into job scripts (it checks them again itself).
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
_PATH = re.compile(r"^[A-Za-z0-9_./~$@{}+-]+$")  # residency roots: ~ and $VARS expanded


class ComputeSite(BaseModel):
    """The residency facts of one compute site (the rest of its profile is ignored here)."""

    model_config = ConfigDict(extra="ignore")

    name: str
    region: str = Field(description="Residency region (a key of data_cards/residency.yaml).")
    filesystems: list[str] = Field(
        default_factory=list,
        description="Roots of the site's own file systems: storage in the site's region.",
    )
    pue: float = Field(
        1.0,
        ge=1.0,
        le=3.0,
        description="Power usage effectiveness of the site (facility power / IT power).",
    )

    @field_validator("name", "region")
    @classmethod
    def _word(cls, value: str) -> str:
        if not _WORD.match(value):
            raise ValueError(f"value {value!r}: letters, digits, '.', '_', '+', '-' only")
        return value

    @field_validator("filesystems")
    @classmethod
    def _root_paths(cls, values: list[str]) -> list[str]:
        for path in values:
            if not _PATH.match(path):
                raise ValueError(f"{path!r}: not a plain path")
        return values


def clusters_dir() -> Path:
    return Path(os.environ.get("SOVTRAIN_CLUSTERS_DIR", "slurm/clusters"))


def cluster_path(name_or_path: str) -> Path:
    """`hk-cyberport` -> slurm/clusters/hk-cyberport.yaml; a path is taken as is."""
    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path:
        return Path(name_or_path)
    return clusters_dir() / f"{name_or_path}.yaml"


SiteT = TypeVar("SiteT", bound=ComputeSite)


def load_profile(name_or_path: str, schema: type[SiteT]) -> SiteT:
    """A cluster profile read as `schema` (`ComputeSite`, or the scheduler's full profile);
    PolicyError when it is missing (naming the known ones) or does not validate."""
    path = cluster_path(name_or_path)
    if not path.is_file():
        known = sorted(p.stem for p in clusters_dir().glob("*.yaml"))
        raise PolicyError(f"unknown cluster profile {name_or_path!r} (known: {', '.join(known)})")
    data = read_mapping(path, "cluster profile", PolicyError)
    try:
        return schema.model_validate(data)
    except ValidationError as err:
        raise PolicyError(format_validation_error(err, path, "cluster profile")) from None


@dataclass(frozen=True)
class Site:
    """A policy joined with the compute site a command runs on."""

    policy: Policy
    cluster: ComputeSite
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


def load_site(cluster: str, policy_path: Path | None = None) -> Site:
    path = policy_path or cards_dir() / "residency.yaml"
    policy = load_policy(path)
    profile = load_profile(cluster, ComputeSite)
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
