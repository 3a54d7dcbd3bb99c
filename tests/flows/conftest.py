"""Flow tests: a real Prefect API (prefect_test_harness, once per session) and the drill
sandbox (moto server + simulator), re-seeded for every test. The flows run in-process exactly
as a worker would run them; only FIREBREAK_AWS_ENDPOINT_URL points them at moto."""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.testing.utilities import prefect_test_harness

from alerts.models import Alert, MetricRef
from drills import seed_names as n
from drills.alerting import wait_for_alarm
from drills.sandbox import Sandbox
from drills.seed import seed_checkout, write_catalog
from drills.simulator import Simulator
from drills.standins.pagerduty import PagerDutyStandIn
from flows.incident_run import incident_id_for
from flows.killswitch import set_kill_switch
from flows.report import IncidentReport
from flows.settings import RunSettings
from flows.timeline import Timeline
from tasks.aws import call, client
from tasks.catalog import Catalog
from tests.people import with_people
from tests.records_key import install_worker_key, with_record_signer

HARNESS_STOP_SECONDS = 120


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """Prefect's test harness for the session. Its exit drains Prefect's log and event workers
    before stopping the server, and once (a fresh-clone CI run, 2026-12-07, not reproduced in
    smaller runs) that drain never returned after every test had passed. The exit therefore gets
    HARNESS_STOP_SECONDS in a thread of its own; past that the session ends with a warning, and
    the server is still stopped by the harness's own atexit hook."""
    harness = prefect_test_harness(server_startup_timeout=180)
    harness.__enter__()
    try:
        yield
    finally:
        stopping = threading.Thread(target=harness.__exit__, args=(None, None, None), daemon=True)
        stopping.start()
        stopping.join(HARNESS_STOP_SECONDS)
        if stopping.is_alive():
            warnings.warn(
                f"Prefect's test harness did not stop within {HARNESS_STOP_SECONDS} s "
                "(its log/event drain is stuck); its server stops at exit",
                stacklevel=1,
            )


@dataclass
class World:
    """The seeded fake production of one test, and how to read it back."""

    sandbox: Sandbox
    catalog: Catalog
    simulator: Simulator
    tmp: Path
    catalog_path: Path

    def settings(self, policy: dict[str, Any] | None = None) -> RunSettings:
        # Every test runs under a policy that lists the test people's keys (tests/people.py),
        # so the scripted humans can sign where a rule needs a verified identity.
        policy_path = self.tmp / "policy.yaml"
        data = policy if policy is not None else default_policy_data()
        policy_path.write_text(yaml.safe_dump(with_record_signer(with_people(data))))
        # The policy and the catalog are the host's (FIREBREAK_POLICY_FILE and
        # FIREBREAK_CATALOG_FILE, set by the world fixture), never run parameters.
        return RunSettings(
            output_dir=str(self.tmp / "incidents"),
            confirm_window_seconds=10,
            bake_seconds=20,
            watch_interval_seconds=1,
            healthy_checks=2,
            approval_poll_seconds=1,
        )

    def alert(self, region: str = n.PRIMARY_REGION, *, wait: bool = True, tag: str = "") -> Alert:
        """The alert the region's error-rate alarm sends (after it fired, if ``wait``)."""
        onset = wait_for_alarm(self.catalog, self.sandbox, region) if wait else datetime.now(UTC)
        resources = self.catalog.entry(n.SERVICE, n.ENVIRONMENT).region(region)
        spec = resources.metrics[0]
        return Alert(
            source="test",
            fingerprint=f"test:{resources.alarms[0]}{tag}",
            service=n.SERVICE,
            environment=n.ENVIRONMENT,
            region=region,
            name=resources.alarms[0],
            starts_at=onset,
            metric=MetricRef(namespace=spec.namespace, name=spec.metric_name, dimensions=spec.dimensions),
        )

    def task_definition(self, region: str = n.PRIMARY_REGION) -> str:
        ecs = self.catalog.entry(n.SERVICE, n.ENVIRONMENT).region(region).ecs
        assert ecs is not None
        svc = call(
            client("ecs", self.sandbox.target(region)),
            "describe_services",
            cluster=ecs.cluster,
            services=[ecs.service],
        )["services"][0]
        return str(svc["taskDefinition"]).rsplit("/", 1)[-1]

    def flag(self, name: str = n.FLAG_NEW_PRICING) -> str:
        store = self.catalog.entry(n.SERVICE, n.ENVIRONMENT).flags
        assert store is not None
        ssm = client("ssm", self.sandbox.target(store.region))
        return str(call(ssm, "get_parameter", Name=store.flags[name])["Parameter"]["Value"])

    def weights(self) -> dict[str, int]:
        r53 = self.catalog.entry(n.SERVICE, n.ENVIRONMENT).route53
        assert r53 is not None
        records = call(
            client("route53", self.sandbox.target()), "list_resource_record_sets", HostedZoneId=r53.zone_id
        )["ResourceRecordSets"]
        return {rr["SetIdentifier"]: rr["Weight"] for rr in records if "SetIdentifier" in rr}

    def report(self, alert: Alert, settings: RunSettings) -> tuple[IncidentReport, Timeline]:
        folder = settings.incident_dir(incident_id_for(alert))
        report = IncidentReport.model_validate(json.loads((folder / "report.json").read_text()))
        return report, Timeline.load(folder / "timeline.json")


ROUTING_KEY = "PDROUTINGKEYCANARY0123456789abcd"


@pytest.fixture
def pagerduty(monkeypatch: pytest.MonkeyPatch) -> PagerDutyStandIn:
    """A PagerDuty Events API v2 stand-in that Firebreak's pages go to (use it as a context)."""
    stand_in = PagerDutyStandIn()
    monkeypatch.setenv("FIREBREAK_PAGERDUTY_API_URL", stand_in.url)
    monkeypatch.setenv("FIREBREAK_PAGERDUTY_ROUTING_KEY", ROUTING_KEY)
    return stand_in


def _reset_rate_limits() -> None:
    with get_client(sync_client=True) as prefect:
        for limit in prefect.read_global_concurrency_limits(limit=200):
            if limit.name.startswith("firebreak-"):
                prefect.delete_global_concurrency_limit_by_name(limit.name)
        for variable in prefect.read_variables(limit=200):
            if variable.name.startswith("firebreak-rate-"):
                prefect.delete_variable_by_name(variable.name)


@pytest.fixture
def world(
    prefect_api: None, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    sandbox.reset()
    catalog = seed_checkout(sandbox.endpoint_url)
    monkeypatch.setenv("FIREBREAK_AWS_ENDPOINT_URL", sandbox.endpoint_url)
    # This test process is the flows' host: it fixes their policy (World.settings writes it) and catalog.
    monkeypatch.setenv("FIREBREAK_POLICY_FILE", str(tmp_path / "policy.yaml"))
    monkeypatch.setenv("FIREBREAK_CATALOG_FILE", str(tmp_path / "catalog.yaml"))
    install_worker_key(tmp_path / "worker", monkeypatch)  # this host signs its chain heads
    set_kill_switch(False)
    _reset_rate_limits()
    with Simulator(catalog, sandbox.endpoint_url) as simulator:
        yield World(sandbox, catalog, simulator, tmp_path, write_catalog(catalog, tmp_path / "catalog.yaml"))
    set_kill_switch(False)


def default_policy_data() -> dict[str, Any]:
    """The shipped policy as data, for tests that derive a variant of it."""
    data: dict[str, Any] = yaml.safe_load(files("policies").joinpath("default.yaml").read_text())
    return data
