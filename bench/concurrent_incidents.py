"""Benchmark 3: 20 incidents on 20 services at once; time to first mitigation of each.

"Different services" here: 20 catalog services ``svc-01``...``svc-20`` (prod), each a copy of
checkout's entry with its own feature flag (its own SSM parameter and version history), so
each incident has its own alert, fingerprint, flow run, diagnosis and mitigation. One service
per incident is required: alerts of a service whose incident is open join that run
(docs/alerts.md), so 20 alerts of checkout would be one incident and 19 joins. They share
checkout's regional resources and telemetry, because the simulator models checkout only: a
watcher couples them, holding checkout's ``new-pricing-engine`` on while any service's flag is
on, so the shared error rate (and every incident's confirmation and bake) follows the 20 flags.
Stack as in alert_to_mitigation (served deployment, runner limit = incidents, receiver thread).

    python -m bench.concurrent_incidents --incidents 20
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import TracebackType

import httpx

from bench.checkout import Checkout
from bench.prefect_api import PrefectApi
from bench.receiver import ReceiverThread, generic_alert, post_alert
from bench.served import ServedDeployment
from bench.stack import bench_settings, exit_on_sigterm, prefect_server, seeded_sandbox, workdir
from bench.stats import emit, progress, summary
from drills import seed_names as n
from drills.seed import write_catalog
from drills.simulator import Simulator
from tasks.aws import AwsTarget, client
from tasks.catalog import Catalog, FlagStore

SSM_NAMES_PER_CALL = 10


def add_services(catalog: Catalog, aws: AwsTarget, count: int) -> tuple[Catalog, dict[str, str]]:
    """checkout plus ``svc-01``.. copies, each with its own flag parameter (seeded ``off``,
    labelled known-good); the catalog and ``{service: parameter}``."""
    ssm = client("ssm", aws)
    entry = catalog.entry(n.SERVICE, n.ENVIRONMENT)
    services, parameters = dict(catalog.services), {}
    for i in range(1, count + 1):
        name = f"svc-{i:02d}"
        parameter = f"/{name}/{n.ENVIRONMENT}/flags/{n.FLAG_NEW_PRICING}"
        version = ssm.put_parameter(Name=parameter, Value="off", Type="String")["Version"]
        ssm.label_parameter_version(Name=parameter, ParameterVersion=version, Labels=[n.KNOWN_GOOD_LABEL])
        flags = FlagStore(region=aws.region, flags={n.FLAG_NEW_PRICING: parameter})
        services[name] = {n.ENVIRONMENT: entry.model_copy(update={"flags": flags})}
        parameters[name] = parameter
    return Catalog(services=services), parameters


class FlagWatcher:
    """Polls the services' flags: couples checkout's flag to them, and notes when each went off."""

    def __init__(self, checkout: Checkout, parameters: dict[str, str], *, poll: float = 0.2) -> None:
        self.checkout = checkout
        self.parameters = parameters
        self.poll = poll
        self.off_at: dict[str, datetime] = {}
        self._armed: dict[str, bool] = {}  # service -> seen on since armed
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-flag-watcher", daemon=True)

    def arm(self, services: list[str]) -> None:
        """Record, from now on, when each of ``services`` is first seen off."""
        with self._lock:
            for service in services:
                self._armed[service] = False
                self.off_at.pop(service, None)

    def _values(self) -> dict[str, str]:
        ssm = client("ssm", self.checkout.aws())
        names = list(self.parameters.values())
        values: dict[str, str] = {}
        for i in range(0, len(names), SSM_NAMES_PER_CALL):
            for p in ssm.get_parameters(Names=names[i : i + SSM_NAMES_PER_CALL])["Parameters"]:
                values[p["Name"]] = p["Value"]
        return values

    def _run(self) -> None:
        ssm = client("ssm", self.checkout.aws())
        while not self._stop.is_set():
            values, seen = self._values(), datetime.now(UTC)
            with self._lock:
                for service, was_on in list(self._armed.items()):
                    value = values.get(self.parameters[service])
                    if value == "on":
                        self._armed[service] = True
                    elif value == "off" and was_on:  # off again after the fault: mitigated
                        self.off_at[service] = seen
                        del self._armed[service]
            wanted = "on" if "on" in values.values() else "off"
            if self.checkout.flag_value() != wanted:
                ssm.put_parameter(Name=self.checkout.parameter, Value=wanted, Type="String", Overwrite=True)
            self._stop.wait(self.poll)

    def __enter__(self) -> FlagWatcher:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def one_round(
    services: list[str],
    *,
    checkout: Checkout,
    watcher: FlagWatcher,
    receiver: ReceiverThread,
    api: PrefectApi,
    tag: str,
    timeout: float,
) -> dict[str, object]:
    """Break ``services`` at once, post their alerts concurrently; seconds to each mitigation."""
    ssm = client("ssm", checkout.aws())
    watcher.arm(services)
    for service in services:
        ssm.put_parameter(Name=watcher.parameters[service], Value="on", Type="String", Overwrite=True)
    onset = checkout.wait_alarm(True)

    def post(service: str) -> tuple[str, datetime, str]:
        alert = generic_alert(
            fingerprint=f"bench:{tag}:{service}",
            service=service,
            environment=n.ENVIRONMENT,
            region=checkout.region,
            metric=checkout.metric,
            starts_at=onset,
        )
        with httpx.Client(timeout=60) as http:
            posted = datetime.now(UTC)
            return service, posted, post_alert(http, receiver.url(), alert, retries=10, retry_after=3.0)

    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        posts = list(pool.map(post, services))
    deadline = time.monotonic() + timeout
    while len(watcher.off_at.keys() & set(services)) < len(services) and time.monotonic() < deadline:
        time.sleep(0.2)
    latencies = [
        (watcher.off_at[s] - posted).total_seconds() for s, posted, _ in posts if s in watcher.off_at
    ]
    states = [api.wait_terminal(run_id, timeout=timeout).state_type for _, _, run_id in posts]
    checkout.wait_alarm(False, timeout=60)
    return {
        "incidents": len(services),
        "mitigated": len(latencies),
        "time_to_mitigation_s": summary(latencies) if latencies else None,
        "final_states": {s: states.count(s) for s in sorted(set(states))},
    }


def run(incidents: int, timeout: float, where: Path) -> dict[str, object]:
    began, tag = time.monotonic(), uuid.uuid4().hex[:8]
    with seeded_sandbox(where) as seeded, prefect_server() as server:
        aws = seeded.sandbox.target()
        catalog, parameters = add_services(seeded.catalog, aws, incidents)
        settings = bench_settings(
            write_catalog(catalog, where / "catalog-services.yaml"), where / "incidents"
        )
        checkout = Checkout(seeded.sandbox, seeded.catalog)
        api = PrefectApi(server.api_url)
        with (
            Simulator(seeded.catalog, seeded.sandbox.endpoint_url),
            ServedDeployment(settings, where, api_url=server.api_url, limit=incidents + 1),
            ReceiverThread(server.api_url, where / "dead-letters") as receiver,
            FlagWatcher(checkout, parameters) as watcher,
        ):
            progress(f"stack up in {time.monotonic() - began:.1f}s; single incident first")
            round_ = partial(
                one_round, checkout=checkout, watcher=watcher, receiver=receiver, api=api, timeout=timeout
            )
            single = round_(["svc-01"], tag=f"{tag}-single")
            progress(f"single: {single}; now {incidents} at once")
            many = round_(list(parameters), tag=f"{tag}-many")
        api.close()
    return {
        "benchmark": "concurrent_incidents",
        "single": single,
        "concurrent": many,
        "wall_s": round(time.monotonic() - began, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Concurrent incidents on different services (issue #8).")
    parser.add_argument("--incidents", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=150, help="Per round: wait for mitigations/runs.")
    parser.add_argument("--workdir", type=Path, help="Keep logs, timelines and reports here.")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    with workdir(args.workdir) as where:
        emit(run(max(args.incidents, 1), args.timeout, where))


if __name__ == "__main__":
    main()
