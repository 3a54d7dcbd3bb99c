"""The ``firebreak`` command. Each area registers its own commands from firebreak.commands."""

from __future__ import annotations

import typer

from firebreak.commands import (
    actions,
    alerts,
    catalog,
    drill,
    incident,
    incidents,
    policy,
    replay,
    stack,
    timeline,
)

app = typer.Typer(
    name="firebreak",
    help="Incident-response runbooks as Prefect flows, gated by policy, acting on AWS.",
    no_args_is_help=True,
    add_completion=False,
)

for area in (policy, catalog, actions, alerts, incident, drill, incidents, timeline, stack, replay):
    area.register(app)


@app.command()
def version() -> None:
    """Print Firebreak's version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("firebreak"))
