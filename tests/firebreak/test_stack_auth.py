"""`firebreak stack up` starts Prefect with an API auth string (issue 26 point 1): without it
the server answers anyone who reaches it; the operator is told where the string is kept."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx

from drills.prefect_server import LocalPrefectServer
from firebreak.stack import write_auth_string


def test_a_server_started_with_an_auth_string_refuses_requests_without_it(tmp_path: Path) -> None:
    with LocalPrefectServer(home=tmp_path, auth_string="firebreak:s3cret-string") as server:
        body = {"limit": 1}
        anonymous = httpx.post(f"{server.api_url}/flow_runs/filter", json=body, timeout=10)
        assert anonymous.status_code == 401
        user, _, password = server.env["PREFECT_API_AUTH_STRING"].partition(":")
        url = f"{server.api_url}/flow_runs/filter"
        signed_in = httpx.post(url, json=body, auth=(user, password), timeout=10)
        assert signed_in.status_code == 200


def test_the_stack_keeps_a_fresh_auth_string_in_a_file_only_its_owner_reads(tmp_path: Path) -> None:
    first, path = write_auth_string(tmp_path)
    second, _ = write_auth_string(tmp_path / "other")
    assert path.read_text().strip() == first and first != second
    assert first.startswith("firebreak:") and len(first.partition(":")[2]) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
