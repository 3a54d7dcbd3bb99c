"""Time in policy: recurring windows (business hours) and one-off change freezes.

Every window names its timezone or carries offsets, so "09:00-18:00 Mon-Fri" means the same
thing on every machine, and a freeze that starts at midnight in Paris starts then everywhere.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from policies.selectors import Name, Selector
from policies.tiers import Severity


class Weekday(StrEnum):
    """Days of the week, in ``datetime.weekday()`` order."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class TimeWindow(BaseModel):
    """A recurring window: some weekdays, from ``start_hour`` to ``end_hour`` local time.

    Hours are integers on purpose: YAML 1.1 reads ``18:00`` as the number 1080. When
    ``start_hour > end_hour`` the window wraps midnight (22 to 6 is the night shift), and its
    hours after midnight belong to the weekday it started on (see :meth:`contains`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = Field(default="UTC", description="IANA timezone name, e.g. Europe/Paris.")
    weekdays: list[Weekday] = Field(default=list(Weekday), min_length=1)
    start_hour: int = Field(default=0, ge=0, le=23, description="First hour inside the window.")
    end_hour: int = Field(default=24, ge=1, le=24, description="First hour after the window.")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown timezone {name!r} (use an IANA name like Europe/Paris)") from e
        return name

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if self.start_hour == self.end_hour:
            raise ValueError("start_hour equals end_hour: the window would be empty")
        return self

    def contains(self, moment: datetime) -> bool:
        """True when the aware ``moment`` falls inside the window, in the window's timezone.

        The hours after midnight of a wrapping window belong to the weekday on which it started:
        ``weekdays: [fri], start_hour: 22, end_hour: 2`` covers Saturday 01:00, not Friday 01:00.
        """
        local = moment.astimezone(ZoneInfo(self.timezone))
        started = local.weekday()
        if self.start_hour < self.end_hour:
            inside = self.start_hour <= local.hour < self.end_hour
        elif local.hour >= self.start_hour:
            inside = True
        else:  # after midnight: the window opened the day before
            inside, started = local.hour < self.end_hour, (started - 1) % 7
        return inside and list(Weekday)[started] in self.weekdays


class FreezeWindow(Selector):
    """A change freeze: the selected mutating actions are denied from ``start`` until ``end``."""

    name: Name
    start: AwareDatetime = Field(description="Inclusive; must carry a UTC offset.")
    end: AwareDatetime = Field(description="Exclusive; must carry a UTC offset.")
    exempt_severities: list[Severity] = Field(
        default_factory=list, description="Incidents of these severities may still act."
    )

    @model_validator(mode="after")
    def _ordered(self) -> FreezeWindow:
        if self.end <= self.start:
            raise ValueError(f"freeze window {self.name!r} ends before it starts")
        return self

    def active(self, moment: datetime) -> bool:
        """True when ``moment`` is inside the freeze."""
        return self.start <= moment < self.end
