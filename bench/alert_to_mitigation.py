"""Benchmark 1: from an alert POSTed to the receiver to the mitigation visible in AWS (moto).

Stack: moto server seeded with checkout + the simulator, a local Prefect server, the
incident-response deployment served by ``incident_response.serve`` in a subprocess, and the
receiver (create_app + PrefectStarter) served by uvicorn in a thread. Each incident: switch
the ``new-pricing-engine`` flag on (bad-flag fault), wait for the alarm, POST a generic-format
alert with a new fingerprint and onset, and poll SSM until the flag reads ``off`` (the default
policy automates flags.disable, so no approval is involved). Between incidents the same fault
is mitigated by plain boto3 calls right after it is injected: the baseline (once with cold
clients, as a new flow-run process has them, once warm).

With ``--engines warm`` or ``--engines cold`` the runs go through the production-shaped
firebreak.stack instead (one Firebreak worker, ``python -m firebreak.worker``, on the process
pool, one ``firebreak serve``, Prefect on SQLite): ``warm`` starts each run from the worker's
fork server (firebreak.forkserver), ``cold`` without one: the engine client checks the run and
becomes one new ``python -m prefect.engine`` per run.
Run creation is then inside the receiver's process and is reported as part of ``receiver``.

    python -m bench.alert_to_mitigation --incidents 10 --poll 1
    python -m bench.alert_to_mitigation --incidents 10 --engines warm
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.checkout import Checkout
from bench.prefect_api import PrefectApi, RunRecord, seconds
from bench.receiver import TOKEN, ReceiverThread, generic_alert, post_alert
from bench.served import ServedDeployment
from bench.stack import bench_settings, exit_on_sigterm, prefect_server, seeded_sandbox, workdir
from bench.stats import emit, progress, summary
from drills import seed_names as n
from drills.faults import inject_bad_flag
from drills.sandbox import Sandbox
from drills.simulator import Simulator
from firebreak.stack import LocalStack, StackSpec
from flows.settings import RunSettings
from flows.timeline import Timeline

TARGET_P50_SECONDS = 3.0
TARGET_RATIO = 3.0
STAGES = (
    "receiver",
    "run_creation",
    "pick_up",
    "process_start",
    "detect",
    "diagnose",
    "gate",
    "apply",
    "observed",
)


class NotMitigatedError(RuntimeError):
    """An incident run ended without applying the mitigation: there is nothing to time."""


@dataclass
class Intake:
    """Where alerts go and runs are read; ``run_creation``: dedup key -> seconds, when measured."""

    api_url: str
    alert_url: str
    run_creation: dict[str, float] | None


@contextmanager
def intake(
    engines: str | None, poll_seconds: int, settings: RunSettings, where: Path, sandbox: Sandbox
) -> Iterator[Intake]:
    """The served deployment and an in-process receiver, or (``engines``) a LocalStack."""
    if engines is None:
        with (
            prefect_server() as server,
            ServedDeployment(settings, where, api_url=server.api_url, poll_seconds=poll_seconds),
            ReceiverThread(server.api_url, where / "dead-letters") as receiver,
        ):
            yield Intake(server.api_url, receiver.url(), receiver.starter.seconds)
        return
    spec = StackSpec(
        workdir=where,
        run_settings=settings.model_dump_json(exclude_defaults=True),
        workers=1,
        receivers=1,
        postgres=False,
        warm_engines=engines == "warm",
        worker_env={**sandbox.env(), "PREFECT_WORKER_QUERY_SECONDS": str(poll_seconds)},
    )
    spec.env["FIREBREAK_GENERIC_TOKEN"] = TOKEN
    with LocalStack(spec) as stack:
        assert stack.server is not None
        yield Intake(stack.server.api_url, f"{stack.receiver_urls[0]}/alerts/generic", None)


def breakdown(
    *,
    posted: datetime,
    answered: datetime,
    run_creation: float | None,
    run: RunRecord,
    timeline: Timeline,
    seen: datetime,
) -> dict[str, float | None]:
    """Seconds spent in each stage, from the receiver's clock, the run's states and its timeline.

    receiver: the POST minus run creation; run_creation: the starter's create_flow_run call (None:
    not measured apart, and counted in receiver);
    pick_up: answer to Pending (the runner's poll); process_start: Pending to Running;
    detect/diagnose/gate/apply: timeline entries; observed: applied to seen in moto.
    """
    confirmed, applying, applied = (timeline.first(e) for e in ("confirmed", "applying", "applied"))
    hypotheses = timeline.events("hypothesis")
    if confirmed is None or applying is None or applied is None or not hypotheses:
        raise NotMitigatedError(f"run {run.id} ({run.state_type}: {run.state_message}) applied nothing")
    return {
        "receiver": round((answered - posted).total_seconds() - (run_creation or 0.0), 3),
        "run_creation": round(run_creation, 3) if run_creation is not None else None,
        "pick_up": seconds(answered, run.pending_at),
        "process_start": seconds(run.pending_at, run.start_time),
        "detect": seconds(run.start_time, confirmed.at),
        "diagnose": seconds(confirmed.at, hypotheses[-1].at),
        "gate": seconds(hypotheses[-1].at, applying.at),
        "apply": seconds(applying.at, applied.at),
        "observed": seconds(applied.at, seen),
        "in_flow": seconds(run.start_time, applied.at),
        "total": seconds(posted, seen),
    }


def run(
    incidents: int, poll_seconds: int, max_seconds: float, workdir: Path, engines: str | None
) -> dict[str, object]:
    began = time.monotonic()
    tag = uuid.uuid4().hex[:8]
    measured: list[dict[str, float | None]] = []
    baselines: list[dict[str, float]] = []
    cold_baselines: list[dict[str, float]] = []
    with seeded_sandbox(workdir) as seeded:
        settings = bench_settings(seeded.catalog_path, workdir / "incidents")
        checkout = Checkout(seeded.sandbox, seeded.catalog)
        with (
            intake(engines, poll_seconds, settings, workdir, seeded.sandbox) as where,
            Simulator(seeded.catalog, seeded.sandbox.endpoint_url),
            httpx.Client(timeout=30) as http,
        ):
            api = PrefectApi(where.api_url)
            progress(
                f"stack up in {time.monotonic() - began:.1f}s; {incidents} incidents, poll {poll_seconds}s"
            )
            for i in range(incidents):
                if time.monotonic() - began > max_seconds:
                    progress(f"time budget of {max_seconds}s spent after {i} incidents")
                    break
                inject_bad_flag(seeded.sandbox.target(), seeded.catalog)
                onset = checkout.wait_alarm(True)
                alert = generic_alert(
                    fingerprint=f"bench:{tag}:{i}",
                    service=n.SERVICE,
                    environment=n.ENVIRONMENT,
                    region=checkout.region,
                    metric=checkout.metric,
                    starts_at=onset,
                )
                posted = datetime.now(UTC)
                run_id = post_alert(http, where.alert_url, alert)
                answered = datetime.now(UTC)
                seen = checkout.wait_flag("off", timeout=120)
                record = api.wait_terminal(run_id, timeout=120)
                timeline = Timeline.load(settings.incident_dir(record.incident_id) / "timeline.json")
                dedup = f"bench:{tag}:{i}:{int(onset.timestamp())}"
                measured.append(
                    breakdown(
                        posted=posted,
                        answered=answered,
                        run_creation=where.run_creation[dedup] if where.run_creation is not None else None,
                        run=record,
                        timeline=timeline,
                        seen=seen,
                    )
                )
                for cold, kept in ((True, cold_baselines), (False, baselines)):
                    inject_bad_flag(seeded.sandbox.target(), seeded.catalog)
                    kept.append(checkout.baseline(datetime.now(UTC), cold=cold))
                checkout.wait_alarm(False)
                progress(f"incident {i + 1}: {measured[-1]['total']}s end to end, run {record.state_type}")
            api.close()
    figures = _figures(measured, baselines, cold_baselines, poll_seconds, time.monotonic() - began)
    return {**figures, "engines": engines or "served"}


def _figures(
    measured: list[dict[str, float | None]],
    baselines: list[dict[str, float]],
    cold_baselines: list[dict[str, float]],
    poll: int,
    wall: float,
) -> dict[str, object]:
    def column(rows: list[dict[str, float | None]], key: str) -> list[float]:
        return [v for r in rows if (v := r[key]) is not None]

    def stage(name: str, figure: str) -> object:
        values = column(measured, name)
        return summary(values)[figure] if values else None  # run_creation: not measured apart

    total, in_flow = summary(column(measured, "total")), summary(column(measured, "in_flow"))
    base = summary([b["total"] for b in baselines])
    cold = summary([b["total"] for b in cold_baselines])
    ratio = round(float(in_flow["p50"]) / float(base["p50"]), 2)
    return {
        "benchmark": "alert_to_mitigation",
        "incidents": len(measured),
        "runner_poll_seconds": poll,
        "end_to_end_s": total,
        "stages_p50_s": {s: stage(s, "p50") for s in STAGES},
        "stages_p95_s": {s: stage(s, "p95") for s in STAGES},
        "in_flow_s": in_flow,
        "baseline_s": base,
        "baseline_steps_p50_s": {
            k: summary([b[k] for b in baselines])["p50"]
            for k in ("confirm", "snapshot", "plan_read", "apply")
        },
        "baseline_cold_clients_s": cold,
        "in_flow_over_baseline_p50": ratio,
        "in_flow_over_cold_baseline_p50": round(float(in_flow["p50"]) / float(cold["p50"]), 2),
        "target_p50_le_3s": float(total["p50"]) <= TARGET_P50_SECONDS,
        "target_ratio_le_3": ratio <= TARGET_RATIO,
        "wall_s": round(wall, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Alert to mitigation latency (issue #8).")
    parser.add_argument("--incidents", type=int, default=10, help="Sequential incidents (>= 1).")
    parser.add_argument("--poll", type=int, default=1, help="PREFECT_RUNNER_POLL_FREQUENCY of the runner.")
    parser.add_argument("--max-seconds", type=float, default=300, help="Stop starting incidents after this.")
    parser.add_argument("--workdir", type=Path, help="Keep logs, timelines and reports here.")
    parser.add_argument(
        "--engines", choices=("warm", "cold"),
        help="Through firebreak.stack's worker, runs forked warm or started cold (default: prefect.serve).",
    )  # fmt: skip
    args = parser.parse_args(argv)
    exit_on_sigterm()
    with workdir(args.workdir) as where:
        emit(run(max(args.incidents, 1), args.poll, args.max_seconds, where, args.engines))


if __name__ == "__main__":
    main()
