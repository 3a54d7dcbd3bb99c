"""What a run's environment may not change on the worker's host (pure; the fork server applies
it: tests/firebreak/test_forkserver.py)."""

from __future__ import annotations

import pytest

from firebreak.run_admission import environment_problem

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
