"""Does the work pool still start runs with Firebreak's engine client? (``firebreak stack check``)

The host's run checks (firebreak.run_admission) run in the command the worker starts for each
run: ``<python> -m firebreak.engine_client`` (and the fork server it hands the run to). Anyone
who holds the Prefect API can change that command (the pool's base job template, a
deployment's or a run's job variables), and then neither runs. The Firebreak worker
(firebreak.worker) refuses such runs, so a changed pool stops every run; this check lets the
operator see it before the runs fail: the pool's ``job_configuration.command`` must still be
``{{ command }}``, the command variable's default the engine client, and no deployment on the
pool may set ``command``. A command set in one run's job variables is not visible here (the
worker refuses that run): docs/security.md, Control plane.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

ENGINE_CLIENT_MODULE = "firebreak.engine_client"
TEMPLATED = "{{ command }}"


def engine_client_command(python: str = sys.executable) -> str:
    """The pool command that starts each run through the engine client (``firebreak stack up``)."""
    return f"{python} -m {ENGINE_CLIENT_MODULE}"


def command_problems(
    template: Mapping[str, Any], deployment_variables: Mapping[str, Mapping[str, Any]], expected: str
) -> list[str]:
    """Why runs of a pool with base job ``template`` and deployments' job variables
    (``{"flow/deployment": variables}``) may not start with ``expected``; empty when they do. Pure."""
    problems = []
    configured = (template.get("job_configuration") or {}).get("command")
    if configured != TEMPLATED:
        problems.append(f"the pool's job_configuration.command is {configured!r}, not {TEMPLATED!r}")
    variable = ((template.get("variables") or {}).get("properties") or {}).get("command") or {}
    if variable.get("default") != expected:
        problems.append(f"the pool's command is {variable.get('default')!r}, not {expected!r}")
    problems += [
        f"deployment {name} sets the command {variables['command']!r}"
        for name, variables in sorted(deployment_variables.items())
        if "command" in variables
    ]
    return problems


def read_pool(pool: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The pool's base job template and its deployments' job variables, from the Prefect API
    this process's settings name."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import WorkPoolFilter, WorkPoolFilterName

    with get_client(sync_client=True) as client:
        template = client.read_work_pool(pool).base_job_template
        on_pool = WorkPoolFilter(name=WorkPoolFilterName(any_=[pool]))
        deployments = client.read_deployments(work_pool_filter=on_pool)
        flows = {f.id: f.name for f in client.read_flows()}
    return template, {
        f"{flows.get(d.flow_id, d.flow_id)}/{d.name}": dict(d.job_variables or {}) for d in deployments
    }
