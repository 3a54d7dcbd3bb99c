"""CLI commands for the actions area: ``firebreak iam-policy``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level app."""
    app.command("iam-policy")(iam_policy_command)


def iam_policy_command(
    kinds: Annotated[
        str | None, typer.Option("--kinds", help="Comma-separated action kinds, e.g. flags.disable.ssm.")
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy", help="Policy file; default: the shipped policy.", exists=True, dir_okay=False
        ),
    ] = None,
) -> None:
    """Print the least-privilege IAM policy JSON for the action kinds that may run.

    Without --kinds: every kind the policy does not always deny. With both: the given kinds
    that the policy does not always deny.
    """
    from policies import PolicyError, default_policy, load_policy
    from tasks.iam import enabled_kinds, iam_policy
    from tasks.registry import UnknownKindError

    named = None if kinds is None else [k.strip() for k in kinds.split(",") if k.strip()]
    if named == []:
        typer.echo(
            "firebreak iam-policy: --kinds names no kind (leave it out for every allowed kind)", err=True
        )
        raise typer.Exit(2)
    try:
        allowed = enabled_kinds(load_policy(policy) if policy else default_policy())
        chosen = named if named is not None else allowed
        if kinds and policy:
            chosen = [k for k in chosen if k in allowed]
        document = iam_policy(chosen)
    except (PolicyError, UnknownKindError) as e:
        typer.echo(f"firebreak iam-policy: {e}", err=True)
        raise typer.Exit(2) from e
    typer.echo(json.dumps(document, indent=2))
