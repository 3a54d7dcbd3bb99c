"""The health model: what checkout's metrics would be, given what production looks like.

Pure: from the observed sandbox state and the simulator's own faults it computes each
region's error rate, p99 latency and request rate. The rules (docs/sandbox.md) are chosen so
that the right mitigation genuinely brings the metrics back and a wrong one does not:

- baseline: 0.5 % errors, 120 ms p99, 12,000 requests/min shared by Route 53 weight;
- a bad ECS revision serving in a region: ~25 % errors there; a bad Lambda version live: ~12 %;
  every fault is slow as well as failing (p99 over the latency alarm's 800 ms), so a service's
  two alarms fire together;
- ``new-pricing-engine`` on: ~18 % errors and slow everywhere;
- ALB traffic sent to a target group with no healthy target: that share fails (503);
- a degraded region: ~40 % errors there, while it receives traffic;
- Route 53 weight 0: the region serves no one (0 requests and, as in real CloudWatch, no error
  rate or latency at all: a rate over zero requests is no datapoint, not 0 %); the others take
  its share;
- dependency down: ~30 % everywhere, whatever is done (nothing automated can fix it).

Causes combine as independent failure probabilities; p99 is the worst cause's latency.
"""

from __future__ import annotations

import hashlib

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from drills.seed_names import FLAG_NEW_PRICING, FLAG_ONE_CLICK

BASELINE_ERROR_RATE = 0.5
BASELINE_LATENCY_MS = 120.0
TOTAL_REQUESTS_PER_MIN = 12_000.0
JITTER = 0.05  # at most +-5 % of the baseline, deterministic per (tick, region, metric)
LOAD_LATENCY_FACTOR = 0.25  # p99 grows 25 % when a region takes twice its nominal share
ONE_CLICK_OFF_TRAFFIC = 0.9  # one-click-buy off: 10 % fewer checkouts (a business cost, no errors)

# cause -> (error rate %, p99 ms) while it applies
EFFECTS: dict[str, tuple[float, float]] = {
    "bad_deploy": (25.0, 1400.0),
    "bad_lambda": (12.0, 1100.0),
    "bad_flag": (18.0, 950.0),
    "region_degraded": (40.0, 2400.0),
    "dependency_down": (30.0, 3000.0),
    "alb_no_targets": (100.0, BASELINE_LATENCY_MS),  # scaled by the share sent there
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegionState(_Frozen):
    """What one region of the service is running and how much traffic it is sent. The checkout
    sandbox fills every field; a catalog world's final state (``drills.world.final``) only what
    the service has (None: it has no such resource)."""

    ecs_revision: int | None = Field(
        default=None, description="Task-definition revision the ECS service runs."
    )
    ecs_image: str = ""
    ecs_bad: bool = Field(default=False, description="The serving image is a known-bad build.")
    desired_count: int | None = Field(default=None, description="The ECS service's desired count.")
    scalable_min: int | None = Field(default=None, description="Its scalable target's MinCapacity.")
    lambda_version: str | None = Field(default=None, description="Version the live alias points at.")
    lambda_bad_share: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of invocations on a bad version."
    )
    alb_weights: dict[str, int] = Field(
        default_factory=dict, description="Target group name -> listener weight."
    )
    alb_dead_share: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of ALB traffic with no healthy target."
    )
    asg_desired: int | None = Field(default=None, description="The ASG's desired capacity.")
    asg_min: int | None = Field(default=None, description="The ASG's MinSize.")
    launch_template_version: str | None = Field(default=None, description="The version the ASG launches.")
    route53_weight: int | None = Field(default=None, ge=0)
    throttle_rate: float | None = Field(
        default=None, description="The API Gateway stage's rate limit (req/s); None: none set."
    )
    maintenance_page: bool | None = Field(
        default=None, description="A catch-all fixed-response rule is on the ALB listener."
    )


class SandboxState(_Frozen):
    """Production as observed: per region state, and feature flags (name -> on)."""

    regions: dict[str, RegionState] = Field(min_length=1)
    flags: dict[str, bool]
    observed_at: AwareDatetime

    def final_values(self) -> dict[str, dict[str, str | None]]:
        """``expect.final_state``'s keys -> what was read (as text; None: not there)."""
        per_region = {
            key: {r: None if (v := getattr(s, key)) is None else str(v) for r, s in self.regions.items()}
            for key in REGION_KEYS
        }
        return {**per_region, "flag": {f: "on" if on else "off" for f, on in self.flags.items()}}


REGION_KEYS = (
    "ecs_revision", "desired_count", "scalable_min", "lambda_version", "route53_weight",
    "asg_desired", "asg_min", "launch_template_version", "throttle_rate", "maintenance_page",
)  # fmt: skip


class SimulatorFaults(_Frozen):
    """Faults that live outside AWS: they are simulator state, set by the scenario."""

    region_degraded: frozenset[str] = frozenset()
    region_silent: frozenset[str] = Field(
        default=frozenset(), description="Total outage: the service answers nothing and publishes no metrics."
    )
    dependency_down: bool = False


class RegionHealth(_Frozen):
    error_rate: float | None = Field(description="Percent of requests failing; None without requests.")
    latency_p99_ms: float | None = Field(description="None without requests: nothing to measure.")
    requests_per_min: float
    traffic_share: float = Field(ge=0.0, le=1.0, description="Share of users routed here.")
    causes: tuple[str, ...] = Field(description="Active causes, for log lines and explanations.")
    saturation_percent: float | None = Field(
        default=None, description="CPU of the region's capacity (0-100); None without requests, or elastic."
    )
    throttled_per_min: float = Field(
        default=0.0, description="Requests refused (429) at the API Gateway stage before the service."
    )


class ServiceHealth(_Frozen):
    regions: dict[str, RegionHealth]
    dependencies_down: tuple[str, ...] = Field(default=(), description="Dependencies failing (world drills).")
    breakers_open: tuple[str, ...] = Field(
        default=(), description="Dependencies the service no longer calls: their breaker flag is on."
    )

    @property
    def user_error_rate(self) -> float:
        """The error rate users see: the traffic-weighted mean over regions."""
        served = [h for h in self.regions.values() if h.error_rate is not None]
        total = sum(h.requests_per_min for h in served)
        if total == 0:
            return 0.0
        return sum((h.error_rate or 0.0) * h.requests_per_min for h in served) / total


def compute_health(state: SandboxState, faults: SimulatorFaults, *, tick: int = 0) -> ServiceHealth:
    """Per-region metrics for ``state`` under ``faults``; ``tick`` only seeds the jitter.

    >>> compute_health(state, SimulatorFaults(dependency_down=True)).user_error_rate
    30.3...
    """
    shares = traffic_shares({r: s.route53_weight or 0 for r, s in state.regions.items()})
    bad_flag_on = state.flags.get(FLAG_NEW_PRICING, False)
    demand = TOTAL_REQUESTS_PER_MIN * (
        1.0 if state.flags.get(FLAG_ONE_CLICK, True) else ONE_CLICK_OFF_TRAFFIC
    )
    nominal = 1.0 / len(state.regions)
    return ServiceHealth(
        regions={
            region: _region_health(
                region, rs, shares[region], nominal, demand, faults, bad_flag_on=bad_flag_on, tick=tick
            )
            for region, rs in state.regions.items()
        }
    )


def traffic_shares(weights: dict[str, int]) -> dict[str, float]:
    """Route 53 weighted routing: share = weight / total; all weights 0 means equal shares."""
    total = sum(weights.values())
    if total == 0:
        return {region: 1.0 / len(weights) for region in weights}
    return {region: weight / total for region, weight in weights.items()}


def _region_health(
    region: str,
    rs: RegionState,
    share: float,
    nominal: float,
    demand: float,
    faults: SimulatorFaults,
    *,
    bad_flag_on: bool,
    tick: int,
) -> RegionHealth:
    if share == 0.0:
        return RegionHealth(
            error_rate=None, latency_p99_ms=None, requests_per_min=0.0, traffic_share=0.0, causes=()
        )
    weighted = _causes(rs, faults, region, bad_flag_on=bad_flag_on)
    ok = 1.0 - jittered(BASELINE_ERROR_RATE, tick, region, "error") / 100.0
    for cause, scale in weighted.items():
        ok *= 1.0 - scale * EFFECTS[cause][0] / 100.0
    load_latency = BASELINE_LATENCY_MS * (1.0 + LOAD_LATENCY_FACTOR * (share / nominal - 1.0))
    latency = max([jittered(load_latency, tick, region, "latency")] + [EFFECTS[c][1] for c in weighted])
    return RegionHealth(
        error_rate=round(100.0 * (1.0 - ok), 3),
        latency_p99_ms=round(latency, 1),
        requests_per_min=round(jittered(demand * share, tick, region, "requests"), 1),
        traffic_share=share,
        causes=tuple(weighted),
    )


def _causes(rs: RegionState, faults: SimulatorFaults, region: str, *, bad_flag_on: bool) -> dict[str, float]:
    """Active causes in the region, each with the share of its traffic it affects."""
    candidates = {
        "bad_deploy": 1.0 if rs.ecs_bad else 0.0,
        "bad_lambda": rs.lambda_bad_share,
        "bad_flag": 1.0 if bad_flag_on else 0.0,
        "region_degraded": 1.0 if region in faults.region_degraded else 0.0,
        "dependency_down": 1.0 if faults.dependency_down else 0.0,
        "alb_no_targets": rs.alb_dead_share,
    }
    return {cause: scale for cause, scale in candidates.items() if scale > 0.0}


def jittered(value: float, tick: int, region: str, metric: str) -> float:
    digest = hashlib.sha256(f"{tick}:{region}:{metric}".encode()).digest()
    unit = int.from_bytes(digest[:4], "big") / 0xFFFFFFFF  # 0..1, the same for the same inputs
    return value * (1.0 + JITTER * (2.0 * unit - 1.0))
