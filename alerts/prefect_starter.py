"""Start, find or join incident runs through the Prefect REST API (open-source Prefect has no webhooks).

Each firing alert is placed by :func:`alerts.open_incident.place` against the incident runs of
its service and environment (found by their tags, newest first):

- the run this occurrence already started is answered again (``created=False``);
- an open run is joined: a flow run input ``firebreak-join-...`` on it (:mod:`alerts.joins`),
  keyed by the occurrence, so a re-delivery is the same join (Prefect answers 409);
- an occurrence that joined a run closed within the max age gets that run again when that run
  marked the join handled (``firebreak-handled-...``); a join the run never handled opens an
  incident, since nobody acted on its region;
- else ``POST /deployments/{id}/create_flow_run`` with the successor idempotency key. When
  another replica created that run first, Prefect answers 200 with it and this alert joins it;
  when that run is already over, placement starts again from a fresh read.

Everything lives in Prefect, so the answer is the same from every replica and after restarts.
Resolutions are Prefect Variables named by :func:`alerts.resolved.resolved_variable_name`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from alerts.errors import PrefectUnavailableError
from alerts.joins import JOIN_SENDER, Join, handled_key, join_key
from alerts.models import Alert
from alerts.open_incident import Action, IncidentRun, incident_tags, place
from alerts.prefect_http import RETRY_DELAYS, PrefectHttp, checked, json_list, json_object
from alerts.resolved import resolved_at, resolved_variable_name
from alerts.starter import StartedRun
from policies import IncidentSettings

log = logging.getLogger(__name__)

DEFAULT_DEPLOYMENT = "incident-response/incident"
DEFAULT_MAX_OPEN = timedelta(minutes=IncidentSettings().max_open_minutes)
RECENT_RUNS = 10  # incident runs of one service read per placement, newest first
PLACEMENT_ATTEMPTS = 3


class PrefectStarter:
    """An IncidentStarter backed by a Prefect server. The deployment id is looked up once.

    ``max_open`` is the policy's ``incidents.max_open_minutes``: an incident run created longer
    ago than that no longer counts as open, whatever its state.
    """

    def __init__(
        self,
        api_url: str,
        *,
        deployment: str = DEFAULT_DEPLOYMENT,
        auth: tuple[str, str] | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        max_open: timedelta = DEFAULT_MAX_OPEN,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        flow_name, _, deployment_name = deployment.partition("/")
        if not flow_name or not deployment_name:
            raise ValueError(f"deployment must be '<flow>/<deployment>', got {deployment!r}")
        self._names = (flow_name, deployment_name)
        self._http = PrefectHttp(
            api_url, auth=auth, timeout=timeout, transport=transport, retry_delays=retry_delays
        )
        self._deployment_id: str | None = None
        self._max_open = max_open
        self._clock = clock

    def start(self, alert: Alert) -> StartedRun:
        """The run ``alert`` belongs to: found, joined or created (see the module docstring)."""
        for _ in range(PLACEMENT_ATTEMPTS):
            runs = self._incident_runs(alert)
            now = self._clock()
            placement = place(alert, runs, now=now, max_open=self._max_open)
            if placement.run is not None:
                if placement.action is Action.JOIN:
                    return self._join(alert, placement.run)
                return self._answer(alert, placement.run.id, "existing")
            earlier = self._earlier_join(alert, [r for r in runs if r.recently_closed(now, self._max_open)])
            if earlier is not None:
                return self._answer(alert, earlier.id, "joined earlier", joined=True)
            assert placement.idempotency_key is not None  # Action.CREATE
            created = self._create(alert, placement.idempotency_key)
            if created is None:  # the deployment was re-created: its id changed, read again
                continue
            run, new = created
            if new:
                return self._answer(alert, run.id, "new", created=True)
            if run.dedup_key == alert.dedup_key:  # an HA twin of this alert created it
                return self._answer(alert, run.id, "existing")
            if run.is_open(self._clock(), self._max_open):  # another replica opened the incident
                return self._join(alert, run)
        raise PrefectUnavailableError(
            f"no incident run settled for {alert.dedup_key} after {PLACEMENT_ATTEMPTS} attempts"
        )

    def record_resolved(self, alert: Alert) -> None:
        """Create or update the resolution Variable of ``alert.fingerprint``."""
        name = resolved_variable_name(alert.fingerprint)
        value = {"fingerprint": alert.fingerprint, "resolved_at": resolved_at(alert).isoformat()}
        response = self._http.request("PATCH", f"/variables/name/{name}", {"value": value})
        if response.status_code == 404:
            response = self._http.request("POST", "/variables/", {"name": name, "value": value})
            if response.status_code == 409:  # another replica created it in between
                response = self._http.request("PATCH", f"/variables/name/{name}", {"value": value})
        checked(response, f"record resolution {name}")
        log.info("recorded resolution of %s as variable %s", alert.fingerprint, name)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def _incident_runs(self, alert: Alert) -> list[IncidentRun]:
        """The newest incident runs of the alert's service and environment, newest first."""
        body = {
            "deployments": {"id": {"any_": [self._deployment()]}},
            "flow_runs": {"tags": {"all_": incident_tags(alert)}},
            "sort": "EXPECTED_START_TIME_DESC",
            "limit": RECENT_RUNS,
        }
        response = checked(self._http.request("POST", "/flow_runs/filter", body), "find incident runs")
        return [IncidentRun.from_api(run) for run in json_list(response)]

    def _create(self, alert: Alert, idempotency_key: str) -> tuple[IncidentRun, bool] | None:
        """The run for ``idempotency_key`` and whether this call created it; None on a stale id."""
        body = {
            "parameters": {"alert": inert(alert.model_dump(mode="json"))},
            "idempotency_key": idempotency_key,
            "tags": ["incident", alert.service, *incident_tags(alert)],
        }
        response = self._http.request("POST", f"/deployments/{self._deployment()}/create_flow_run", body)
        if response.status_code == 404:
            self._deployment_id = None
            return None
        run = json_object(checked(response, "create flow run"))
        return IncidentRun.from_api(run), response.status_code == 201

    def _join(self, alert: Alert, run: IncidentRun) -> StartedRun:
        """Record ``alert`` on ``run``; a re-delivery finds its key taken (409) and is the same join."""
        key = join_key(alert)
        value = Join(key=key, alert=alert, joined_at=self._clock()).model_dump_json()
        body = {"key": key, "value": value, "sender": JOIN_SENDER}
        response = self._http.request("POST", f"/flow_runs/{run.id}/input", body)
        if response.status_code == 409:
            return self._answer(alert, run.id, "joined already", joined=True)
        checked(response, f"record join on flow run {run.id}")
        return self._answer(alert, run.id, "joined", joined=True)

    def _earlier_join(self, alert: Alert, closed: list[IncidentRun]) -> IncidentRun | None:
        """The closed run this occurrence joined and that handled its region, if any (one read
        per recently closed run, one more for the handled mark). A join its run never handled
        (it arrived too late, or the run ended first) is None: the alert opens an incident."""
        key = join_key(alert)
        for run in closed:
            if self._has_input(run, key):
                if self._has_input(run, handled_key(alert)):
                    return run
                log.warning(
                    "%s joined run %s, which never handled it: a new incident", alert.dedup_key, run.id
                )
                return None
        return None

    def _has_input(self, run: IncidentRun, key: str) -> bool:
        response = self._http.request("GET", f"/flow_runs/{run.id}/input/{key}")
        if response.status_code == 404:
            return False
        checked(response, f"read input {key} of flow run {run.id}")
        return True

    def _answer(
        self, alert: Alert, run_id: str, how: str, *, created: bool = False, joined: bool = False
    ) -> StartedRun:
        log.info("incident run %s for %s (%s)", run_id, alert.dedup_key, how)
        return StartedRun(flow_run_id=run_id, created=created, joined=joined, dedup_key=alert.dedup_key)

    def _deployment(self) -> str:
        if self._deployment_id is None:
            flow_name, deployment_name = self._names
            path = f"/deployments/name/{quote(flow_name, safe='')}/{quote(deployment_name, safe='')}"
            response = checked(self._http.request("GET", path), f"find deployment {'/'.join(self._names)}")
            self._deployment_id = str(json_object(response)["id"])
        return self._deployment_id


def inert(value: Any) -> Any:
    """``value`` with every ``__prefect_kind`` key renamed, recursively.

    Prefect interprets dicts carrying ``__prefect_kind`` inside run parameters (Jinja templates,
    workspace variables). An alert's raw payload is the sender's text and must stay data, so a
    sender cannot make the server render a template or read a variable.
    """
    if isinstance(value, dict):
        return {("_prefect_kind_" if k == "__prefect_kind" else k): inert(v) for k, v in value.items()}
    if isinstance(value, list):
        return [inert(v) for v in value]
    return value
