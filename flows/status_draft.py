"""Drafts of the customer-facing status page update. Pure: no I/O, no clock.

The draft follows from the severity, the impact (the share of the service's regions failing)
and the stage, and names only what the catalog says customers know: the service's public name
and its Statuspage components. It never carries internal detail (regions, resources, causes,
the incident id), because customers read it.

Component status: ``resolved`` is operational; otherwise SEV-1 or an impact of 90 % or more is a
major outage, SEV-2 a partial outage, anything milder degraded performance.

>>> from tasks.catalog import StatusPageComponents
>>> page = StatusPageComponents(name="Checkout", components=["cmp1"])
>>> d = draft_update(page, severity=Severity.SEV_2, impact=0.5, status=IncidentStatus.INVESTIGATING)
>>> (d.name, d.components)
('Checkout: partial outage', {'cmp1': <ComponentStatus.PARTIAL_OUTAGE: 'partial_outage'>})
"""

from __future__ import annotations

from policies import Severity
from tasks.catalog import StatusPageComponents
from tasks.statuspage import ComponentStatus, IncidentStatus, StatusUpdate

MAJOR_IMPACT = 0.9  # this share of regions failing is an outage for (nearly) every customer

_WHAT = {
    ComponentStatus.MAJOR_OUTAGE: "an outage",
    ComponentStatus.PARTIAL_OUTAGE: "errors for some customers",
    ComponentStatus.DEGRADED_PERFORMANCE: "degraded performance",
}
_SAYS = {
    IncidentStatus.INVESTIGATING: "We are investigating {what} affecting {name}.",
    IncidentStatus.IDENTIFIED: "We have identified the cause of {what} affecting {name} and are fixing it.",
    IncidentStatus.MONITORING: "A fix for {what} affecting {name} is in place; we are monitoring it.",
    IncidentStatus.RESOLVED: "This incident has been resolved: {name} is operating normally.",
}


def component_status(*, severity: Severity, impact: float) -> ComponentStatus:
    """How the service's components show while the incident is open."""
    if severity is Severity.SEV_1 or impact >= MAJOR_IMPACT:
        return ComponentStatus.MAJOR_OUTAGE
    if severity is Severity.SEV_2:
        return ComponentStatus.PARTIAL_OUTAGE
    return ComponentStatus.DEGRADED_PERFORMANCE


def draft_update(
    page: StatusPageComponents, *, severity: Severity, impact: float, status: IncidentStatus
) -> StatusUpdate:
    """The update for ``status``. Its name (the page sends it only when the incident is
    created) and wording follow the impact while open; a resolved draft shows the
    components operational."""
    open_status = component_status(severity=severity, impact=impact)
    shown = ComponentStatus.OPERATIONAL if status is IncidentStatus.RESOLVED else open_status
    return StatusUpdate(
        name=f"{page.name}: {open_status.value.replace('_', ' ')}",
        status=status,
        body=_SAYS[status].format(what=_WHAT[open_status], name=page.name),
        components=dict.fromkeys(page.components, shown),
    )
