"""The drill clock: wall time compressed, so a 30-minute incident plays out in 30 seconds.

AWS timestamps stay real wall-clock times (CloudWatch, ECS and SSM stamp them, and flows read
them back); only reporting is in drill time. A scorecard converts a wall duration such as
"from fault to recovery" into the drill duration it stands for.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

DEFAULT_SPEED = 60.0  # 1 wall second = 1 drill minute


class DrillClock(BaseModel):
    """Maps wall time since ``started_at`` to drill time, ``speed`` drill seconds per wall second.

    >>> clock = DrillClock(speed=60)
    >>> clock.to_drill(timedelta(seconds=30))
    datetime.timedelta(seconds=1800)
    """

    model_config = ConfigDict(frozen=True)

    started_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    speed: float = Field(default=DEFAULT_SPEED, gt=0.0, description="Drill seconds per wall second.")

    def to_drill(self, wall: timedelta) -> timedelta:
        """The drill duration a wall duration stands for."""
        return wall * self.speed

    def to_wall(self, drill: timedelta) -> timedelta:
        """The wall duration of a drill duration, e.g. a bake time written in drill minutes."""
        return drill / self.speed

    def elapsed(self, at: datetime | None = None) -> timedelta:
        """Drill time elapsed from the start to ``at`` (default: now)."""
        moment = at or datetime.now(UTC)
        if moment.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        return self.to_drill(moment - self.started_at)

    def drill_time(self, at: datetime | None = None) -> datetime:
        """The drill-clock reading at ``at``: ``started_at`` plus the elapsed drill time."""
        return self.started_at + self.elapsed(at)
