"""What the worker's host lets a flow run bring: checked before the engine, with or without a fork server.

A process worker builds each run's environment from its own, the work pool's base job
template and the run's job variables, and the last two can be changed by anyone who holds the
Prefect API, as can a deployment's entrypoint and pull steps. The fork server was started by
the host with the host's configuration (flows/host_config.py) and its ``prefect.yaml``, so:

- before forking, :func:`environment_problem` compares the run's environment with its own and
  refuses a run that names another policy, catalog or role, or that changes how Python starts;
- in the forked process, before ``prefect.engine`` runs, :func:`run_problem` reads the run and
  its deployment and refuses an entrypoint or pull steps the host's ``prefect.yaml`` does not
  name, and any job variables (``prefect.yaml`` sets none).

When no fork server answers, firebreak.engine_client makes the same two checks itself before
it becomes ``prefect.engine``: the host's environment is then the one the worker (its parent
process) was started with (:func:`started_environment`), and the host's ``prefect.yaml`` the
one beside Firebreak's code (:data:`HOST_PREFECT_YAML`). Each says why. A run whose
``command`` was changed runs neither check; the Firebreak worker (firebreak.worker) refuses to
start it (docs/security.md; ``firebreak stack check``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import yaml

from flows.host_config import CATALOG_ENV, POLICY_ENV, ROLE_ENV

REFUSED_EXIT = 2  # as firebreak.engine_client exits when the host refuses a run
HOST_PREFECT_YAML = Path(__file__).resolve().parent.parent / "prefect.yaml"
# Must be exactly the host's, set or unset: each one decides what Firebreak may do or what code runs.
FIXED = (
    POLICY_ENV,
    CATALOG_ENV,
    ROLE_ENV,
    "FIREBREAK_AWS_ENDPOINT_URL",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
)
# Must be the host's where the host sets them: where the run's engine reads its flow and records.
FIXED_WHERE_SET = (
    "PREFECT_API_URL",
    "PREFECT_API_AUTH_STRING",
    "FIREBREAK_HOME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


def environment_problem(run: Mapping[str, str], host: Mapping[str, str]) -> str | None:
    """Why the run's environment may not start here, or None when it keeps what the host fixes.

    >>> environment_problem({"FIREBREAK_POLICY_FILE": "/tmp/mine.yaml"}, {})
    'the run sets FIREBREAK_POLICY_FILE, which this host fixes (unset here): refused'
    """
    for name in (*FIXED, *(n for n in FIXED_WHERE_SET if n in host)):
        if run.get(name) != host.get(name):
            here = "unset here" if name not in host else "set otherwise here"
            verb = "sets" if name in run else "unsets"
            return f"the run {verb} {name}, which this host fixes ({here}): refused"
    return None


def started_environment(pid: int) -> dict[str, str]:
    """The environment process ``pid`` was started with (Linux ``/proc/PID/environ``; later
    changes the process made to its own environment are not in it). OSError when unreadable."""
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="surrogateescape")
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


@dataclass(frozen=True)
class AllowedRuns:
    """The deployments the host's ``prefect.yaml`` names: entrypoint -> the pull steps allowed
    for it (as written, and with ``{{ $VAR }}`` rendered from the host's environment)."""

    pull_steps: dict[str, list[list[Any]]]


_ENV_TEMPLATE = re.compile(r"\{\{\s*\$(\w+)\s*\}\}")


def _rendered(value: Any, environ: Mapping[str, str]) -> Any:
    """``value`` with every ``{{ $VAR }}`` replaced by the host's ``VAR``, as ``prefect deploy``
    (3.8.8) stores the steps when the deploying shell sets the variable."""
    if isinstance(value, str):
        return _ENV_TEMPLATE.sub(lambda m: environ.get(m.group(1), ""), value)
    if isinstance(value, list):
        return [_rendered(v, environ) for v in value]
    if isinstance(value, dict):
        return {k: _rendered(v, environ) for k, v in value.items()}
    return value


def allowed_runs(prefect_yaml: Path, environ: Mapping[str, str]) -> AllowedRuns:
    """What the host allows, from its ``prefect.yaml`` (a deployment's own ``pull`` wins over the
    file's) and its environment."""
    document = yaml.safe_load(prefect_yaml.read_text()) or {}
    default = document.get("pull") or []
    steps = {d["entrypoint"]: d.get("pull", default) for d in document.get("deployments") or []}
    return AllowedRuns(pull_steps={e: [s, _rendered(s, environ)] for e, s in steps.items()})


def deployment_problem(
    allowed: AllowedRuns,
    *,
    entrypoint: str | None,
    pull_steps: list[Any] | None,
    deployment_job_variables: dict[str, Any] | None,
    run_job_variables: dict[str, Any] | None,
) -> str | None:
    """Why a run of this deployment may not start on this host, or None. Pure."""
    if entrypoint not in allowed.pull_steps:
        return f"entrypoint {entrypoint} is not one of this host's prefect.yaml: refused"
    if (pull_steps or []) not in allowed.pull_steps[entrypoint]:
        return f"the pull steps of {entrypoint} are not this host's prefect.yaml's: refused"
    if deployment_job_variables:
        return f"the deployment sets job variables ({', '.join(sorted(deployment_job_variables))}): refused"
    if run_job_variables:
        return f"the run sets job variables ({', '.join(sorted(run_job_variables))}): refused"
    return None


def run_problem(flow_run_id: str, allowed: AllowedRuns) -> str | None:
    """Read the run and its deployment from the Prefect API (this process's environment, already
    checked) and say why it may not start here, or None. A value that is no flow run id is left
    to ``prefect.engine``, which refuses it before running anything."""
    try:
        run_id = UUID(flow_run_id)
    except ValueError:
        return None
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(run_id)
            if run.deployment_id is None:
                return "the run has no deployment: only this host's deployments run here; refused"
            deployment = client.read_deployment(run.deployment_id)
    except Exception as e:  # noqa: BLE001 - whatever stops the reading stops the run, with why
        return f"cannot read flow run {flow_run_id} to check it ({type(e).__name__}: {e}); refused"
    return deployment_problem(
        allowed,
        entrypoint=deployment.entrypoint,
        pull_steps=deployment.pull_steps,
        deployment_job_variables=deployment.job_variables,
        run_job_variables=run.job_variables,
    )


def refuse_run(flow_run_id: str, reason: str) -> None:
    """Say why on the run itself: its state becomes Failed with the reason, as the UI shows it."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import State
    from prefect.states import Failed

    with get_client(sync_client=True) as client:
        refused: State[Any] = Failed(message=f"refused by the worker's host: {reason}")
        client.set_flow_run_state(UUID(flow_run_id), refused, force=True)
