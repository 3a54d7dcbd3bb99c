"""The sandbox: a moto server on a free port that this and other processes reach."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from drills import seed_names as n
from drills.sandbox import Sandbox, SandboxError
from tasks.aws import client
from tasks.catalog import Catalog

CHILD = """
from tasks.aws import AwsTarget, client
ssm = client("ssm", AwsTarget(region="eu-west-1"))
print(ssm.get_parameter(Name="{name}")["Parameter"]["Value"])
ssm.put_parameter(Name="{name}", Value="on", Type="String", Overwrite=True)
"""


def test_starts_on_a_free_port_and_stops_restoring_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "previous")
    monkeypatch.setenv("AWS_PROFILE", "someone-real")
    sandbox = Sandbox().start()
    url = sandbox.endpoint_url
    try:
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
        assert "AWS_PROFILE" not in os.environ
        identity = client("sts", sandbox.target()).get_caller_identity()
        assert identity["Account"] == "123456789012"
    finally:
        sandbox.stop()
    assert os.environ["AWS_ACCESS_KEY_ID"] == "previous"
    assert os.environ["AWS_PROFILE"] == "someone-real"
    with pytest.raises(SandboxError):
        _ = sandbox.endpoint_url
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/moto-api/", timeout=2)


def test_export_env_is_set_while_running_and_removed_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIREBREAK_AWS_ENDPOINT_URL", raising=False)
    with Sandbox(export_env=True) as sandbox:
        assert os.environ["FIREBREAK_AWS_ENDPOINT_URL"] == sandbox.endpoint_url
        assert os.environ["AWS_ENDPOINT_URL"] == sandbox.endpoint_url
    assert "FIREBREAK_AWS_ENDPOINT_URL" not in os.environ


def test_reset_forgets_every_resource(sandbox: Sandbox, catalog: Catalog) -> None:
    sns = client("sns", sandbox.target())
    assert len(sns.list_topics()["Topics"]) == 1
    sandbox.reset()
    assert sns.list_topics()["Topics"] == []
    with pytest.raises(ClientError):
        client("ssm", sandbox.target()).get_parameter(Name=n.FLAG_PARAMETERS[n.FLAG_NEW_PRICING])


def test_another_process_reaches_the_same_sandbox_through_env(sandbox: Sandbox, catalog: Catalog) -> None:
    parameter = n.FLAG_PARAMETERS[n.FLAG_NEW_PRICING]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | sandbox.env()
    child = subprocess.run(
        [sys.executable, "-c", CHILD.format(name=parameter)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert child.stdout.strip() == "off"
    history = client("ssm", sandbox.target()).get_parameter_history(Name=parameter)["Parameters"]
    assert [p["Value"] for p in history] == ["off", "on"]


def test_start_twice_is_refused() -> None:
    with Sandbox() as sandbox, pytest.raises(SandboxError):
        sandbox.start()
