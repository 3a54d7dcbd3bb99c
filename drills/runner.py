"""Run one drill end to end: sandbox, simulator, a local Prefect server, the faults, the
alerts, the incident flow, the responder, optional recovery, and the scorecard.

Every drill runs in a world built from a catalog: the scenario's ``catalog:`` (or
``firebreak drill --catalog``), else the shipped checkout world, ``drills/catalogs/checkout.yaml``.
The flows run exactly as in production: they reach the sandbox only through the client
factory's endpoint setting (FIREBREAK_AWS_ENDPOINT_URL) and Prefect only through its API URL.
One alert runs the incident flow in-process (the quick start stays quick); several alerts (a
re-fire, a second alarm, several broken services) go through the production intake path
(drills/intake.py), so joining and dedup are what is tested.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from functools import partial
from importlib.resources import files
from pathlib import Path
from tempfile import TemporaryDirectory

from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, PREFECT_UI_API_URL, temporary_settings
from rich.console import Console

from alerts.models import Alert
from drills.clock import DrillClock
from drills.drill_policy import write_drill_policy
from drills.environ import scoped_environment
from drills.intake import count_incident_runs, through_intake
from drills.prefect_server import LocalPrefectServer
from drills.records_key import drill_records_key
from drills.responder import DrillResponder, drill_keys, with_identities
from drills.run_settings import drill_settings
from drills.sandbox import Sandbox
from drills.scenario import Answer, Responder, Scenario, scenario_policy
from drills.scorecard import Scorecard
from drills.seed import write_catalog
from drills.served_posts import ServedPosts, wait_for_post_runs
from drills.slack_channel import slack_for
from drills.standins.pagerduty import PagerDutyStandIn
from drills.standins.statuspage import StatusPageStandIn
from drills.world.drill import (
    ENVIRONMENT,
    Planned,
    Record,
    breaching_alarms,
    break_world,
    main_service,
    plan_faults,
    score_all,
    second_region_alerts,
    world_alerts,
)
from drills.world.seed import seed_world
from drills.world.simulator import WorldSimulator
from flows.host_config import host_environment
from flows.incident import incident_response
from flows.incident_run import incident_id_for
from flows.recover import recover
from flows.settings import RunSettings
from policies import Policy
from policies.paging import ONCALL
from tasks.catalog import Catalog, load_catalog

SHIPPED_CATALOG = Path(str(files("drills").joinpath("catalogs", "checkout.yaml")))


def run_drill(scenario: Scenario, *, output: Path, console: Console, interactive: bool = False) -> Scorecard:
    """Run ``scenario`` and return its scorecard (printing progress to ``console``).

    Every fault is checked against the catalog before the sandbox starts; the resolved catalog
    the drill used is written to ``OUTPUT/catalog.yaml``.
    """
    responder = scenario.responder
    if interactive:
        responder = responder.model_copy(
            update={"approvals": Answer.INTERACTIVE, "human_steps": Answer.INTERACTIVE}
        )
    catalog_file = Path(scenario.catalog) if scenario.catalog is not None else SHIPPED_CATALOG
    spec = load_catalog(catalog_file)
    planned = plan_faults(scenario, spec)
    output.mkdir(parents=True, exist_ok=True)
    with Sandbox(export_env=True) as sandbox, prefect_server_booting() as server_ready:
        with console.status(f"seeding the world of {catalog_file}"), long_lived_allocations():
            catalog = seed_world(spec, sandbox.endpoint_url, breaching=breaching_alarms(planned, spec))
        catalog_path = write_catalog(catalog, output / "catalog.yaml")
        console.print(f"sandbox: moto at {sandbox.endpoint_url}; resolved catalog {catalog_path}")
        with console.status("starting a local Prefect server"):
            server = server_ready()
        with (
            scoped_environment(server.env),
            temporary_settings(updates={PREFECT_API_URL: server.api_url, PREFECT_UI_API_URL: server.api_url}),
        ):
            console.print(f"prefect: UI at {server.ui_url} (paused steps can be approved there)")
            try:
                return _run(scenario, catalog, catalog_path, planned, sandbox, responder, output, console)
            finally:
                flush_prefect()


@contextmanager
def prefect_server_booting() -> Iterator[Callable[[], LocalPrefectServer]]:
    """A drill's local Prefect server, booting in a thread while the caller seeds the world;
    call the yielded function to wait until it is healthy (it raises what the start raised).

    Booting (in the server's own process) and seeding (moto, in this one) each take several
    seconds and need nothing from each other. The server is started after the sandbox, so it
    inherits the sandbox's environment as before. Its database is new and empty, a copy of
    drills.prefect_server.empty_prefect_database: a fresh one without its migrations' ~9 s.
    """
    with TemporaryDirectory(prefix="firebreak-prefect-") as home:
        server = LocalPrefectServer(home=Path(home))

        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefect-server-start") as pool:
                started = pool.submit(server.start)
                yield started.result
        finally:  # the pool has waited for the start to end, so cleanup() sees any process it made
            server.cleanup()


@contextmanager
def long_lived_allocations() -> Iterator[None]:
    """No cyclic garbage collection inside; afterwards, every object alive is frozen
    (``gc.freeze``: left out of every later collection, still freed by reference counting).

    Seeding a world makes moto build its backends, about 800,000 objects that live as long as
    the sandbox, and almost no garbage; each full collection meanwhile walked every object
    again (six or more per seed, 0.3 s to 2 s each, the larger part of the seed's time), and
    one more ran at exit. What the drill allocates later is collected as usual.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.freeze()


def flush_prefect() -> None:
    """Send buffered logs and events while the drill's server is still up (else they are
    retried against a dead server at exit, for a minute, with errors)."""
    APILogWorker.drain_all(timeout=10)
    EventsWorker.drain_all(timeout=10)


def _run(
    scenario: Scenario,
    catalog: Catalog,
    catalog_path: Path,
    planned: list[Planned],
    sandbox: Sandbox,
    responder_config: Responder,
    output: Path,
    console: Console,
) -> Scorecard:
    keys = drill_keys(responder_config.people, output / "keys")
    records_env, records_signer = drill_records_key(output / "keys")  # the drill host signs its records
    policy = {
        **with_identities(scenario_policy(scenario, source=scenario.name), keys),
        "record_signers": [records_signer],
    }
    slack, policy = slack_for(responder_config, output, policy, catalog_path)
    policy_path = write_drill_policy(policy, output / "policy.yaml")
    clock = DrillClock()
    settings = drill_settings(scenario, output, clock=clock)
    main = main_service(scenario, catalog)
    pagerduty = PagerDutyStandIn()
    statuspage = StatusPageStandIn()
    with (
        # The drill process is the flows' host: it fixes their policy and catalog.
        scoped_environment(host_environment(catalog=catalog_path, policy=policy_path)),
        scoped_environment(records_env),
        pagerduty,
        scoped_environment(pagerduty_environment(pagerduty, Policy.model_validate(policy))),
        statuspage,
        scoped_environment(statuspage.environment()),
        ServedPosts(),  # the status page posts' deployment, as a worker serves it
        slack.serving(policy_path) if slack is not None else nullcontext(),
        WorldSimulator(catalog, sandbox.endpoint_url, environment=ENVIRONMENT) as sim,
    ):
        broken = break_world(planned, sim, sandbox, catalog, console)
        alerts = world_alerts(scenario, catalog, sandbox, broken, main)
        console.print(f"[bold]alert:[/] {', '.join(a.name for a in alerts)}; running incident-response")
        responder = DrillResponder(
            responder_config, console=console, keys=keys, key_folder=output / "keys", slack=slack
        ).start()
        try:
            if len(alerts) == 1 and scenario.alert_count == 1:
                state = incident_response(alert=alerts[0], settings=settings, return_state=True)
                console.print(f"incident flow: {state.type.value}: {state.message}")
            else:
                at_first_fix = partial(second_region_alerts, scenario, catalog, sandbox, main)
                through_intake(scenario, alerts, settings, output, console, at_first_fix)
            wait_for_post_runs()  # the status page posts, answered while the incident went on
            main_alert = next(a for a in alerts if a.service == main)
            recovery = _recover(scenario, sim, broken, main_alert, settings, console)
        finally:
            responder.stop()
    record = Record(
        responder.answered,
        recovery,
        clock.speed,
        count_incident_runs(),
        pagerduty,
        statuspage,
        slack.summary() if slack is not None else None,
    )
    return score_all(scenario, catalog, sandbox, settings, alerts, record)


def pagerduty_environment(pagerduty: PagerDutyStandIn, policy: Policy) -> dict[str, str]:
    """The drill's people are paged on the stand-in: its URL, and a routing key for every
    variable the policy's escalation levels name."""
    levels = [level for levels in policy.paging.escalation.values() for level in levels]
    keys = {level.routing_key_env: f"drill-{level.name}" for level in [*levels, ONCALL]}
    return {"FIREBREAK_PAGERDUTY_API_URL": pagerduty.url, **keys}


def _recover(
    scenario: Scenario,
    sim: WorldSimulator,
    broken: dict[str, str],
    alert: Alert,
    settings: RunSettings,
    console: Console,
) -> str | None:
    """Heal every broken service (with ``recovery.heal``), then run the recover flow for
    ``alert``'s incident as the scenario's requester; its final state, or None without one."""
    if scenario.recovery is None:
        return None
    if scenario.recovery.heal:
        for service in broken:
            sim.heal(service)
        console.print(f"[bold]recovery:[/] healed; {scenario.recovery.requester} starts the recover flow")
    state = recover(
        incident_id=incident_id_for(alert), settings=settings, requester=scenario.recovery.requester,
        return_state=True,
    )  # fmt: skip
    console.print(f"recover flow: {state.type.value}: {state.message}")
    return "completed" if state.is_completed() else state.type.value.lower()
