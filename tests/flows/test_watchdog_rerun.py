"""The watchdog against a real Prefect API: a crashed run younger than max_open is re-run and its
``restarted`` entry names the crashed run; an older one is left Crashed and tagged for a person.
Runs are started from a deployment and run in-process by the engine, as a worker would."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterIdempotencyKey
from prefect.client.schemas.objects import FlowRun
from prefect.flow_engine import run_flow
from prefect.settings import PREFECT_API_URL
from prefect.states import Crashed

from alerts.prefect_http import PrefectHttp
from drills.faults import inject_bad_flag
from flows.incident import incident_response
from flows.watchdog import LEFT_FOR_HUMAN_TAG, RERUN_SUFFIX, rerun_crashed
from tests.flows.conftest import World
from tests.flows.scripted import Script


def _runs_with_key(key: str) -> list[FlowRun]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(idempotency_key=FlowRunFilterIdempotencyKey(any_=[key]))
        )


def test_a_young_crashed_run_is_rerun_naming_it_and_an_old_one_is_left_for_a_person(world: World) -> None:
    inject_bad_flag(world.sandbox.target(), world.catalog)
    alert, settings = world.alert(), world.settings()
    args: dict[str, Any] = {"alert": alert, "settings": settings}
    params = {"alert": alert.model_dump(mode="json"), "settings": settings.model_dump(mode="json")}
    name, tag = f"incident-{uuid4().hex[:8]}", uuid4().hex[:8]
    with get_client(sync_client=True) as client:
        deployment_id = client.create_deployment(flow_id=client.create_flow(incident_response), name=name)
        old = client.create_flow_run_from_deployment(
            deployment_id, parameters=params, idempotency_key=f"old-{tag}"
        )
        young = client.create_flow_run_from_deployment(
            deployment_id, parameters=params, idempotency_key=f"young-{tag}"
        )
        with Script([]):
            run_flow(incident_response, flow_run=young, parameters=args, return_type="state")
        for run in (old, young):  # as the heartbeat automation would
            client.set_flow_run_state(run.id, Crashed(message="no heartbeat"), force=True)
        young_at, old_at = client.read_flow_run(young.id).created, client.read_flow_run(old.id).created
    assert young_at is not None and old_at is not None and young_at > old_at
    now = young_at + (young_at - old_at)  # young is (young - old) old, old twice that
    max_open = (young_at - old_at) * 1.5
    http = PrefectHttp(PREFECT_API_URL.value())
    try:
        rerun_crashed(http, f"incident-response/{name}", max_open=max_open, clock=lambda: now)
    finally:
        http.close()

    assert _runs_with_key(f"old-{tag}{RERUN_SUFFIX}") == []
    with get_client(sync_client=True) as client:
        assert LEFT_FOR_HUMAN_TAG in client.read_flow_run(UUID(str(old.id))).tags
    [rerun] = _runs_with_key(f"young-{tag}{RERUN_SUFFIX}")
    assert rerun.parameters == young.parameters
    with Script([]):
        run_flow(incident_response, flow_run=rerun, parameters=args, return_type="state")
    _, timeline = world.report(alert, settings)
    [restarted] = timeline.events("restarted")
    assert restarted.data["crashed_run"] == str(young.id) and str(young.id) in restarted.message
