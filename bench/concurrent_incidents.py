"""Benchmark 3: 20 incidents on 20 services at once, on the production topology; time to mitigation.

Each service is its own world (drills.world): a Lambda alias, an error-rate alarm, traffic and an
SSM feature flag of its own, simulated by drills.world.simulator.WorldSimulator from that
service's own live AWS state, so each incident confirms, mitigates and bakes against **its own
signal**. The fault: the service's flag ``new-pricing-engine`` turned on while its code path is
broken; the mitigation the policy automates: turning it off. The stack is firebreak.stack (the
process pool, ``--workers`` Firebreak workers (``python -m firebreak.worker``), ``--receivers``
``firebreak serve``, the watchdog), on PostgreSQL with ``--postgres`` and on Prefect's SQLite otherwise.

The sandbox (moto) runs in a process of its own (``Sandbox(own_process=True)``), so that the
simulator and the flag watcher in this process do not share an interpreter lock with moto
answering the flows. ``cpu_s_while_concurrent``: CPU seconds of each part between the first
alert and the last flag off (bench/cpu.py).

First ``--singles`` incidents one at a time (``single_s`` is their p50), then ``--incidents`` at
once. Time to mitigation counts from the alert's POST to the flag read back off in AWS.

    python -m bench.concurrent_incidents --incidents 20 --postgres --workers 2 --receivers 2
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from bench.cpu import spent, stack_cpu
from bench.prefect_api import PrefectApi, RunRecord
from bench.receiver import HEADERS, TOKEN, generic_alert
from bench.stack import bench_settings, exit_on_sigterm, workdir
from bench.stats import emit, percentile, progress
from drills.alerting import wait_for_alarm
from drills.sandbox import Sandbox
from drills.seed import write_catalog
from drills.world import seed_world
from drills.world.faults import flag_on
from drills.world.simulator import WorldSimulator
from firebreak.stack import LocalStack, StackSpec
from flows.settings import RunSettings
from tasks.aws import call, client
from tasks.catalog import Catalog

REGION = "eu-west-1"
ENVIRONMENT = "prod"
FLAG = "new-pricing-engine"


def service_spec(name: str) -> dict[str, Any]:
    """One small service of its own: Lambda alias, error-rate alarm, traffic metric, an SSM flag."""
    dims = {"Service": name, "Region": REGION}
    common = {"namespace": "Fleet", "dimensions": dims, "period_seconds": 1}
    errors = {"name": "error_rate", "metric_name": "ErrorRate", "healthy_threshold": 5.0, **common}
    traffic = {"name": "requests", "metric_name": "Requests", "healthy_threshold": 0, **common}
    region = {
        "lambda_alias": {"function": f"{name}-fn", "alias": "live"},
        "alarms": [f"{name}-ErrorRate"],
        "metrics": [errors, {**traffic, "healthy_when": "above", "role": "traffic"}],
    }
    flags = {"region": REGION, "flags": {FLAG: f"/{name}/{ENVIRONMENT}/flags/{FLAG}"}}
    return {ENVIRONMENT: {"primary_region": REGION, "regions": {REGION: region}, "flags": flags}}


def flag_parameter(catalog: Catalog, service: str) -> str:
    store = catalog.entry(service, ENVIRONMENT).flags
    assert store is not None
    return store.flags[FLAG]


class FlagWatch:
    """When each service's flag was first read back ``off``: one thread, GetParameters in tens.

    One poller for all services rather than one per service, so that the benchmark's own reads
    (5 a second) do not compete with the incidents' for the sandbox.
    """

    def __init__(self, sandbox: Sandbox, catalog: Catalog, services: list[str]) -> None:
        self._names = {flag_parameter(catalog, s): s for s in services}
        self._ssm = client("ssm", sandbox.target(REGION))
        self.off_at: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="flag-watch", daemon=True)

    def __enter__(self) -> FlagWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            waiting = [name for name, service in self._names.items() if service not in self.off_at]
            for i in range(0, len(waiting), 10):
                answer = call(self._ssm, "get_parameters", Names=waiting[i : i + 10])
                now = time.monotonic()
                for parameter in answer["Parameters"]:
                    if parameter["Value"] == "off":
                        self.off_at.setdefault(self._names[parameter["Name"]], now)


def one_round(
    services: list[str],
    *,
    sandbox: Sandbox,
    catalog: Catalog,
    sim: WorldSimulator,
    urls: list[str],
    timeout: float,
) -> dict[str, Any]:
    """Break ``services`` at once, post each alert once its alarm fires; what happened to each."""
    for service in services:
        sim.harm_flag(service, FLAG)
        flag_on(sandbox.target(REGION), catalog.entry(service, ENVIRONMENT), FLAG)
    watch = FlagWatch(sandbox, catalog, services)

    def post(i: int) -> dict[str, Any]:
        service = services[i]
        onset = wait_for_alarm(catalog, sandbox, REGION, timeout, service=service, environment=ENVIRONMENT)
        metric = catalog.entry(service, ENVIRONMENT).region(REGION).metrics[0]
        body = generic_alert(
            fingerprint=f"bench:{service}", service=service, environment=ENVIRONMENT,
            region=REGION, metric=metric, starts_at=onset,
        )  # fmt: skip
        answers: list[int] = []
        posted = time.monotonic()
        with httpx.Client(timeout=60) as http:
            for _ in range(10):  # a sender retries a 503 (Prefect busy) a few seconds later
                response = http.post(f"{urls[i % len(urls)]}/alerts/generic", json=body, headers=HEADERS)
                answers.append(response.status_code)
                if response.status_code != 503:
                    break
                time.sleep(3)
        run_id = response.json()["started"][0]["flow_run_id"] if response.status_code == 200 else None
        deadline = posted + timeout
        while service not in watch.off_at and time.monotonic() < deadline:
            time.sleep(0.2)
        off_at = watch.off_at.get(service)
        return {"service": service, "run": run_id, "answers": answers,
                "seconds": off_at - posted if off_at is not None else None}  # fmt: skip

    with watch, ThreadPoolExecutor(max_workers=len(services)) as pool:
        return {"results": list(pool.map(post, range(len(services))))}


def tick_gaps(ticks: list[datetime]) -> dict[str, float] | None:
    """Seconds between the world simulator's ticks (1 s when it keeps up): late ticks are gaps in
    every service's telemetry, which a bake reads as no data."""
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ticks)]
    if not gaps:
        return None
    figures = {"p50": percentile(gaps, 50), "p95": percentile(gaps, 95), "max": max(gaps)}
    return {name: round(value, 2) for name, value in figures.items()}


def outcome(run: RunRecord, settings: RunSettings) -> str | None:
    """The incident's outcome as its report says (``mitigated``: applied and the signal recovered)."""
    report = settings.incident_dir(run.incident_id) / "report.json"
    return str(json.loads(report.read_text())["outcome"]) if report.exists() else None


def figures(
    results: list[dict[str, Any]],
    api: PrefectApi,
    settings: RunSettings,
    singles: list[float],
    timeout: float,
) -> dict[str, Any]:
    runs = [api.wait_terminal(r["run"], timeout=timeout) for r in results if r["run"] is not None]
    latencies = [r["seconds"] for r in results if r["seconds"] is not None]
    per_service = Counter(r["service"] for r in results if r["run"] is not None)
    single = percentile(singles, 50) if singles else None
    p95 = percentile(latencies, 95) if latencies else None
    return {
        "incidents": len(results),
        "mitigated": len(latencies),
        "verified": sum(1 for run in runs if outcome(run, settings) == "mitigated"),
        "final_states": dict(Counter(run.state_type for run in runs)),
        "receiver_503": sum(r["answers"].count(503) for r in results),
        "lost": sum(1 for r in results if r["run"] is None),
        "duplicate_runs": sum(n - 1 for n in per_service.values()),
        "single_s": round(single, 2) if single is not None else None,
        "p50_s": round(percentile(latencies, 50), 2) if latencies else None,
        "p95_s": round(p95, 2) if p95 is not None else None,
        "max_s": round(max(latencies), 2) if latencies else None,
        "ratio_p95_over_single": round(p95 / single, 2) if p95 is not None and single else None,
    }


def run(args: argparse.Namespace, where: Path) -> dict[str, Any]:
    began = time.monotonic()
    names = [f"one-{i:02d}" for i in range(args.singles)] + [f"svc-{i:02d}" for i in range(args.incidents)]
    with Sandbox(export_env=True, own_process=True) as sandbox:
        spec = Catalog.model_validate({"services": {name: service_spec(name) for name in names}})
        catalog = seed_world(spec, sandbox.endpoint_url)
        settings = bench_settings(write_catalog(catalog, where / "catalog.yaml"), where / "incidents")
        # 20 runs and the simulator on two cores: the simulator's 1 s ticks lag by up to ~3 s, and a
        # bake reading every 1 s (window 2 s) reads those gaps as no data. 2 s reads (window 4 s)
        # over a 10 s bake; time to mitigation, what this benchmark measures, is before the bake.
        settings = settings.model_copy(update={"watch_interval_seconds": 2.0, "bake_seconds": 10})
        stack_spec = StackSpec(
            workdir=where,
            run_settings=settings.model_dump_json(exclude_defaults=True),
            workers=args.workers,
            receivers=args.receivers,
            postgres=args.postgres,
            warm_engines=not args.cold_engines,
            worker_env={**sandbox.env(), "PREFECT_WORKER_QUERY_SECONDS": "1"},
        )
        stack_spec.env["FIREBREAK_GENERIC_TOKEN"] = TOKEN  # the receivers' auth
        with LocalStack(stack_spec) as stack, WorldSimulator(catalog, sandbox.endpoint_url) as sim:
            assert stack.server is not None
            api = PrefectApi(stack.server.api_url)
            progress(f"stack up in {time.monotonic() - began:.1f}s; {args.singles} single incidents first")
            round_ = partial(
                one_round,
                sandbox=sandbox,
                catalog=catalog,
                sim=sim,
                urls=stack.receiver_urls,
                timeout=args.timeout,
            )
            singles = [round_([name])["results"][0] for name in names[: args.singles]]
            progress(f"singles: {[s['seconds'] for s in singles]}; now {args.incidents} at once")
            cpu_before, since = stack_cpu(stack, {"sandbox": sandbox.pid}), datetime.now(UTC)
            many = round_(names[args.singles :])
            cpu = spent(cpu_before, stack_cpu(stack, {"sandbox": sandbox.pid}))
            ticks = [t.at for t in list(sim.history) if t.at >= since]
            single_seconds = [s["seconds"] for s in singles if s["seconds"]]
            result = figures(many["results"], api, settings, single_seconds, args.timeout)
            result["cpu_s_while_concurrent"] = cpu
            result["simulator_tick_gap_s"] = tick_gaps(ticks)
            api.close()
    return {
        "benchmark": "concurrent_incidents",
        "prefect_database": "postgresql" if args.postgres else "sqlite",
        "workers": args.workers,
        "receivers": args.receivers,
        "warm_engines": not args.cold_engines,
        **result,
        "wall_s": round(time.monotonic() - began, 1),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Concurrent incidents on different services (issue 13).")
    parser.add_argument("--incidents", type=int, default=20)
    parser.add_argument("--singles", type=int, default=3, help="One-at-a-time incidents before (single_s).")
    parser.add_argument("--workers", type=int, default=2, help="Firebreak workers (firebreak.worker).")
    parser.add_argument("--receivers", type=int, default=2, help="`firebreak serve` replicas.")
    parser.add_argument("--postgres", action="store_true", help="Prefect server on a real PostgreSQL.")
    parser.add_argument(
        "--cold-engines", action="store_true",
        help="A new `python -m prefect.engine` per run (Prefect's default) instead of the fork servers.",
    )  # fmt: skip
    parser.add_argument("--timeout", type=float, default=240, help="Per incident: alarm, mitigation, run.")
    parser.add_argument("--workdir", type=Path, help="Keep logs, timelines and reports here.")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    with workdir(args.workdir) as where:
        emit(run(args, where))


if __name__ == "__main__":
    main()
