"""Evidence that moves every hypothesis the same way in the same place: the service's alarms in
ALARM and its unhealthy targets (each +:data:`BONUS` and an evidence line), and the top error
log signatures (evidence lines only, shown to approvers).

A hypothesis about one region is corroborated by that region; one about the whole service (a
flag, a breaker) by every unhealthy region.
"""

from __future__ import annotations

from flows.diagnosis.model import Hypothesis
from tasks.evidence import EvidenceBundle

BONUS = 0.05
TOP_SIGNATURES = 3


def corroborate(hypothesis: Hypothesis, bundle: EvidenceBundle, bad: set[str]) -> Hypothesis:
    regions = [hypothesis.region] if hypothesis.region in bundle.regions else sorted(bad)
    lines: list[str] = []
    h = hypothesis
    for region in regions:
        ev = bundle.regions[str(region)]
        alarms = ev.alarms_in_alarm()
        if alarms:
            why = f"{len(alarms)} alarm(s) in ALARM in {region}: {', '.join(alarms)}"
            h, lines = h.with_part(why, BONUS), [*lines, why]
        sick = ev.unhealthy_targets()
        if sick:
            why = f"{len(sick)} of {len(ev.targets)} targets unhealthy in {region}"
            h, lines = h.with_part(why, BONUS), [*lines, why]
        lines += [
            f"log errors in {region}: {s.count}x {s.signature[:200]}"
            for s in ev.log_signatures()[:TOP_SIGNATURES]
        ]
    return h.model_copy(update={"evidence": [*h.evidence, *lines]})
