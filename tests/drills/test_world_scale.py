"""A catalog of 20 services is cheap to tick: one PutMetricData per region and namespace, every
service with its own signal."""

from __future__ import annotations

import time
from typing import Any

from drills.sandbox import Sandbox
from drills.world import seed_world
from drills.world.simulator import WorldSimulator
from tasks.catalog import Catalog

REGION = "eu-west-1"


def _service(name: str) -> dict[str, Any]:
    dims = {"Service": name, "Region": REGION}
    common = {"namespace": "Fleet", "dimensions": dims, "period_seconds": 1}
    errors = {"name": "error_rate", "metric_name": "ErrorRate", "healthy_threshold": 5.0, **common}
    traffic = {"name": "requests", "metric_name": "Requests", "healthy_threshold": 0, **common}
    return {
        "prod": {
            "primary_region": REGION,
            "regions": {
                REGION: {
                    "lambda_alias": {"function": f"{name}-fn", "alias": "live"},
                    "alarms": [f"{name}-ErrorRate"],
                    "metrics": [errors, {**traffic, "healthy_when": "above", "role": "traffic"}],
                }
            },
        }
    }  # fmt: skip


def test_twenty_services_one_put_per_tick(sandbox: Sandbox) -> None:
    sandbox.reset()
    spec = Catalog.model_validate({"services": {f"svc{i:02d}": _service(f"svc{i:02d}") for i in range(20)}})
    catalog = seed_world(spec, sandbox.endpoint_url)
    sim = WorldSimulator(catalog, sandbox.endpoint_url)
    sim.degrade("svc07", REGION, 40.0)
    started = time.monotonic()
    tick = sim.tick()
    print(f"tick of 20 services: {time.monotonic() - started:.2f} s")  # measured, not asserted
    assert tick.metric_puts == 1
    broken = {s for s, h in tick.health.items() if (h.regions[REGION].error_rate or 0) >= 5.0}
    assert broken == {"svc07"}  # one signal per service
