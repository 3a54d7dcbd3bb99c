"""``firebreak catalog check FILE``: whether each mitigation the catalog allows can work."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tasks.catalog import CatalogError, load_catalog
from tasks.catalog_check import catalog_gaps

VALID, GAPS, INVALID = 0, 1, 2

catalog_app = typer.Typer(
    name="catalog",
    help="Check service catalogs before an incident needs them.",
    no_args_is_help=True,
)


@catalog_app.command("check")
def check(file: Annotated[Path, typer.Argument(help="Service catalog YAML file to check.")]) -> None:
    """Check FILE: exit 0 when every mitigation it allows can be verified; 1 with one warning per
    gap, naming the service, environment, region and field and what the mitigation lacks; 2 when
    FILE cannot be read or is not a valid catalog (the file and field named)."""
    try:
        catalog = load_catalog(file)
    except CatalogError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(INVALID) from e
    environments = sum(len(envs) for envs in catalog.services.values())
    typer.echo(f"{file}: valid catalog: {len(catalog.services)} services, {environments} environments")
    gaps = catalog_gaps(catalog)
    for gap in gaps:
        typer.echo(f"{file}: warning: {gap}", err=True)
    if gaps:
        raise typer.Exit(GAPS)


def register(app: typer.Typer) -> None:
    """Add ``firebreak catalog ...`` to the top-level app."""
    app.add_typer(catalog_app)
