"""What the world simulator knows: each service's live state (read from AWS every tick) and the
faults that live outside AWS (simulator state, set by a scenario)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RegionState:
    """One region of one service, as observed.

    ``bad_shares``: cause -> the share of the region's requests served by a known-bad build
    (``bad_deploy``: the ECS image; ``bad_lambda``: alias versions, canary weights included;
    ``bad_launch_template``: the ASG's InService instances on a bad version).
    """

    bad_shares: dict[str, float]
    alb_dead_share: float = 0.0
    weight: int | None = None  # the region's Route 53 weight; None without weighted DNS
    capacity_units: int | None = None  # ECS desired tasks + ASG InService instances; None = elastic (Lambda)
    revision: str = ""  # what runs, for log lines
    throttle_rate: float | None = None  # the API Gateway stage's */* rate limit (req/s); None: unset
    maintenance_page: bool = False  # a catch-all fixed-response rule answers on the ALB listener


@dataclass(frozen=True)
class ServiceState:
    regions: dict[str, RegionState]
    flags_on: frozenset[str] = frozenset()
    open_breakers: frozenset[str] = frozenset()  # dependencies whose breaker flag is on


@dataclass(frozen=True)
class ServiceFaults:
    """A service's faults outside AWS."""

    harmful_flags: frozenset[str] = frozenset()  # flags whose code path is broken when on
    degraded: dict[str, float] = field(default_factory=dict)  # region -> error rate % it fails
    dependencies_down: frozenset[str] = frozenset()
    spikes: dict[str, float] = field(default_factory=dict)  # region -> demand factor
    silent: frozenset[str] = frozenset()  # regions down hard: nothing answers, nothing is published
