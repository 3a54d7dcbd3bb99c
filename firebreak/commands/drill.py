"""``firebreak drill``: game days on a laptop."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from drills.scenario import Answer, Scenario, ScenarioError, list_scenarios, load_scenario
from drills.scorecard import Scorecard


def _print_scorecard(card: Scorecard, console: Console) -> None:
    table = Table(title=f"Drill scorecard: {card.scenario}", show_lines=False)
    table.add_column("check")
    table.add_column("expected")
    table.add_column("actual")
    table.add_column("")
    for c in card.checks:
        table.add_row(c.name, c.expected, c.actual, "[green]PASS" if c.ok else "[red]FAIL")
    console.print(table)
    console.print(
        f"severity: {card.severity}   diagnosis: {card.diagnosis}   verification: {card.verification}"
    )
    for m in card.mitigations:
        console.print(f"  mitigation: {m}")
    console.print(
        f"approvals/human steps asked: {card.approvals_asked}; answers: {'; '.join(card.answers) or '-'}"
    )
    if card.incident_runs is not None:
        console.print(f"incident flow runs started: {card.incident_runs}")
    received = {"PagerDuty": card.pages, "status page": card.status_page, "Slack": card.slack_messages}
    for who, what in received.items():
        if what:
            console.print(f"{who} received: {', '.join(what)}")
    for name, wall in card.wall_seconds.items():
        console.print(f"  {name}: wall {wall} s, drill clock {card.drill_seconds[name]} s")
    console.print(f"timeline: {card.timeline_path}\npostmortem: {card.postmortem_path}")
    console.print("[bold green]DRILL PASSED" if card.passed else "[bold red]DRILL FAILED")


def register(app: typer.Typer) -> None:
    """Add ``firebreak drill``."""

    @app.command()
    def drill(
        scenario: str = typer.Argument(
            "bad-deploy", help="Scenario name (see --list) or a scenario YAML path."
        ),
        approve_all: bool = typer.Option(
            False, "--approve-all", help="Approve every paused step (as alice)."
        ),
        interactive: bool = typer.Option(
            False,
            "--interactive",
            help="Ask at this terminal (the Prefect UI works too) instead of the script.",
        ),
        as_json: bool = typer.Option(
            False, "--json", help="Print the scorecard as one JSON object on stdout."
        ),
        list_: bool = typer.Option(False, "--list", help="List the shipped scenarios and exit."),
        output: Path = typer.Option(
            Path("drill-output"), help="Where the catalog, timeline and postmortem go."
        ),
        catalog: Path | None = typer.Option(
            None,
            "--catalog",
            help="Build the drill world from this catalog (your own services; docs/drills.md).",
        ),
    ) -> None:
        """Run a game-day drill end to end against a local fake production.

        Starts a moto server seeded with every resource of the scenario's catalog (the
        shipped two-region `checkout` world without one), a simulator that makes each
        service's metrics follow its state, and a local Prefect server (with UI); breaks
        something; sends the alert; runs the incident flow; answers paused steps as the
        scenario says; prints a scorecard. Exits 1 when the scenario's expectations are not met.
        """
        console = Console(stderr=as_json)
        if list_:
            for s in list_scenarios():
                console.print(f"[bold]{s.name}[/]: {s.title}")
            return
        try:
            chosen: Scenario = load_scenario(scenario, catalog=catalog)
        except ScenarioError as e:
            console.print(f"[red]{e}")
            raise typer.Exit(2) from e
        if approve_all and interactive:
            console.print("[red]--approve-all and --interactive exclude each other")
            raise typer.Exit(2)
        if approve_all:
            chosen = chosen.model_copy(
                update={
                    "responder": chosen.responder.model_copy(
                        update={"approvals": Answer.APPROVE, "human_steps": Answer.APPROVE}
                    )
                }
            )
        from drills.runner import run_drill  # imports moto and the flows: only when running one
        from drills.world import WorldError
        from tasks.catalog import CatalogError

        try:
            card = run_drill(chosen, output=output / chosen.name, console=console, interactive=interactive)
        except (ScenarioError, CatalogError, WorldError) as e:  # the scenario or its world cannot run
            console.print(f"[red]{e}")
            raise typer.Exit(2) from e
        if as_json:
            sys.stdout.write(card.model_dump_json() + "\n")
        else:
            _print_scorecard(card, console)
        raise typer.Exit(0 if card.passed else 1)
