"""The sandbox: a moto server on a free port that this and other processes reach."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from drills import seed_names as n
from drills.sandbox import Sandbox, SandboxError
from drills.seed_region import register_task_definition
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


def _lookup(sandbox: Sandbox, region: str, **kwargs: object) -> list[dict[str, object]]:
    events: list[dict[str, object]] = client("cloudtrail", sandbox.target(region)).lookup_events(**kwargs)[
        "Events"
    ]
    return events


def test_cloudtrail_records_mutating_calls_with_parameters_and_caller(
    sandbox: Sandbox, catalog: Catalog
) -> None:
    target = sandbox.target("eu-west-1")
    revision = register_task_definition(target, n.BAD_IMAGE)
    answer = client("ecs", target).update_service(
        cluster=n.CLUSTER, service=n.ECS_SERVICE, taskDefinition=revision
    )
    by_service = [{"AttributeKey": "ResourceName", "AttributeValue": n.ECS_SERVICE}]
    events = _lookup(sandbox, "eu-west-1", LookupAttributes=by_service)
    # newest first; the task family is also named "checkout", so its registrations match too
    deploys = [e["EventName"] for e in events if e["EventName"] in {"UpdateService", "CreateService"}]
    assert deploys == ["UpdateService", "CreateService"] and events[0]["EventName"] == "UpdateService"
    detail = json.loads(str(events[0]["CloudTrailEvent"]))
    assert detail["requestParameters"] == {
        "cluster": n.CLUSTER, "service": n.ECS_SERVICE, "taskDefinition": revision
    }  # fmt: skip
    assert detail["requestID"] == answer["ResponseMetadata"]["RequestId"]
    assert detail["eventSource"] == "ecs.amazonaws.com" and detail["awsRegion"] == "eu-west-1"
    assert detail["userIdentity"]["type"] == "IAMUser" and "Botocore" in detail["userAgent"]
    assert events[0]["Username"] == detail["userIdentity"]["userName"]
    assert (
        _lookup(
            sandbox,
            "us-east-1",
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "UpdateService"}],
        )
        == []
    )


def test_cloudtrail_lookup_filters_pages_and_is_cleared_by_reset(sandbox: Sandbox, catalog: Catalog) -> None:
    by_name = [{"AttributeKey": "EventName", "AttributeValue": "PutParameter"}]
    puts = _lookup(sandbox, "eu-west-1", LookupAttributes=by_name)
    assert len(puts) == len(n.FLAG_PARAMETERS) and {e["EventName"] for e in puts} == {"PutParameter"}
    trail = client("cloudtrail", sandbox.target("eu-west-1"))
    first = trail.lookup_events(MaxResults=3)
    second = trail.lookup_events(MaxResults=3, NextToken=first["NextToken"])
    ids = [e["EventId"] for e in first["Events"] + second["Events"]]
    assert len(first["Events"]) == 3 and len(set(ids)) == 6
    assert [e["EventTime"] for e in first["Events"]] == sorted(
        (e["EventTime"] for e in first["Events"]), reverse=True
    )
    newest = first["Events"][0]["EventTime"]
    assert _lookup(sandbox, "eu-west-1", StartTime=newest + timedelta(seconds=1)) == []
    assert _lookup(sandbox, "eu-west-1", EndTime=newest - timedelta(days=1)) == []
    sandbox.reset()
    assert _lookup(sandbox, "eu-west-1") == []
