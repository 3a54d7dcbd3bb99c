"""Detect: confirm the alert from a second source and classify severity."""

from __future__ import annotations

from flows.incident_run import IncidentRun
from flows.timeline import Stage
from flows.verify import SignalCheck, confirm_signal, signal_metric
from policies import IncidentFacts, SeverityAssessment, classify_severity
from policies.severity import stated_impact


def confirm(run: IncidentRun) -> SignalCheck:
    """Read the alert's metric in CloudWatch; the alert is confirmed only when it is unhealthy
    (``check.confirmed``). No data confirms nothing, and is recorded as no data; so is a healthy
    value from before the alert's onset (it cannot refute an alarm that fired after it)."""
    spec = signal_metric(run.entry, run.alert, run.region)
    check: SignalCheck = confirm_signal(
        spec,
        run.aws(),
        run.settings.confirm_window_seconds,
        run.settings.confirm_attempts,
        not_before=run.alert.starts_at,
    )
    value = "no data" if check.last_value is None else check.last_value
    run.timeline.add(
        Stage.DETECT,
        "confirmed" if check.confirmed else "not-confirmed",
        f"{spec.name} in {run.region} = {value} (healthy {spec.healthy_when.value} "
        f"{spec.healthy_threshold}): alert {'confirmed' if check.confirmed else 'NOT confirmed'}",
        metric=spec.name,
        value=check.last_value,
        state=check.health.value,
        readings=[r.model_dump(mode="json") for r in check.readings],
    )
    return check


def facts_for(run: IncidentRun, unhealthy_regions: int) -> IncidentFacts:
    """Impact facts from what Firebreak can see (the share of regions failing) and what the
    operator states about the service (``alert.facts``, from the routing file). The alert's
    labels raise these only for a source the policy trusts (policies.severity.stated_impact)."""
    alert = run.alert
    stated = stated_impact(alert.facts, alert.labels | alert.annotations, alert.source, run.policy.severity)
    regions = max(len(run.entry.regions), 1)
    share = min(max(unhealthy_regions, 1) / regions, 1.0)
    return IncidentFacts(
        users_affected=share,
        traffic_affected=share,
        regions_affected=max(unhealthy_regions, 1),
        core_functionality=(stated.tier or "core") == "core",
        revenue_per_hour_at_risk=stated.revenue_per_hour or 0.0,
        data_exposure=bool(stated.data_exposure),
        internal_only=bool(stated.internal_only),
    )


def classify(run: IncidentRun, unhealthy_regions: int) -> SeverityAssessment:
    """Classify with the policy's matrix and record it; updates ``run.severity``."""
    assessment = classify_severity(facts_for(run, unhealthy_regions), run.policy)
    changed = assessment.severity != run.severity
    run.severity = assessment.severity
    if changed or not run.timeline.events("severity"):
        run.timeline.add(
            Stage.DETECT,
            "severity",
            f"{assessment.severity.value}: {'; '.join(assessment.reasons)}",
            actor="policy:severity",
            severity=assessment.severity.value,
            requirements=assessment.requirements.model_dump(mode="json"),
        )
    return assessment
