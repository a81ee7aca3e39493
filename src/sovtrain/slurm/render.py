"""Recipe + cluster profile -> a reviewable sbatch script.

The script is code generated from user input, so: every value is validated before it gets
here (recipe schema, profile schema, the checks below), `#SBATCH` lines only ever receive
those narrow validated values, and every shell word is rendered through `shlex.quote`
(the `q` filter; Jinja autoescape is for HTML and does nothing for shell). Recipe content
never reaches the script except `run.name`; `--set` overrides travel as quoted arguments
and are parsed by the trainer, not by bash.
"""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from sovtrain.core.errors import SovtrainError
from sovtrain.governance.sites import cluster_path
from sovtrain.recipe import load_recipe
from sovtrain.recipe.load import LoadedRecipe
from sovtrain.slurm.profile import ClusterProfile, check_time, load_cluster

_DEPENDENCY = re.compile(
    r"^(?:singleton|(?:after|afterok|afternotok|afterany|aftercorr|afterburstbuffer)"
    r"(?::\d+(?:_\d+)?(?:\+\d+)?)+)(?:[,?](?:singleton|after\w*(?::\d+(?:_\d+)?(?:\+\d+)?)+))*$"
)
_SWEEP = re.compile(r"^([a-z_][a-z0-9_.]*)=(.+)$")
_MAX_ARRAY = 1000
TEMPLATES = ("pretrain", "finetune")


class RenderError(SovtrainError):
    """The job cannot be rendered as asked (bad node count, dependency, sweep ...)."""


@dataclass
class JobSpec:
    """What the user asked for on the command line."""

    recipe: Path
    cluster: str
    overrides: list[str] = field(default_factory=list)
    nodes: int = 1
    time_limit: str | None = None
    dependency: str | None = None
    sweep: list[str] = field(default_factory=list)
    template: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rendered:
    script: str
    loaded: LoadedRecipe
    profile: ClusterProfile
    log_dir: Path
    tasks: int  # array tasks (1 without a sweep)


def templates_dir() -> Path:
    """`slurm/templates` of this checkout (the job runs from the repository)."""
    here = Path("slurm/templates")
    if here.is_dir():
        return here.resolve()
    return Path(__file__).resolve().parents[3] / "slurm" / "templates"


def render(spec: JobSpec) -> Rendered:
    loaded = load_recipe(spec.recipe, spec.overrides)
    profile = load_cluster(spec.cluster)
    if profile.scheduler != "slurm":
        raise RenderError(f"cluster {profile.name} has no scheduler: run `sovtrain train` there")
    _check_nodes(spec, profile, loaded)
    workdir = Path.cwd().resolve()
    log_dir = _absolute(profile.log_dir, workdir)
    sweep = _sweep_overrides(spec, loaded)
    env = dict(spec.extra_env)
    if profile.gpu_type:
        from sovtrain.model.devices import lookup_device
        from sovtrain.model.hardware import require_device_type
        from sovtrain.model.peak import lookup_tflops

        train = loaded.recipe.train
        require_device_type(
            loaded.recipe, lookup_device(profile.gpu_type), f"cluster {profile.name}'s gpu_type"
        )
        env["SOVTRAIN_PEAK_TFLOPS"] = (
            f"{lookup_tflops(profile.gpu_type, train.weights_precision):g}"
        )
    context = {
        "recipe_path": str(spec.recipe.resolve()),
        "recipe_digest": loaded.digest,
        "profile": profile,
        "nodes": spec.nodes,
        "job_name": loaded.recipe.run.name,
        "time_limit": check_time(spec.time_limit) if spec.time_limit else profile.time_limit,
        "dependency": _check_dependency(spec.dependency),
        "sweep": sweep,
        "workdir": str(workdir),
        "log_dir": str(log_dir),
        "venv": str(_absolute(profile.environment.venv, workdir))
        if profile.environment.venv
        else None,
        "extra_env": _check_env(env),
        "launcher": _launcher(profile),
        "command": _command(spec, loaded),
    }
    template = spec.template or ("finetune" if loaded.recipe.finetune is not None else "pretrain")
    if template not in TEMPLATES:
        raise RenderError(f"template must be one of {', '.join(TEMPLATES)}, got {template!r}")
    script = _environment().get_template(f"{template}.sbatch.j2").render(**context)
    return Rendered(script + "\n", loaded, profile, log_dir, max(1, len(sweep)))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # shell, not HTML: quoting is the `q` filter's job
        keep_trailing_newline=False,
    )
    env.filters["q"] = lambda value: shlex.quote(str(value))
    return env


def _absolute(path: str, base: Path) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else base / candidate


def _venv(profile: ClusterProfile, workdir: Path) -> str | None:
    venv = profile.environment.venv
    return str(_absolute(venv, workdir)) if venv else None


def _launcher(profile: ClusterProfile) -> list[str]:
    """The process each task runs: the venv's python, or python inside the container."""
    python = ["python", "-m", "sovtrain.cli"]
    container = profile.environment.container
    if container is None:
        return python
    runtime = [container.runtime, "exec"]
    if profile.gpus_per_node:
        runtime.append("--nv")
    for bind in container.binds:
        runtime += ["--bind", bind]
    return [*runtime, container.image, *python]


def _command(spec: JobSpec, loaded: LoadedRecipe) -> list[str]:
    profile = str(cluster_path(spec.cluster).resolve())
    command = ["train", str(spec.recipe.resolve()), "--cluster", profile, "--resume", "auto"]
    for override in spec.overrides:
        command += ["--set", override]
    return command


def _check_nodes(spec: JobSpec, profile: ClusterProfile, loaded: LoadedRecipe) -> None:
    if not 1 <= spec.nodes <= profile.max_nodes:
        raise RenderError(f"--nodes {spec.nodes}: {profile.name} allows 1..{profile.max_nodes}")
    world = spec.nodes * profile.tasks_per_node
    try:
        loaded.recipe.train.grad_accumulation(world)
    except ValueError as err:
        raise RenderError(f"{spec.recipe}: {err} ({spec.nodes} node(s))") from None


def _check_dependency(value: str | None) -> str | None:
    if value is not None and not _DEPENDENCY.match(value):
        raise RenderError(f"--dependency {value!r}: expected e.g. afterok:12345 or singleton")
    return value


def _check_env(env: dict[str, str]) -> dict[str, str]:
    for name, value in env.items():
        if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", name) or "\n" in value:
            raise RenderError(f"bad environment entry {name!r}")
    return env


def _sweep_overrides(spec: JobSpec, loaded: LoadedRecipe) -> list[list[str]]:
    """`--sweep train.optimizer.lr=1e-4,3e-4` (repeatable): one array task per combination,
    each with its own run name, so outputs, checkpoints and MLflow runs never collide."""
    if not spec.sweep:
        return []
    axes = []
    for item in spec.sweep:
        match = _SWEEP.match(item)
        if not match:
            raise RenderError(f"--sweep {item!r}: expected field=v1,v2,...")
        axes.append([f"{match[1]}={v}" for v in match[2].split(",")])
    combos = list(itertools.product(*axes))
    if len(combos) > _MAX_ARRAY:
        raise RenderError(f"--sweep makes {len(combos)} jobs (max {_MAX_ARRAY})")
    tasks, outputs = [], set()
    for index, combo in enumerate(combos):
        sets = [*combo, f"run.name={loaded.recipe.run.name}-s{index}"]
        variant = load_recipe(spec.recipe, [*spec.overrides, *sets])  # validates every value
        outputs.add(variant.recipe.run.output_uri)
        tasks.append([arg for s in sets for arg in ("--set", s)])
    if len(outputs) != len(combos):
        raise RenderError("sweep tasks would share run.output_uri: use ${run.name} in it")
    return tasks
