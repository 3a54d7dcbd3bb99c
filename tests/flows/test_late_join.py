"""A join recorded while the open run writes its report (after its last stage read joins) still
reaches the report and the timeline: the run reads joins once more after writing the report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

import flows.history
import flows.report
from alerts.joins import JOIN_SENDER, Join, join_key
from drills.faults import inject_bad_flag
from flows.incident import incident_response
from flows.joined import JOINED_EVENT
from tests.flows.conftest import World
from tests.flows.scripted import Script


def test_a_join_recorded_while_the_report_is_written_is_in_the_report(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    inject_bad_flag(world.sandbox.target(), world.catalog)
    alert, settings = world.alert(), world.settings()
    late = alert.model_copy(update={"fingerprint": alert.fingerprint + ":late", "name": "checkout-latency"})
    write_report = flows.report.write_report

    def join_then_write(*args: Any, **kwargs: Any) -> Any:
        run_id = flow_run.get_id()
        if run_id is not None and not getattr(join_then_write, "done", False):
            join_then_write.done = True  # type: ignore[attr-defined]
            key = join_key(late)
            join = Join(key=key, alert=late, joined_at=datetime.now(UTC))
            with get_client(sync_client=True) as client:  # as a receiver would, in the window
                client.create_flow_run_input(UUID(run_id), key, join.model_dump_json(), sender=JOIN_SENDER)
        return write_report(*args, **kwargs)

    monkeypatch.setattr(flows.history, "write_report", join_then_write)
    with Script([]):
        incident_response(alert=alert, settings=settings, return_state=True)

    report, timeline = world.report(alert, settings)
    assert [e.data["join_key"] for e in timeline.events(JOINED_EVENT)] == [join_key(late)]
    assert len(report.joined_alerts) == 1 and "checkout-latency" in report.joined_alerts[0]
