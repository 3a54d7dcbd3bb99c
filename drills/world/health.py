"""The world's health model, per service and region: pure, from the observed state and the
service's own faults (``drills.health`` holds the checkout model and its baseline effects).

- baseline: 0.5 % errors, 120 ms p99, :data:`DEMAND_PER_MIN` requests/min shared by weight;
- a known-bad build serving a share of a region's requests fails that share at its cause's
  rate (ECS 25 %, Lambda 12 %, launch template 20 %), and is slow;
- a harmful flag on fails 18 % everywhere; a degraded region fails at the rate given while it
  receives traffic;
- a dependency down fails 30 % everywhere and is slow, whatever else is changed, until the
  service's breaker flag for it is on: the service then stops calling it and serves its
  degraded answer (cached or default content) at the baseline error rate;
- saturation: a region's demand over its capacity (the smaller of its ECS desired tasks and its
  ASG InService instances; at the seeded size 2.5x its nominal share, so a drained region's
  traffic fits; Lambda is elastic) fails the excess and is slow; CPU is the demand's share of
  the capacity (40 % at the seeded size, 100 % when saturated; none for Lambda);
- throttling: the region's API Gateway stage, with a rate limit below the demand, refuses the
  excess (429 at the gateway: it never reaches the service, so the service's own error rate,
  latency and CPU do not count it; ``throttled_per_min`` records it); the service receives at
  most the limit, and saturation follows from that. The burst limit is not modelled (a
  sustained overload outlasts any burst). No limit set (the inverse): the whole demand arrives;
- maintenance page: a catch-all fixed-response rule on the region's ALB listener answers every
  request at the load balancer, so none reaches the service: its metrics have no datapoints;
- a region with no traffic publishes nothing (no requests, no datapoints).
"""

from __future__ import annotations

from drills.health import (
    BASELINE_ERROR_RATE,
    BASELINE_LATENCY_MS,
    EFFECTS,
    RegionHealth,
    ServiceHealth,
    jittered,
    traffic_shares,
)
from drills.world.names import DESIRED_COUNT
from drills.world.state import RegionState, ServiceFaults, ServiceState

DEMAND_PER_MIN = 12_000.0
HEADROOM = 2.5  # the seeded size takes 2.5x its nominal share: a two-region service survives a drain
WORLD_EFFECTS = {
    **EFFECTS,
    "bad_launch_template": (20.0, 1300.0),
    "saturated": (100.0, 1800.0),
    "degraded_mode": (0.0, BASELINE_LATENCY_MS),  # a breaker open: the degraded answer, no errors
}


def service_health(
    state: ServiceState, faults: ServiceFaults, *, tick: int = 0, seed: str = ""
) -> ServiceHealth:
    """Per-region health of one service; ``seed`` (the service name) decorrelates the jitter."""
    weights = {r: s.weight for r, s in state.regions.items()}
    if all(w is not None for w in weights.values()):
        shares = traffic_shares({r: w or 0 for r, w in weights.items()})
    else:
        shares = {r: 1.0 / len(state.regions) for r in state.regions}
    harmful_on = bool(faults.harmful_flags & state.flags_on)
    nominal = DEMAND_PER_MIN / len(state.regions)
    down = faults.dependencies_down
    service_causes = {
        "bad_flag": harmful_on,
        "dependency_down": bool(down - state.open_breakers),
        "degraded_mode": bool(down & state.open_breakers),
    }
    causes = tuple(cause for cause, active in service_causes.items() if active)
    return ServiceHealth(
        regions={
            region: _region(region, rs, shares[region], nominal, faults, causes, tick, seed)
            for region, rs in state.regions.items()
        },
        dependencies_down=tuple(sorted(down)),
        breakers_open=tuple(sorted(state.open_breakers)),
    )


def _region(
    region: str,
    rs: RegionState,
    share: float,
    nominal: float,
    faults: ServiceFaults,
    service_causes: tuple[str, ...],
    tick: int,
    seed: str,
) -> RegionHealth:
    offered = DEMAND_PER_MIN * share * faults.spikes.get(region, 1.0)
    if offered == 0.0:
        return _unserved(0.0, ())
    if rs.maintenance_page:
        return _unserved(share, ("maintenance_page",))
    demand = offered if rs.throttle_rate is None else min(offered, 60.0 * rs.throttle_rate)
    if demand == 0.0:  # a stage limit of 0 refuses every request at the gateway
        return _unserved(share, (), throttled=round(offered, 1))
    causes = {cause: scale for cause, scale in rs.bad_shares.items() if scale > 0.0}
    if rs.alb_dead_share > 0.0:
        causes["alb_no_targets"] = rs.alb_dead_share
    causes |= dict.fromkeys(service_causes, 1.0)
    saturation = _saturation(demand, nominal, rs.capacity_units)
    if saturation is not None and saturation > 1.0:
        causes["saturated"] = 1.0 - 1.0 / saturation
    key = f"{seed}:{region}"
    ok = 1.0 - jittered(BASELINE_ERROR_RATE, tick, key, "error") / 100.0
    for cause, scale in causes.items():
        ok *= 1.0 - scale * WORLD_EFFECTS[cause][0] / 100.0
    degraded = faults.degraded.get(region)
    if degraded:
        ok *= 1.0 - degraded / 100.0
    latencies = [jittered(BASELINE_LATENCY_MS, tick, key, "latency")] + [WORLD_EFFECTS[c][1] for c in causes]
    if degraded:
        latencies.append(WORLD_EFFECTS["region_degraded"][1])
    return RegionHealth(
        error_rate=round(100.0 * (1.0 - ok), 3),
        latency_p99_ms=round(max(latencies), 1),
        requests_per_min=round(jittered(demand, tick, key, "requests"), 1),
        traffic_share=share,
        causes=(*causes, *(["region_degraded"] if degraded else [])),
        saturation_percent=None if saturation is None else _cpu(saturation, tick, key),
        throttled_per_min=round(offered - demand, 1),
    )


def _unserved(share: float, causes: tuple[str, ...], *, throttled: float = 0.0) -> RegionHealth:
    """A region whose service receives no request: nothing to measure, so no datapoints."""
    return RegionHealth(
        error_rate=None, latency_p99_ms=None, requests_per_min=0.0, traffic_share=share, causes=causes,
        throttled_per_min=throttled,
    )  # fmt: skip


def _saturation(demand: float, nominal: float, units: int | None) -> float | None:
    """Demand over capacity (1.0 = full); None for elastic compute (Lambda)."""
    if units is None:
        return None
    capacity = nominal * HEADROOM * units / DESIRED_COUNT
    return demand / capacity if capacity > 0 else float("inf")


def _cpu(saturation: float, tick: int, key: str) -> float:
    return round(min(100.0, jittered(100.0 * saturation, tick, key, "cpu")), 1)
