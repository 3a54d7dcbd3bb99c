"""Who is paged, and when, while an incident waits for a human: escalation levels per severity.

Each level is its own PagerDuty service (its own escalation policy there), named by the
environment variable that holds its routing key: the key itself never appears in a policy.
A level is paged once the pause it escalates has waited ``after_minutes`` unanswered; the
first level (``after_minutes: 0``) is the one paged at once and the one the incident flow pages.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from policies.selectors import Name
from policies.tiers import Severity

DEFAULT_ROUTING_KEY_ENV = "FIREBREAK_PAGERDUTY_ROUTING_KEY"


class PageLevel(BaseModel):
    """One escalation level: who (a PagerDuty service), after how long unanswered."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    after_minutes: float = Field(default=0, ge=0, description="Unanswered this long: page this level.")
    routing_key_env: str = Field(
        default=DEFAULT_ROUTING_KEY_ENV,
        pattern=r"^[A-Z][A-Z0-9_]*$",
        description="The environment variable holding this level's routing key (never the key).",
    )


ONCALL = PageLevel(name="oncall")


class PagingSettings(BaseModel):
    """Escalation levels per severity; a severity not listed pages the on-call level only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    escalation: dict[Severity, list[PageLevel]] = Field(default_factory=dict)

    def levels_for(self, severity: Severity) -> list[PageLevel]:
        """The levels for ``severity``, soonest first."""
        return sorted(self.escalation.get(severity) or [ONCALL], key=lambda level: level.after_minutes)


def due_levels(levels: list[PageLevel], *, waited: timedelta, paged: set[str]) -> list[PageLevel]:
    """The levels to page now: waited long enough and not paged yet for this pause. Pure.

    >>> due_levels([ONCALL, PageLevel(name="ic", after_minutes=10)], waited=timedelta(minutes=11),
    ...            paged={"oncall"})
    [PageLevel(name='ic', after_minutes=10.0, routing_key_env='FIREBREAK_PAGERDUTY_ROUTING_KEY')]
    """
    return [lv for lv in levels if lv.name not in paged and waited >= timedelta(minutes=lv.after_minutes)]
