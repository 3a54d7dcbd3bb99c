"""What an incident came to in each region it covered: the report's, postmortem's and
``firebreak incidents``' per-region lines. Pure data."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class RegionStatus(StrEnum):
    """Where one affected region stands when the run ends."""

    RECOVERED = "recovered"  # a mitigation was applied and the region's signal held
    ESCALATED = "escalated"  # not recovered; a person confirmed the checklist
    NOT_RECOVERED = "not_recovered"  # not recovered, and no person confirmed (they were paged)
    NOT_HANDLED = "not_handled"  # its alert joined after the response ended (the on-call is paged)


class RegionOutcome(BaseModel):
    """One affected region: the alerts that named it, what was done there, what it came to."""

    model_config = ConfigDict(frozen=True)

    region: str
    alerts: list[str] = Field(description="The names of the alerts that brought the region in.")
    done: list[str] = Field(
        default_factory=list,
        description="Each mitigation tried for it (or for every region): '<kind>: <status>'.",
    )
    status: RegionStatus

    @property
    def line(self) -> str:
        """``us-east-1: recovered (rollback.ecs: applied; alarms checkout-5xx-us-east-1)``."""
        done = "; ".join(self.done) or "nothing applied"
        return f"{self.region}: {self.status.value} ({done}; alerts {', '.join(self.alerts)})"
