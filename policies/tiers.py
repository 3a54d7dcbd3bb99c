"""The vocabularies every decision is expressed in: tiers, severities, timeout outcomes."""

from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    """How much human involvement an action needs before Firebreak may do it."""

    AUTOMATED = "automated"
    APPROVAL = "approval"
    HUMAN_ONLY = "human_only"
    DENIED = "denied"


class Severity(StrEnum):
    """Incident severity; SEV-1 is the most severe.

    Compare with :attr:`rank` or :meth:`at_least`, never with ``<`` (that compares strings).

    >>> Severity.SEV_1.at_least(Severity.SEV_2)
    True
    """

    SEV_1 = "SEV-1"
    SEV_2 = "SEV-2"
    SEV_3 = "SEV-3"
    SEV_4 = "SEV-4"

    @property
    def rank(self) -> int:
        """1 for SEV-1 (most severe) up to 4 for SEV-4."""
        return int(self.value.removeprefix("SEV-"))

    def at_least(self, other: Severity) -> bool:
        """True when this severity is as severe as ``other`` or more."""
        return self.rank <= other.rank


class TimeoutOutcome(StrEnum):
    """What happens when an approval is not given in time."""

    DENY = "deny"
    ESCALATE = "escalate"
