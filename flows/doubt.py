"""No data at confirmation is doubt, not health.

A service that is completely down often publishes no datapoints, and an alarm with
``TreatMissingData: breaching`` fires on exactly that. Only a healthy reading refutes an alert
(``flows.detect.confirm``); when the alert's own metric has no data, Firebreak reads the other
metrics the catalog names for that region (signal and saturation metrics, the traffic metric):
one of them on its unhealthy side confirms the alert and the incident goes on as usual.
Otherwise a person gets the incident, with what was read and why nothing was done. The alarm's
state is read for that person, never as a confirmation: an alarm that breaches on missing data
is what raised the doubt in the first place.
"""

from __future__ import annotations

from datetime import timedelta

from flows.incident_run import IncidentRun
from flows.resolve import Escalation, hand_over
from flows.timeline import Stage
from flows.verify import Probe, Reading, SignalCheck
from tasks.catalog import MetricRole
from tasks.metrics import SignalHealth, alarm_states, latest_values

SECOND_SOURCE_ROLES = frozenset({MetricRole.SIGNAL, MetricRole.SATURATION})


def second_opinion(run: IncidentRun, check: SignalCheck) -> list[Reading]:
    """Read every other catalogued metric of the alert's region once, over the confirmation
    window, and record what each says."""
    others = [m for m in run.entry.region(run.region).metrics if m.name != check.metric]
    if not others:
        return []
    window = timedelta(seconds=max(run.settings.confirm_window_seconds, *(m.period_seconds for m in others)))
    values = latest_values(others, aws=run.aws(), window=window)
    readings = [Probe(region=run.region, spec=m).judge(values[m.name], check.readings[-1].at) for m in others]
    confirming = confirmations(run, readings)
    verdict = f"confirmed by {', '.join(r.metric for r in confirming)}" if confirming else "nothing confirms"
    run.timeline.add(
        Stage.DETECT,
        "second-source",
        "; ".join(f"{r.metric}={_value(r)} ({r.state.value})" for r in readings) + f": {verdict}",
        readings=[r.model_dump(mode="json") for r in readings],
        confirmed=bool(confirming),
    )
    return readings


def confirmations(run: IncidentRun, readings: list[Reading]) -> list[Reading]:
    """The readings that confirm the alert: a signal or saturation metric on its unhealthy side
    (a traffic count has no unhealthy side)."""
    roles = {m.name: m.role for m in run.entry.region(run.region).metrics}
    return [
        r for r in readings if roles[r.metric] in SECOND_SOURCE_ROLES and r.state is SignalHealth.UNHEALTHY
    ]


def _value(reading: Reading) -> str:
    return "no data" if reading.value is None else str(reading.value)


def hand_over_doubt(run: IncidentRun, check: SignalCheck, readings: list[Reading]) -> Escalation:
    """Nothing confirms and nothing refutes: page a person with a checklist that says what was
    read and why Firebreak did nothing. Returns the hand-over's outcome (see ``hand_over``)."""
    alarm = run.alert.name
    state = alarm_states([alarm], aws=run.aws()).get(alarm, "not found")
    read = [f"{r.metric} in {r.region}: {_value(r)}" for r in readings]
    return hand_over(
        run,
        title=f"{run.service} ({run.environment}) in {run.region}: the alert cannot be confirmed, no data",
        steps=[
            f"Check whether {run.service} answers in {run.region} (a total outage publishes no metrics)",
            f"Look at alarm {alarm} (state now: {state}) and its TreatMissingData setting",
            "Check the load balancer's and the clients' view of the service, outside CloudWatch",
            "If it is down, mitigate by hand or re-send the alert once a metric shows it",
            "Record here what you found; Firebreak keeps it in the timeline and the postmortem",
        ],
        why=(
            f"{check.metric} in {run.region} had no datapoints in {len(check.readings)} reading(s), and no "
            "other metric of the region confirms the alert: no data never confirms, and never refutes"
        ),
        evidence=[
            f"{check.metric} in {run.region}: no data ({len(check.readings)} readings)",
            *read,
            f"alarm {alarm}: {state}",
        ],
    )
