"""Rule on what the service calls: a catalogued dependency is failing -> open its breaker.

A dependency is failing when its health metric is beyond its threshold or its alarm is in ALARM
in any region (``DependencyHealth.unhealthy``), or when at least :data:`MIN_LOG_MENTIONS` of the
error log lines read name it (one of its ``log_patterns``, case-insensitive). A metric without
data and a missing alarm say nothing. With a ``breaker_flag`` in the catalog the hypothesis is
``open_breaker`` (automated containment by default); without one it is ``escalate``, naming
the dependency in the person's checklist.
"""

from __future__ import annotations

from flows.diagnosis.model import Hypothesis, HypothesisKind, ScorePart
from tasks.catalog import Dependency, ServiceEnvironment
from tasks.evidence import DependencyHealth, EvidenceBundle

MIN_LOG_MENTIONS = 2


def dependency_rules(bundle: EvidenceBundle, entry: ServiceEnvironment) -> list[Hypothesis]:
    return [h for name, dep in sorted(entry.dependencies.items()) if (h := _failing(bundle, name, dep))]


def _failing(bundle: EvidenceBundle, name: str, dependency: Dependency) -> Hypothesis | None:
    health = [
        f"{region}: {name} {_reading(h, dependency)}"
        for region, ev in sorted(bundle.regions.items())
        if (h := ev.dependencies.get(name)) is not None and h.unhealthy
    ]
    patterns = [p.lower() for p in dependency.log_patterns]
    mentions = [
        line
        for ev in bundle.regions.values()
        for line in ev.log_errors
        if any(p in line.message.lower() for p in patterns)
    ]
    if not health and len(mentions) < MIN_LOG_MENTIONS:
        return None
    parts = []
    if health:
        parts.append(ScorePart(reason=f"{name} health signal unhealthy", value=0.75))
    if len(mentions) >= MIN_LOG_MENTIONS:
        parts.append(
            ScorePart(reason=f"{len(mentions)} error log lines name {name}", value=0.1 if health else 0.55)
        )
    evidence = [
        *health,
        *(
            [f"{len(mentions)} error log lines name {name}, e.g. {mentions[0].message[:200]}"]
            if mentions
            else []
        ),
    ]
    if dependency.breaker_flag is None:
        return Hypothesis.scored(
            parts,
            kind=HypothesisKind.ESCALATE,
            summary=f"dependency {name} is failing and the catalog has no breaker for it; "
            "a human must decide",
            evidence=evidence,
            dependency=name,
            checklist=[
                f"Dependency {name} is failing ({'; '.join(evidence)[:300]}): fail it over, degrade the "
                "feature that needs it, or wait for it, by hand"
            ],
        )
    return Hypothesis.scored(
        parts,
        kind=HypothesisKind.OPEN_BREAKER,
        summary=f"dependency {name} is failing; open its breaker ({dependency.breaker_flag}: serve the "
        "degraded answer)",
        evidence=evidence,
        dependency=name,
        flag=dependency.breaker_flag,
    )


def _reading(health: DependencyHealth, dependency: Dependency) -> str:
    bad = [f"metric {health.metric_value:g}"] if health.metric_healthy is False else []
    if health.alarm_state == "ALARM":
        bad.append(f"alarm {dependency.alarm} in ALARM")
    return ", ".join(bad)
