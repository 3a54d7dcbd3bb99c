"""Benchmark: what a Prefect process worker costs per incident run before Firebreak does anything.

Stack: a local Prefect server (embedded SQLite), the ``firebreak`` process pool, one Firebreak
worker (``python -m firebreak.worker``) per ``--query-seconds`` value, and the real
``incident-response/incident`` deployment. Each run gets an alert that names no service, so the
flow takes its shortest path (no AWS call: not confirmed, timeline and report written locally)
and the times are Prefect's and the interpreter's:

- ``pick_up_s``: run created -> Pending (the worker's poll found and submitted it);
- ``process_start_s``: Pending -> Running (a new ``python -m prefect.engine``: interpreter,
  Prefect, Firebreak's imports, loading the flow);
- ``run_s``: Running -> final (the flow itself on its shortest path).

Runs are created one at a time, each after the previous one ended.

    python -m bench.start_cost --runs 5 --query-seconds 1 0.2   # one JSON line per setting
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from alerts.models import Alert
from bench.prefect_api import PrefectApi, seconds
from bench.stack import exit_on_sigterm, workdir
from bench.stats import emit, progress, summary
from firebreak.stack import LocalStack, StackSpec
from flows.host_config import host_environment
from flows.settings import RunSettings

DEPLOYMENT = "incident-response/incident"


def unroutable_alert() -> dict[str, Any]:
    alert = Alert(source="bench", fingerprint=f"start-cost:{uuid.uuid4()}", name="start-cost",
                  starts_at=datetime.now(UTC))  # fmt: skip
    return alert.model_dump(mode="json")


def create_run(http: httpx.Client, deployment_id: str, attempts: int = 60) -> str:
    """Create one run; a loaded SQLite server answers 503 for a while (issue 13), so retry that."""
    body = {"parameters": {"alert": unroutable_alert()}}
    for _ in range(attempts):
        created = http.post(f"/deployments/{deployment_id}/create_flow_run", json=body)
        if created.status_code != 503:
            created.raise_for_status()
            return str(created.json()["id"])
        progress("create_flow_run: 503, again in 1 s")
        time.sleep(1)
    raise RuntimeError(f"create_flow_run answered 503 {attempts} times")


def one_setting(where: Path, query_seconds: float, runs: int) -> dict[str, Any]:
    settings = RunSettings(output_dir=str(where / "incidents"))
    spec = StackSpec(
        workdir=where / f"q{query_seconds:g}", run_settings=settings.model_dump_json(exclude_defaults=True),
        host_env=host_environment(catalog=where / "no-catalog.yaml"),
        workers=1, receivers=0, postgres=False,
        worker_env={"PREFECT_WORKER_QUERY_SECONDS": f"{query_seconds:g}"},
    )  # fmt: skip
    spec.workdir.mkdir(parents=True, exist_ok=True)
    with LocalStack(spec) as stack:
        assert stack.server is not None
        api, http = PrefectApi(stack.server.api_url), httpx.Client(base_url=stack.server.api_url, timeout=30)
        try:
            flow_name, _, name = DEPLOYMENT.partition("/")
            deployment_id = http.get(f"/deployments/name/{flow_name}/{name}").json()["id"]
            records = []
            for i in range(runs):
                record = api.wait_terminal(create_run(http, deployment_id), timeout=120, poll=0.2)
                records.append(record)
                progress(f"q={query_seconds:g} run {i + 1}/{runs}: {record.state_type}")
                time.sleep(0.1)
        finally:
            api.close()
            http.close()
    figures = {
        "pick_up_s": [seconds(r.created, r.pending_at) for r in records],
        "process_start_s": [seconds(r.pending_at, r.start_time) for r in records],
        "run_s": [seconds(r.start_time, r.end_time) for r in records],
    }
    return {
        "query_seconds": query_seconds,
        "states": sorted({r.state_type for r in records}),
        **{k: summary([v for v in values if v is not None]) for k, values in figures.items()},
    }


def main() -> None:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--query-seconds", type=float, nargs="+", default=[1.0, 0.2])
    parser.add_argument("--workdir", type=Path, help="Keep logs here.")
    args = parser.parse_args()
    with workdir(args.workdir) as where:
        for q in args.query_seconds:  # one JSON line per setting, as soon as it is measured
            emit({"benchmark": "start_cost", "runs": args.runs, **one_setting(where, q, args.runs)})


if __name__ == "__main__":
    main()
