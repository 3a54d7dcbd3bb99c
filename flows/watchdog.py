"""Dead incident runs: marked Crashed by a heartbeat automation, re-run once by this watchdog.

A flow-run process killed outright (SIGKILL, OOM, a host lost) tells nobody: Prefect 3.8 leaves
its run Running unless an automation notices its heartbeats stopped. Two pieces:

- :func:`ensure_crash_automation` installs that automation once per server: a run that sent a
  ``prefect.flow-run.heartbeat`` and then, within ``within_seconds``, neither another heartbeat
  nor a final state, is set Crashed. Workers must send heartbeats:
  ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` (30 s at least; ``within_seconds`` a few beats longer).
- :func:`rerun_crashed` (``python -m flows.watchdog``, beside the workers) re-runs each Crashed
  incident run as a new run of the same deployment with the same parameters and tags. The
  rule: the idempotency key of a re-run is the crashed run's key plus ``/rerun``. Prefect
  returns the crashed run for its own key, so the same alert alone would never run it again;
  the derived key makes every watchdog replica create the same single re-run. A run that
  crashed :data:`MAX_RERUNS` times is left Crashed for a person.

The re-run has the same alert, hence the same incident id and timeline (flows/incident.py
records ``restarted``), and its actions read live state before acting, so nothing already
applied is applied again (tests/flows/test_crash.py).
"""

from __future__ import annotations

import argparse
import logging
import threading
from typing import Any

from alerts.errors import PrefectUnavailableError
from alerts.prefect_http import PrefectHttp, checked, json_list
from alerts.prefect_starter import DEFAULT_DEPLOYMENT

log = logging.getLogger(__name__)

AUTOMATION_NAME = "firebreak: crash incident runs without heartbeats"
RERUN_SUFFIX = "/rerun"
MAX_RERUNS = 2
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


def rerun_body(crashed: dict[str, Any]) -> dict[str, Any] | None:
    """The create_flow_run body re-running ``crashed``; None when it was re-run enough already."""
    key = str(crashed.get("idempotency_key") or crashed["id"])
    if key.count(RERUN_SUFFIX) >= MAX_RERUNS:
        return None
    return {
        "parameters": crashed["parameters"],
        "tags": crashed["tags"],
        "idempotency_key": key + RERUN_SUFFIX,
    }


def rerun_crashed(http: PrefectHttp, deployment: str = DEFAULT_DEPLOYMENT, *, limit: int = 50) -> list[str]:
    """Re-run the newest Crashed runs of ``deployment``; the ids of the re-runs (new or not)."""
    flow_name, _, name = deployment.partition("/")
    found = http.request("GET", f"/deployments/name/{flow_name}/{name}")
    deployment_id = checked(found, f"find deployment {deployment}").json()["id"]
    body = {
        "deployments": {"id": {"any_": [deployment_id]}},
        "flow_runs": {"state": {"type": {"any_": ["CRASHED"]}}},
        "sort": "EXPECTED_START_TIME_DESC",
        "limit": limit,
    }
    reruns = []
    for crashed in json_list(checked(http.request("POST", "/flow_runs/filter", body), "find crashed runs")):
        rerun = rerun_body(crashed)
        if rerun is None:
            continue
        created = http.request("POST", f"/deployments/{deployment_id}/create_flow_run", rerun)
        run = checked(created, f"re-run {crashed['id']}").json()
        if created.status_code == 201:
            log.warning("incident run %s crashed; re-run as %s", crashed["id"], run["id"])
        reruns.append(str(run["id"]))
    return reruns


def watch(api_url: str, *, interval: float, stop: threading.Event) -> None:
    """Install the automation, then re-run crashed incident runs every ``interval`` s until ``stop``."""
    http = PrefectHttp(api_url)
    try:
        ensure_crash_automation(http)
        while not stop.is_set():
            try:
                rerun_crashed(http)
            except PrefectUnavailableError as e:  # a server restart: try again next round
                log.warning("watchdog: %s", e)
            stop.wait(interval)
    finally:
        http.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Re-run crashed Firebreak incident runs.")
    parser.add_argument("--api-url", required=True, help="The Prefect API, e.g. http://127.0.0.1:4200/api")
    parser.add_argument("--interval", type=float, default=5.0, help="Seconds between checks.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not one line per request every 5 s
    try:
        watch(args.api_url, interval=args.interval, stop=threading.Event())
    except KeyboardInterrupt:
        log.info("watchdog stopped")


if __name__ == "__main__":
    main()
