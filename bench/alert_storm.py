"""Benchmark 2: an alert storm against the receivers: 10,000 deliveries of 100 incidents.

The production receiver (``firebreak serve``) runs in a subprocess, so its peak memory
(``VmHWM`` in /proc/<pid>/status) is its own. The deployment exists but nothing executes it
(no runner, no worker): runs stay Scheduled, so this measures intake alone. Each incident is
delivered ``--deliveries / --incidents`` times, shuffled, by ``--senders`` threads; afterwards
the Prefect API must hold exactly one run per incident, and every delivery must have been
answered 200 with its incident's run. Each incident is about its own service
(``storm-0000``...): alerts of one service while its incident is open join that run, so one
service would make a single incident. The receiver logs one line per delivery Prefect answered
(``incident run ... for ...``), which counts the deliveries that reached Prefect; the rest of the
200 answers came from the receiver's recent-runs memory (``--no-recent-runs`` turns it off).

    python -m bench.alert_storm --deliveries 10000 --incidents 100 --senders 8
    python -m bench.alert_storm --deliveries 10000 --incidents 100 --senders 8 --no-recent-runs
    python -m bench.alert_storm --deliveries 10000 --incidents 100 --senders 8 --receivers 2 --postgres

``--receivers N`` starts N ``firebreak serve`` replicas (sender k posts to replica k mod N);
``--postgres`` puts the Prefect server on a real PostgreSQL (drills.postgres), as in production.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.checkout import wait_until
from bench.prefect_api import PrefectApi
from bench.receiver import HEADERS, TOKEN, generic_alert
from bench.served import deployment
from bench.stack import REPO_ROOT, bench_settings, exit_on_sigterm, prefect_server, workdir
from bench.stats import emit, percentile, progress, summary
from drills import seed_names as n
from drills.prefect_server import free_port
from tasks.catalog import MetricSpec

METRIC = MetricSpec(name="error_rate", namespace=n.NAMESPACE, metric_name=n.ERROR_RATE, healthy_threshold=5.0)


@dataclass(frozen=True)
class Delivery:
    incident: int
    seconds: float
    status: int
    flow_run_id: str | None


@contextmanager
def receiver_process(
    where: Path, *, recent_runs: bool = True, index: int = 0
) -> Iterator[tuple[str, int]]:
    """``firebreak serve`` on a free port, logging to ``where/receiver-INDEX.log``; yields (URL, pid)."""
    port = free_port()
    dead_letters = str(where / f"dl-{index}")
    env = {**os.environ, "FIREBREAK_GENERIC_TOKEN": TOKEN, "FIREBREAK_DEAD_LETTER_DIR": dead_letters}
    if not recent_runs:
        env["FIREBREAK_RECENT_RUNS_MAX"] = "0"
    firebreak = str(Path(sys.executable).with_name("firebreak"))
    with (where / f"receiver-{index}.log").open("wb") as log:
        process = subprocess.Popen(
            [firebreak, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_until(
            lambda: _healthy(f"http://127.0.0.1:{port}/healthz"), timeout=60, poll=0.2, what="receiver up"
        )
        yield f"http://127.0.0.1:{port}/alerts/generic", process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def peak_rss_mib(pid: int) -> float:
    """VmHWM (peak resident set) of ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def _send(
    url: str, bodies: list[dict[str, object]], work: list[int], out: list[Delivery], deadline: float
) -> None:
    with httpx.Client(timeout=60) as client:
        for incident in work:
            if time.monotonic() > deadline:
                return
            began = time.perf_counter()
            response = client.post(url, json=bodies[incident], headers=HEADERS)
            elapsed = time.perf_counter() - began
            started = response.json().get("started", []) if response.status_code == 200 else []
            run_id = str(started[0]["flow_run_id"]) if len(started) == 1 else None
            out.append(Delivery(incident, elapsed, response.status_code, run_id))


def prefect_answers(log: Path) -> int:
    """How many deliveries Prefect answered (PrefectStarter logs one line for each)."""
    with log.open(encoding="utf-8", errors="replace") as lines:
        return sum(" incident run " in line for line in lines)


@dataclass(frozen=True)
class Topology:
    """How many receivers, and whether the Prefect server is on PostgreSQL."""

    receivers: int = 1
    postgres: bool = False


def run(
    deliveries: int,
    incidents: int,
    senders: int,
    max_seconds: float,
    where: Path,
    *,
    recent_runs: bool,
    topology: Topology = Topology(),
) -> dict[str, object]:
    onset = datetime.now(UTC).replace(microsecond=0)
    bodies: list[dict[str, object]] = [
        generic_alert(
            fingerprint=f"storm:{i}",
            service=f"storm-{i:04d}",
            environment=n.ENVIRONMENT,
            region=n.PRIMARY_REGION,
            metric=METRIC,
            starts_at=onset - timedelta(seconds=i),
        )
        for i in range(incidents)
    ]
    work = [i % incidents for i in range(deliveries)]
    random.Random(8).shuffle(work)
    with prefect_server(postgres=topology.postgres) as server:
        deployment_id = str(deployment(bench_settings(where / "catalog.yaml", where / "incidents")).apply())
        with ExitStack() as receivers:
            replicas = [
                receivers.enter_context(receiver_process(where, recent_runs=recent_runs, index=i))
                for i in range(topology.receivers)
            ]
            results: list[list[Delivery]] = [[] for _ in range(senders)]
            began = time.monotonic()
            deadline = began + max_seconds
            threads = [
                threading.Thread(
                    target=_send,
                    args=(replicas[k % len(replicas)][0], bodies, work[k::senders], results[k], deadline),
                )
                for k in range(senders)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.monotonic() - began
            peak = max(peak_rss_mib(pid) for _, pid in replicas)
        api = PrefectApi(server.api_url)
        runs = api.deployment_runs(deployment_id)
        api.close()
    done = [d for batch in results for d in batch]
    progress(f"{len(done)} deliveries in {wall:.1f}s; {len(runs)} runs in Prefect")
    figures = _figures(done, runs, deliveries, incidents, senders, wall, peak)
    asked = sum(prefect_answers(where / f"receiver-{i}.log") for i in range(topology.receivers))
    return {
        **figures,
        "receivers": topology.receivers,
        "prefect_database": "postgresql" if topology.postgres else "sqlite",
        "recent_runs": recent_runs,
        "prefect_create_flow_run_answers": asked,
        "answered_from_memory": sum(d.status == 200 for d in done) - asked,
    }


def _figures(
    done: list[Delivery],
    runs: list[dict[str, object]],
    deliveries: int,
    incidents: int,
    senders: int,
    wall: float,
    peak: float,
) -> dict[str, object]:
    run_ids: dict[int, set[str]] = defaultdict(set)
    for d in done:
        if d.flow_run_id is not None:
            run_ids[d.incident].add(d.flow_run_id)
    keys = [r.get("idempotency_key") for r in runs]
    latencies = [d.seconds for d in done]
    return {
        "benchmark": "alert_storm",
        "runs": len(runs),
        "lost": incidents - len(run_ids),
        "answers_503": sum(d.status == 503 for d in done),
        "p99_s": round(percentile(latencies, 99), 4),
        "deliveries_planned": deliveries,
        "deliveries_sent": len(done),
        "incidents": incidents,
        "senders": senders,
        "answers_200": sum(d.status == 200 for d in done),
        "answers_other": sorted({d.status for d in done if d.status != 200}),
        "flow_runs_in_prefect": len(runs),
        "distinct_idempotency_keys": len(set(keys)),
        "lost_incidents": incidents - len(run_ids),
        "duplicate_runs": sum(len(ids) - 1 for ids in run_ids.values()) + len(keys) - len(set(keys)),
        "runs_scheduled": sum(1 for r in runs if _state_type(r) == "SCHEDULED"),
        "throughput_per_s": round(len(done) / wall, 1),
        "latency_s": summary(latencies, digits=4),
        "receiver_peak_rss_mib": peak,
        "wall_s": round(wall, 1),
    }


def _state_type(run: dict[str, object]) -> object:
    state = run.get("state")
    return state.get("type") if isinstance(state, dict) else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Receiver intake under an alert storm (issue #8).")
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--incidents", type=int, default=100)
    parser.add_argument("--senders", type=int, default=8, help="Concurrent sending threads.")
    parser.add_argument("--max-seconds", type=float, default=240, help="Senders stop after this.")
    parser.add_argument("--workdir", type=Path, help="Keep the receiver's log and dead letters here.")
    parser.add_argument(
        "--no-recent-runs",
        action="store_true",
        help="Receiver asks Prefect for every delivery (FIREBREAK_RECENT_RUNS_MAX=0).",
    )
    parser.add_argument("--receivers", type=int, default=1, help="`firebreak serve` replicas.")
    parser.add_argument("--postgres", action="store_true", help="Prefect server on a real PostgreSQL.")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    with workdir(args.workdir) as where:
        figures = run(
            args.deliveries,
            args.incidents,
            args.senders,
            args.max_seconds,
            where,
            recent_runs=not args.no_recent_runs,
            topology=Topology(receivers=max(args.receivers, 1), postgres=args.postgres),
        )
        emit(figures)


if __name__ == "__main__":
    main()
