"""CloudWatch alarm evaluation, pure: the state an alarm takes from its recent datapoints.

moto never evaluates alarms, so the world simulator does, as CloudWatch does: over the last
``EvaluationPeriods`` periods, ALARM when at least ``DatapointsToAlarm`` of them breach; a
missing period counts per ``TreatMissingData`` (``missing``: left out, and with no datapoint
at all INSUFFICIENT_DATA; ``notBreaching``: good; ``breaching``: bad; ``ignore``: left out, and
with no datapoint the state is kept). The simulator evaluates on data one period old: the
current period's datapoint is not complete yet (metric data lags by a period).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drills.telemetry import alarm_state

ALARM, OK, INSUFFICIENT = "ALARM", "OK", "INSUFFICIENT_DATA"


@dataclass(frozen=True)
class AlarmRule:
    """The evaluation settings of one alarm, as ``DescribeAlarms`` returns them."""

    name: str
    threshold: float
    operator: str
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None  # None: the same as evaluation_periods
    treat_missing_data: str = "missing"

    @classmethod
    def from_described(cls, alarm: dict[str, object]) -> AlarmRule:
        periods = int(str(alarm.get("EvaluationPeriods") or 1))
        to_alarm = alarm.get("DatapointsToAlarm")
        return cls(
            name=str(alarm["AlarmName"]),
            threshold=float(str(alarm["Threshold"])),
            operator=str(alarm["ComparisonOperator"]),
            evaluation_periods=periods,
            datapoints_to_alarm=int(str(to_alarm)) if to_alarm is not None else None,
            treat_missing_data=str(alarm.get("TreatMissingData") or "missing"),
        )


def evaluate(rule: AlarmRule, values: Sequence[float | None], current: str) -> str:
    """The state for ``values`` (one per period, oldest first; None = no datapoint)."""
    recent = list(values)[-rule.evaluation_periods :]
    missing: list[float | None] = [None] * (rule.evaluation_periods - len(recent))
    window = missing + recent
    needed = rule.datapoints_to_alarm or rule.evaluation_periods
    treat = rule.treat_missing_data
    if treat not in {"missing", "notBreaching", "breaching", "ignore"}:
        raise ValueError(f"unsupported TreatMissingData {treat!r}")
    present = [v for v in window if v is not None]
    breaching = sum(alarm_state(v, rule.threshold, rule.operator) == ALARM for v in present)
    if treat == "breaching":
        breaching += len(window) - len(present)
    if breaching >= needed:
        return ALARM
    if not present and treat in {"missing", "ignore"}:
        return INSUFFICIENT if treat == "missing" else current
    return OK
