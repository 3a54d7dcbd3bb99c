"""Firebreak on Prefect's production topology: PostgreSQL, two workers, two ``firebreak serve``.

One firebreak.stack.LocalStack for the module (a real Debian PostgreSQL, ``prefect server
start`` on it, prefect.yaml deployed, two Firebreak workers (``python -m firebreak.worker``),
two receivers on their own ports), in front of the session's moto sandbox seeded with checkout.
Every assertion reads back what the Prefect API (or moto) holds. Intake tests pause the work
pool, so their runs stay Scheduled (open) and nothing executes them; they cancel their runs
afterwards.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any
from unittest.mock import patch
from uuid import UUID

import httpx
import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolUpdate
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Cancelled

from alerts.models import Alert
from drills import seed_names as n
from drills.alerting import wait_for_alarm
from drills.clock import DrillClock
from drills.faults import inject_bad_deploy, inject_bad_flag
from drills.sandbox import Sandbox
from drills.simulator import Simulator
from firebreak.stack import WORK_POOL, LocalStack, StackSpec
from flows.host_config import CATALOG_ENV, host_environment
from flows.incident_run import incident_id_for
from flows.pending import answer_step, approval_input
from flows.settings import RunSettings
from flows.watchdog import RERUN_SUFFIX
from tasks.aws import call, client
from tasks.catalog import Catalog
from tests.flows.test_crash import _wait_for_event
from tests.integration.conftest import EVENTBRIDGE_TOKEN, _seed
from tests.integration.test_alert_to_incident import (
    alarm_event,
    ecs_task_definition,
    wait_for_approval,
    wait_for_final,
)
from tests.people import key_of, with_people

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

GENERIC_TOKEN = "topology-generic-token"  # not a secret: lives as long as the test
ONSET = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


class Topology:
    """The running stack and what a test needs beside it."""

    def __init__(self, stack: LocalStack, sandbox: Sandbox, catalog: Catalog, settings: RunSettings) -> None:
        self.stack = stack
        self.sandbox = sandbox
        self.catalog = catalog
        self.settings = settings

    @property
    def receiver_url(self) -> str:  # what tests.integration.test_alert_to_incident helpers use
        return self.stack.receiver_urls[0]


@pytest.fixture(scope="module")
def topology(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    work = tmp_path_factory.mktemp("topology")
    catalog, settings = _seed(sandbox, work)
    policy = _policy_with_people(work / "policy.yaml")
    env = {
        **os.environ,
        "FIREBREAK_EVENTBRIDGE_TOKEN": EVENTBRIDGE_TOKEN,
        "FIREBREAK_GENERIC_TOKEN": GENERIC_TOKEN,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    spec = StackSpec(
        workdir=work,
        run_settings=settings.model_dump_json(exclude_defaults=True),
        host_env=host_environment(catalog=work / "catalog.yaml", policy=policy),
        env=env,
        worker_env={**sandbox.env(), "PREFECT_WORKER_QUERY_SECONDS": "1"},
    )
    with LocalStack(spec) as stack:
        assert stack.server is not None
        with (
            patch.dict(os.environ, stack.server.env),
            temporary_settings(updates={PREFECT_API_URL: stack.server.api_url}),
        ):
            yield Topology(stack, sandbox, catalog, settings)


def _policy_with_people(path: Path) -> Path:
    """The shipped policy, with the test people's public keys: approvals are signed, as in prod."""
    data = yaml.safe_load(files("policies").joinpath("default.yaml").read_text("utf-8"))
    path.write_text(yaml.safe_dump(with_people(data)))
    return path


@pytest.fixture
def fresh_checkout(topology: Topology) -> Iterator[Topology]:
    """checkout seeded afresh; afterwards no checkout incident is left open to join the next."""
    topology.catalog, _ = _seed(topology.sandbox, Path(topology.stack.spec.host_env[CATALOG_ENV]).parent)
    yield topology
    with get_client(sync_client=True) as prefect:
        for run in runs_of(n.SERVICE):
            if run.state is not None and not run.state.is_final():
                prefect.set_flow_run_state(run.id, Cancelled(), force=True)


@pytest.fixture
def paused_pool(topology: Topology) -> Iterator[None]:
    """Nothing executes runs created meanwhile; they are cancelled before the pool resumes."""
    with get_client(sync_client=True) as prefect:
        prefect.update_work_pool(WORK_POOL, WorkPoolUpdate(is_paused=True))
    before = {r.id for r in _incident_runs()}
    try:
        yield
    finally:
        with get_client(sync_client=True) as prefect:
            for run in _incident_runs():
                if run.id not in before and run.state is not None and not run.state.is_final():
                    prefect.set_flow_run_state(run.id, Cancelled(), force=True)
            prefect.update_work_pool(WORK_POOL, WorkPoolUpdate(is_paused=False))


def _incident_runs() -> list[FlowRun]:
    with get_client(sync_client=True) as prefect:
        return prefect.read_flow_runs(limit=200)


def runs_of(service: str) -> list[FlowRun]:
    return [r for r in _incident_runs() if r.parameters.get("alert", {}).get("service") == service]


def generic_alert(service: str) -> dict[str, Any]:
    return {
        "fingerprint": f"{service}/error-rate",
        "status": "firing",
        "service": service,
        "environment": "prod",
        "region": "eu-west-1",
        "name": f"{service}-prod-error-rate",
        "starts_at": ONSET.isoformat(),
    }


def post(url: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {GENERIC_TOKEN}"}
    return httpx.post(f"{url}/alerts/generic", json=body, headers=headers, timeout=60)


def started_run_id(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    (started,) = response.json()["started"]
    return str(started["flow_run_id"])


@pytest.mark.timeout(240)
@pytest.mark.usefixtures("paused_pool")
def test_the_same_alert_to_both_receivers_at_once_and_after_a_restart_is_one_run(
    topology: Topology,
) -> None:
    urls = topology.stack.receiver_urls
    body = generic_alert("svc-both-receivers")
    with ThreadPoolExecutor(max_workers=len(urls) * 2) as pool:
        answers = list(pool.map(lambda url: post(url, body), urls * 2))
    ids = {started_run_id(a) for a in answers}

    topology.stack.restart_receiver(1)
    after_restart = {started_run_id(post(url, body)) for url in urls}

    assert len(ids) == 1
    assert after_restart == ids
    assert [str(r.id) for r in runs_of("svc-both-receivers")] == list(ids)


@pytest.mark.timeout(240)
@pytest.mark.usefixtures("paused_pool")
def test_a_burst_of_alerts_on_many_services_gets_no_503_and_loses_none(topology: Topology) -> None:
    services = [f"svc-burst-{i:02d}" for i in range(40)]
    urls = topology.stack.receiver_urls
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(lambda i: post(urls[i % len(urls)], generic_alert(services[i])), range(len(services)))
        )

    assert [a.status_code for a in answers if a.status_code != 200] == []
    runs = [r for r in _incident_runs() if r.parameters.get("alert", {}).get("service") in services]
    assert sorted(r.parameters["alert"]["service"] for r in runs) == services
    assert {str(r.id) for r in runs} == {started_run_id(a) for a in answers}


@pytest.mark.timeout(300)
def test_a_paused_approval_survives_a_server_restart_and_the_approval_after_it_applies_the_plan(
    topology: Topology,
) -> None:
    server, region = topology.stack.server, n.PRIMARY_REGION
    assert server is not None
    with Simulator(topology.catalog, topology.sandbox.endpoint_url, DrillClock()):
        fault = inject_bad_deploy(topology.sandbox.target(), topology.catalog, region)
        onset = wait_for_alarm(topology.catalog, topology.sandbox, region)
        response = httpx.post(
            f"{topology.receiver_url}/alerts/eventbridge",
            json=alarm_event(topology.catalog, region, onset),
            headers={"Authorization": f"Bearer {EVENTBRIDGE_TOKEN}"},
            timeout=60,
        )
        flow_run_id = UUID(started_run_id(response))
        wait_for_approval(flow_run_id, timeout=120)

        server.stop()
        server.start()

        step = wait_for_approval(flow_run_id, timeout=60)  # still paused, read from PostgreSQL
        signed = approval_input(step, approver="alice", approve=True, reason="restart", key=key_of("alice"))
        answer_step(flow_run_id, signed)
        run = wait_for_final(flow_run_id, timeout=120)

    assert run.state is not None
    logs = "\n".join(w.tail() for w in topology.stack.workers)
    assert run.state.type is StateType.COMPLETED, f"{run.state.message}\n{logs}"
    assert ecs_task_definition(topology, region) == fault.before  # type: ignore[arg-type]


def post_alarm(topology: Topology, region: str) -> UUID:
    """checkout's alarm, once it fires, posted as EventBridge would; the incident run's id."""
    onset = wait_for_alarm(topology.catalog, topology.sandbox, region)
    response = httpx.post(
        f"{topology.receiver_url}/alerts/eventbridge",
        json=alarm_event(topology.catalog, region, onset),
        headers={"Authorization": f"Bearer {EVENTBRIDGE_TOKEN}"},
        timeout=60,
    )
    return UUID(started_run_id(response))


def read_run(flow_run_id: UUID) -> FlowRun:
    with get_client(sync_client=True) as prefect:
        return prefect.read_flow_run(flow_run_id)


def timeline_path(topology: Topology, run: FlowRun) -> Path:
    alert = Alert.model_validate(run.parameters["alert"])
    return topology.settings.incident_dir(incident_id_for(alert)) / "timeline.json"


def timeline_events(path: Path) -> list[str]:
    return [e["event"] for e in json.loads(path.read_text())["entries"]]


def engine_pid(run: FlowRun) -> int:
    """The flow-run process of ``run`` (``python -m prefect.engine``), from its infrastructure pid."""
    assert run.infrastructure_pid is not None, "the worker has not recorded the run's process"
    return int(run.infrastructure_pid.rpartition(":")[2])


def parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rpartition(")")[2].split()[1])


def wait_for_state(flow_run_id: UUID, state: StateType, timeout: float) -> FlowRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = read_run(flow_run_id)
        if run.state is not None and run.state.type is state:
            return run
        time.sleep(1)
    last = read_run(flow_run_id).state
    raise AssertionError(f"flow run {flow_run_id} not {state.value} within {timeout}s: {last}")


def rerun_of(crashed: FlowRun, timeout: float) -> FlowRun:
    """The watchdog's re-run of ``crashed`` (its idempotency key plus the re-run suffix)."""
    key = f"{crashed.idempotency_key}{RERUN_SUFFIX}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r for r in runs_of(n.SERVICE) if r.idempotency_key == key]
        if found:
            (run,) = found
            return run
        time.sleep(1)
    raise AssertionError(f"no re-run of {crashed.id} within {timeout}s")


def flag_value(topology: Topology) -> str:
    store = topology.catalog.entry(n.SERVICE, n.ENVIRONMENT).flags
    assert store is not None
    ssm = client("ssm", topology.sandbox.target(store.region))
    return str(call(ssm, "get_parameter", Name=store.flags[n.FLAG_NEW_PRICING])["Parameter"]["Value"])


def crashed_then_rerun(topology: Topology, kill: Callable[[FlowRun], None]) -> tuple[FlowRun, FlowRun, Path]:
    """checkout's flag breaks it; once the incident run has applied the fix, ``kill`` is called
    with the run (mid-bake); returns the run once Crashed, its re-run once final, the timeline."""
    with Simulator(topology.catalog, topology.sandbox.endpoint_url, DrillClock()):
        inject_bad_flag(topology.sandbox.target(), topology.catalog)
        flow_run_id = post_alarm(topology, n.PRIMARY_REGION)
        path = timeline_path(topology, read_run(flow_run_id))
        _wait_for_event(path, "applied", timeout=120)
        kill(read_run(flow_run_id))
        crashed = wait_for_state(flow_run_id, StateType.CRASHED, timeout=200)
        rerun = wait_for_final(rerun_of(crashed, timeout=60).id, timeout=150)
    return crashed, rerun, path


def assert_rerun_applied_nothing_twice(
    topology: Topology, crashed: FlowRun, rerun: FlowRun, path: Path
) -> None:
    assert rerun.state is not None and rerun.state.type is not StateType.CRASHED, rerun.state
    assert rerun.tags == crashed.tags and rerun.parameters == crashed.parameters
    events = timeline_events(path)
    assert events.count("applied") == 1
    assert "restarted" in events and events.index("restarted") > events.index("applied")
    assert flag_value(topology) == "off"


@pytest.mark.timeout(420)
def test_a_flow_run_process_killed_while_baking_is_crashed_rerun_once_and_applies_nothing_twice(
    fresh_checkout: Topology,
) -> None:
    def kill_engine(run: FlowRun) -> None:
        os.kill(engine_pid(run), signal.SIGKILL)

    crashed, rerun, path = crashed_then_rerun(fresh_checkout, kill_engine)

    assert crashed.state is not None and "SIGKILL" in (crashed.state.message or "")  # said by its worker
    assert_rerun_applied_nothing_twice(fresh_checkout, crashed, rerun, path)
    forked = "".join(log.read_text() for log in fresh_checkout.stack.spec.workdir.glob("forkserver-*.log"))
    assert f"started for flow run {crashed.id}" in forked  # the killed run was a warm engine's
    assert f"started for flow run {rerun.id}" in forked


@pytest.mark.timeout(420)
def test_a_worker_killed_while_its_run_bakes_crashes_the_run_which_is_rerun_once(
    fresh_checkout: Topology,
) -> None:
    stack = fresh_checkout.stack

    def kill_worker(run: FlowRun) -> None:
        worker_pid = parent_pid(engine_pid(run))
        (killed,) = [i for i, w in enumerate(stack.workers) if w.process.pid == worker_pid]
        os.kill(worker_pid, signal.SIGKILL)  # the worker only, not its process group
        stack.workers[killed].process.wait(timeout=10)
        stack.workers[killed] = stack.start_worker(killed)

    crashed, rerun, path = crashed_then_rerun(fresh_checkout, kill_worker)

    assert_rerun_applied_nothing_twice(fresh_checkout, crashed, rerun, path)


@pytest.mark.timeout(420)
def test_with_a_pool_limit_of_one_incidents_queue_and_start_in_arrival_order_none_lost(
    topology: Topology,
) -> None:
    services = [f"svc-queue-{i}" for i in range(4)]  # not in the catalog: each run ends quickly
    with get_client(sync_client=True) as prefect:
        prefect.update_work_pool(WORK_POOL, WorkPoolUpdate(concurrency_limit=1))
        try:
            ids = []
            for service in services:
                ids.append(UUID(started_run_id(post(topology.receiver_url, generic_alert(service)))))
                time.sleep(0.2)  # a definite arrival order
            queued = [read_run(i).state_type for i in ids[1:]]
            runs = [wait_for_final(i, timeout=150) for i in ids]
        finally:
            prefect.update_work_pool(WORK_POOL, WorkPoolUpdate(concurrency_limit=None))

    assert set(queued) <= {StateType.SCHEDULED, StateType.PENDING}  # waiting, visibly, not lost
    starts = [r.start_time for r in runs]
    assert None not in starts and starts == sorted(starts)  # type: ignore[type-var]
    for earlier, later in itertools.pairwise(runs):
        assert earlier.end_time is not None and later.start_time is not None
        assert later.start_time >= earlier.end_time  # one at a time
