"""The status page draft: pure, from severity, impact and stage to what customers read."""

from __future__ import annotations

import pytest

from flows.status_draft import component_status, draft_update
from policies import Severity
from tasks.catalog import StatusPageComponents
from tasks.statuspage import ComponentStatus, IncidentStatus

PAGE = StatusPageComponents(name="Checkout", components=["cmp-api", "cmp-web"])


@pytest.mark.parametrize(
    ("severity", "impact", "expected"),
    [
        (Severity.SEV_1, 0.5, ComponentStatus.MAJOR_OUTAGE),
        (Severity.SEV_3, 1.0, ComponentStatus.MAJOR_OUTAGE),
        (Severity.SEV_2, 0.5, ComponentStatus.PARTIAL_OUTAGE),
        (Severity.SEV_3, 0.5, ComponentStatus.DEGRADED_PERFORMANCE),
        (Severity.SEV_4, 0.1, ComponentStatus.DEGRADED_PERFORMANCE),
    ],
)
def test_component_status_follows_severity_and_impact(
    severity: Severity, impact: float, expected: ComponentStatus
) -> None:
    assert component_status(severity=severity, impact=impact) is expected


def test_an_open_incident_names_every_component_with_its_status() -> None:
    draft = draft_update(PAGE, severity=Severity.SEV_2, impact=0.5, status=IncidentStatus.INVESTIGATING)
    assert draft.status is IncidentStatus.INVESTIGATING
    assert draft.name == "Checkout: partial outage"
    assert draft.components == {
        "cmp-api": ComponentStatus.PARTIAL_OUTAGE,
        "cmp-web": ComponentStatus.PARTIAL_OUTAGE,
    }
    assert draft.body == "We are investigating errors for some customers affecting Checkout."


def test_resolved_shows_the_components_operational_under_the_same_name() -> None:
    opened = draft_update(PAGE, severity=Severity.SEV_1, impact=1.0, status=IncidentStatus.INVESTIGATING)
    resolved = draft_update(PAGE, severity=Severity.SEV_1, impact=1.0, status=IncidentStatus.RESOLVED)
    assert set(resolved.components.values()) == {ComponentStatus.OPERATIONAL}
    assert resolved.name == opened.name
    assert "resolved" in resolved.body


@pytest.mark.parametrize("status", list(IncidentStatus))
def test_every_stage_has_customer_wording_without_internal_detail(status: IncidentStatus) -> None:
    draft = draft_update(PAGE, severity=Severity.SEV_2, impact=0.5, status=status)
    assert "Checkout" in draft.body
    assert not any(word in draft.body for word in ("us-east-1", "INC-", "ecs", "rollback"))
