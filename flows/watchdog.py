"""Dead incident runs: marked Crashed by a heartbeat automation, re-run once by this watchdog.

A flow-run process killed outright (SIGKILL, OOM, a host lost) tells nobody: Prefect 3.8 leaves
its run Running unless an automation notices its heartbeats stopped. Two pieces:

- :func:`ensure_crash_automation` installs that automation once per server: a run that sent a
  ``prefect.flow-run.heartbeat`` and then, within ``within_seconds``, neither another heartbeat
  nor a final state, is set Crashed. Workers must send heartbeats:
  ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` (30 s at least; ``within_seconds`` a few beats longer).
- :func:`rerun_crashed` (``python -m flows.watchdog``, beside the workers) re-runs each Crashed
  incident run as a new run of the same deployment with the same parameters and tags. The
  rule (:func:`crash_verdict`): a crashed run is re-run only while it is younger than the
  policy's ``incidents.max_open_minutes`` (counted from its creation, as the receivers count an
  open incident), and at most :data:`MAX_RERUNS` times; otherwise it stays Crashed, is tagged
  :data:`LEFT_FOR_HUMAN_TAG` and logged, for a person. The idempotency key of a re-run is the
  crashed run's key plus ``/rerun``: Prefect returns the crashed run for its own key, so the
  same alert alone would never run it again, and the derived key makes every watchdog replica
  create the same single re-run. The re-run's context names the crashed run
  (:data:`RERUN_OF`).

The re-run has the same alert, hence the same incident id and timeline (read from the shared
records, flows.records); its ``restarted`` entry names the crashed run
(:func:`record_restart`), and its actions read live state before acting, so nothing already
applied is applied again (tests/flows/test_crash.py).
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import get_client
from prefect.exceptions import PrefectHTTPStatusError
from prefect.runtime import flow_run

from alerts.errors import PrefectUnavailableError
from alerts.prefect_http import PrefectHttp, checked, json_list
from alerts.prefect_starter import DEFAULT_DEPLOYMENT
from flows.timeline import Stage, Timeline
from policies import default_policy, load_policy

log = logging.getLogger(__name__)

AUTOMATION_NAME = "firebreak: crash incident runs without heartbeats"
RERUN_SUFFIX = "/rerun"
MAX_RERUNS = 2
RERUN_OF = "firebreak.rerun_of"  # the re-run's context: the crashed run's id
LEFT_FOR_HUMAN_TAG = "firebreak.crashed:left-for-human"


class CrashVerdict(StrEnum):
    """What the watchdog does with one Crashed incident run."""

    RERUN = "rerun"
    TOO_OLD = "too_old"  # older than incidents.max_open_minutes
    RERUN_ENOUGH = "rerun_enough"  # crashed MAX_RERUNS times already
    LEFT_FOR_HUMAN = "left_for_human"  # an earlier pass recorded it for a person


FINAL_EVENTS = [f"prefect.flow-run.{state}" for state in ("Completed", "Failed", "Cancelled", "Crashed")]


def crash_automation(within_seconds: int) -> dict[str, Any]:
    """The automation (Prefect's REST shape) that sets a run Crashed once its heartbeats stop."""
    return {
        "name": AUTOMATION_NAME,
        "description": "Flow-run processes killed outright send no final state; their heartbeats stop.",
        "enabled": True,
        "trigger": {
            "type": "event",
            "match": {"prefect.resource.id": "prefect.flow-run.*"},
            "after": ["prefect.flow-run.heartbeat"],
            "expect": ["prefect.flow-run.heartbeat", *FINAL_EVENTS],
            "for_each": ["prefect.resource.id"],
            "posture": "Proactive",
            "threshold": 1,
            "within": within_seconds,
        },
        "actions": [
            {
                "type": "change-flow-run-state",
                "state": "CRASHED",
                "message": f"No heartbeat for {within_seconds} s: the flow-run process is gone.",
            }
        ],
    }


def ensure_crash_automation(http: PrefectHttp, *, within_seconds: int = 75) -> None:
    """Create :func:`crash_automation` unless an automation of that name exists."""
    found = checked(
        http.request("POST", "/automations/filter", {"automations": {"name": {"any_": [AUTOMATION_NAME]}}}),
        "find the crash automation",
    )
    if not json_list(found):
        checked(http.request("POST", "/automations/", crash_automation(within_seconds)), "create automation")
        log.info("created automation %r (%s s without heartbeat)", AUTOMATION_NAME, within_seconds)


def crash_verdict(crashed: dict[str, Any], *, now: datetime, max_open: timedelta) -> CrashVerdict:
    """Re-run ``crashed`` (a ``/flow_runs`` answer) or leave it to a person, and why."""
    if LEFT_FOR_HUMAN_TAG in crashed.get("tags", []):
        return CrashVerdict.LEFT_FOR_HUMAN
    if _key(crashed).count(RERUN_SUFFIX) >= MAX_RERUNS:
        return CrashVerdict.RERUN_ENOUGH
    if now - datetime.fromisoformat(str(crashed["created"])) >= max_open:
        return CrashVerdict.TOO_OLD
    return CrashVerdict.RERUN


def rerun_body(crashed: dict[str, Any]) -> dict[str, Any]:
    """The create_flow_run body re-running ``crashed``: same parameters and tags, derived key."""
    return {
        "parameters": crashed["parameters"],
        "tags": crashed["tags"],
        "idempotency_key": _key(crashed) + RERUN_SUFFIX,
        "context": {RERUN_OF: str(crashed["id"])},
    }


def _key(crashed: dict[str, Any]) -> str:
    return str(crashed.get("idempotency_key") or crashed["id"])


def rerun_crashed(
    http: PrefectHttp, deployment: str = DEFAULT_DEPLOYMENT, *, max_open: timedelta,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC), limit: int = 50,
) -> list[str]:  # fmt: skip
    """Re-run the newest Crashed runs of ``deployment`` that :func:`crash_verdict` allows; tag
    the others :data:`LEFT_FOR_HUMAN_TAG` once. Returns the ids of the re-runs (new or not)."""
    flow_name, _, name = deployment.partition("/")
    found = http.request("GET", f"/deployments/name/{flow_name}/{name}")
    deployment_id = checked(found, f"find deployment {deployment}").json()["id"]
    body = {
        "deployments": {"id": {"any_": [deployment_id]}},
        "flow_runs": {"state": {"type": {"any_": ["CRASHED"]}}},
        "sort": "EXPECTED_START_TIME_DESC",
        "limit": limit,
    }
    reruns, now = [], clock()
    for crashed in json_list(checked(http.request("POST", "/flow_runs/filter", body), "find crashed runs")):
        verdict = crash_verdict(crashed, now=now, max_open=max_open)
        if verdict is CrashVerdict.RERUN:
            reruns.append(_rerun(http, deployment_id, crashed))
        elif verdict is not CrashVerdict.LEFT_FOR_HUMAN:
            tags = {"tags": [*crashed["tags"], LEFT_FOR_HUMAN_TAG]}
            checked(http.request("PATCH", f"/flow_runs/{crashed['id']}", tags), f"tag {crashed['id']}")
            log.warning("incident run %s crashed, not re-run (%s): left to a person", crashed["id"], verdict)
    return reruns


def _rerun(http: PrefectHttp, deployment_id: str, crashed: dict[str, Any]) -> str:
    created = http.request("POST", f"/deployments/{deployment_id}/create_flow_run", rerun_body(crashed))
    run = checked(created, f"re-run {crashed['id']}").json()
    if created.status_code == 201:
        log.warning("incident run %s crashed; re-run as %s", crashed["id"], run["id"])
    return str(run["id"])


def crashed_run_rerun() -> str | None:
    """Inside an incident run: the crashed run this run re-runs (the watchdog put its id in the
    run's context), or None when it is no re-run or Prefect cannot say (logged)."""
    run_id = flow_run.get_id()
    if run_id is None:
        return None
    try:
        with get_client(sync_client=True) as client:
            value = client.read_flow_run(UUID(str(run_id))).context.get(RERUN_OF)
    except (httpx.HTTPError, PrefectHTTPStatusError) as e:
        log.warning("flow run %s: cannot read which run it re-runs: %s", run_id, e)
        return None
    return str(value) if value else None


def record_restart(timeline: Timeline) -> None:
    """The ``restarted`` entry of a run continuing an incident's timeline, naming the crashed
    run it re-runs when the watchdog started it."""
    crashed = crashed_run_rerun()
    again = f"re-run of crashed run {crashed}" if crashed else "started again"
    message = f"incident run {again}; live state is re-read"
    timeline.add(Stage.DETECT, "restarted", message, crashed_run=crashed)


def max_open_of(policy_path: Path | None) -> timedelta:
    """``incidents.max_open_minutes`` of the policy the incident flows use (None: the shipped one)."""
    policy = default_policy() if policy_path is None else load_policy(policy_path)
    return timedelta(minutes=policy.incidents.max_open_minutes)


def watch(api_url: str, *, interval: float, stop: threading.Event, max_open: timedelta) -> None:
    """Install the automation, then re-run crashed incident runs every ``interval`` s until ``stop``."""
    http = PrefectHttp(api_url)
    try:
        ensure_crash_automation(http)
        while not stop.is_set():
            try:
                rerun_crashed(http, max_open=max_open)
            except PrefectUnavailableError as e:  # a server restart: try again next round
                log.warning("watchdog: %s", e)
            stop.wait(interval)
    finally:
        http.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Re-run crashed Firebreak incident runs.")
    parser.add_argument("--api-url", required=True, help="The Prefect API, e.g. http://127.0.0.1:4200/api")
    parser.add_argument("--interval", type=float, default=5.0, help="Seconds between checks.")
    parser.add_argument(
        "--policy", type=Path, default=None, help="The incident flows' policy (default: the shipped one)."
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not one line per request every 5 s
    try:
        watch(args.api_url, interval=args.interval, stop=threading.Event(), max_open=max_open_of(args.policy))
    except KeyboardInterrupt:
        log.info("watchdog stopped")


if __name__ == "__main__":
    main()
