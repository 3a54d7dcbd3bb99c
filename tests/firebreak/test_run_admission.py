"""What a run's environment may not change on the worker's host (pure; the fork server applies
it: tests/firebreak/test_forkserver.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from firebreak.run_admission import AllowedRuns, allowed_runs, deployment_problem, environment_problem

HOST = {
    "FIREBREAK_POLICY_FILE": "/etc/firebreak/policy.yaml",
    "FIREBREAK_CATALOG_FILE": "/etc/firebreak/catalog.yaml",
    "PREFECT_API_URL": "https://prefect.internal/api",
}


def test_the_hosts_own_environment_passes() -> None:
    assert environment_problem({**HOST, "PREFECT__FLOW_RUN_ID": "r"}, HOST) is None


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"FIREBREAK_POLICY_FILE": "/tmp/mine.yaml"}, "sets FIREBREAK_POLICY_FILE, which this host fixes"),
        ({"FIREBREAK_ROLE_ARN": "arn:aws:iam::1:role/x"}, "sets FIREBREAK_ROLE_ARN, which this host"),
        ({"PYTHONPATH": "/tmp/evil"}, "sets PYTHONPATH"),
        ({"PREFECT_API_URL": "http://attacker/api"}, "sets PREFECT_API_URL"),
    ],
)
def test_a_run_may_not_change_what_the_host_fixes(change: dict[str, str], said: str) -> None:
    problem = environment_problem({**HOST, **change}, HOST)
    assert problem is not None and said in problem


def test_a_run_may_not_unset_the_hosts_catalog() -> None:
    run = {k: v for k, v in HOST.items() if k != "FIREBREAK_CATALOG_FILE"}
    assert "unsets FIREBREAK_CATALOG_FILE" in str(environment_problem(run, HOST))


def test_where_the_host_leaves_the_prefect_api_unset_a_run_may_name_it() -> None:
    host = {k: v for k, v in HOST.items() if k != "PREFECT_API_URL"}
    assert environment_problem({**host, "PREFECT_API_URL": "http://127.0.0.1:4200/api"}, host) is None


PULL = [{"prefect.deployments.steps.set_working_directory": {"directory": "{{ $FIREBREAK_HOME }}"}}]


def _allowed(tmp_path: Path) -> AllowedRuns:
    (tmp_path / "prefect.yaml").write_text(
        yaml.safe_dump(
            {
                "pull": PULL,
                "deployments": [
                    {"name": "incident", "entrypoint": "flows/incident.py:incident_response"},
                    {"name": "manual", "entrypoint": "flows/recover.py:recover"},
                ],
            }
        )
    )
    return allowed_runs(tmp_path / "prefect.yaml", {"FIREBREAK_HOME": "/opt/firebreak"})


@pytest.mark.parametrize(
    "stored",
    [PULL, [{"prefect.deployments.steps.set_working_directory": {"directory": "/opt/firebreak"}}]],
    ids=["as-written", "rendered-by-prefect-deploy"],
)
def test_a_deployment_of_the_hosts_prefect_yaml_passes(tmp_path: Path, stored: list[Any]) -> None:
    problem = deployment_problem(
        _allowed(tmp_path),
        entrypoint="flows/incident.py:incident_response",
        pull_steps=stored,
        deployment_job_variables={},
        run_job_variables={},
    )
    assert problem is None


def test_pull_steps_rendered_for_another_home_are_refused(tmp_path: Path) -> None:
    elsewhere = [{"prefect.deployments.steps.set_working_directory": {"directory": "/tmp/evil"}}]
    problem = deployment_problem(
        _allowed(tmp_path),
        entrypoint="flows/incident.py:incident_response",
        pull_steps=elsewhere,
        deployment_job_variables={},
        run_job_variables={},
    )
    assert problem is not None and "pull steps" in problem


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"entrypoint": "evil.py:main"}, "entrypoint evil.py:main is not one of this host's prefect.yaml"),
        (
            {"pull_steps": [{"prefect.deployments.steps.git_clone": {"repository": "https://evil"}}]},
            "pull steps of flows/incident.py:incident_response are not this host's prefect.yaml's",
        ),
        ({"deployment_job_variables": {"env": {"X": "1"}}}, "the deployment sets job variables (env)"),
        ({"run_job_variables": {"command": "bash -c id"}}, "the run sets job variables (command)"),
    ],
    ids=["entrypoint", "pull-steps", "deployment-job-variables", "run-job-variables"],
)
def test_a_run_the_host_does_not_allow_is_refused_saying_why(
    tmp_path: Path, change: dict[str, Any], said: str
) -> None:
    given: dict[str, Any] = {
        "entrypoint": "flows/incident.py:incident_response",
        "pull_steps": PULL,
        "deployment_job_variables": {},
        "run_job_variables": {},
        **change,
    }
    problem = deployment_problem(_allowed(tmp_path), **given)
    assert problem is not None and said in problem
