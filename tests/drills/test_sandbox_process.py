"""Sandbox(own_process=True): the same moto server, gaps filled, in a process of its own."""

from __future__ import annotations

import os
from pathlib import Path

from drills.sandbox import Sandbox
from tasks.aws import call, clear_client_cache, client


def test_a_sandbox_in_its_own_process_serves_moto_with_its_gaps_filled_and_stops_with_it() -> None:
    with Sandbox(own_process=True) as sandbox:
        pid = sandbox.pid
        ssm = client("ssm", sandbox.target("eu-west-1"))
        call(ssm, "put_parameter", Name="/svc/flag", Value="on", Type="String")
        value = call(ssm, "get_parameter", Name="/svc/flag")["Parameter"]["Value"]
        trail = call(client("cloudtrail", sandbox.target("eu-west-1")), "lookup_events")["Events"]
    clear_client_cache()

    assert pid != os.getpid()
    assert value == "on"
    assert [e["EventName"] for e in trail] == ["PutParameter"]  # drills.moto_gaps ran in that process
    assert not Path(f"/proc/{pid}").exists()
