"""``firebreak stack up``: Prefect's production topology on this host, for trying and testing it;
``firebreak stack check``: its pool still starts runs with Firebreak's engine client."""

from __future__ import annotations

import contextlib
import signal
import tempfile
import threading
from pathlib import Path
from typing import Annotated

import typer

stack_app = typer.Typer(
    name="stack",
    help="A local production-shaped stack: PostgreSQL, a Prefect server, workers, receivers.",
    no_args_is_help=True,
)

_CATALOG = typer.Option(help="Catalog YAML the flows read (published in firebreak_run_settings).")
_WORKDIR = typer.Option(help="Logs, Prefect home, incidents, dead letters; default: a temp dir (removed).")


@stack_app.command("up")
def up(
    catalog: Annotated[Path, _CATALOG],
    workers: Annotated[int, typer.Option(min=1, help="Firebreak workers on the pool.")] = 2,
    receivers: Annotated[int, typer.Option(min=1, help="`firebreak serve` replicas.")] = 2,
    port: Annotated[int, typer.Option(help="Prefect server (API and UI) port.")] = 4200,
    receiver_port: Annotated[int, typer.Option(help="First receiver's port; the others follow.")] = 8080,
    pool_limit: Annotated[
        int | None, typer.Option(help="Flow runs the `firebreak` pool runs at once (default: no limit).")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="postgresql+asyncpg://... of an existing database; default: start a local one."),
    ] = None,
    workdir: Annotated[Path | None, _WORKDIR] = None,
    warm_engines: Annotated[
        bool,
        typer.Option(
            help="Start each run from a fork server beside its worker (imports done once); "
            "without: the engine client checks each run itself and starts a new "
            "`python -m prefect.engine`."
        ),
    ] = True,
) -> None:
    """Start everything on 127.0.0.1, print where it is, and stop it all on Ctrl-C.

    1. PostgreSQL (Debian's `postgresql` package) in a temporary directory, unless --database-url.

    2. `prefect server start` on it, at --port, with a fresh API auth string
    (PREFECT_SERVER_API_AUTH_STRING), kept in WORKDIR/prefect-auth-string (mode 0600): every
    process of the stack gets it; the command prints where it is for the operator.

    The catalog (--catalog) is the workers' host configuration (FIREBREAK_CATALOG_FILE), never a
    run parameter; the policy is the shipped one unless FIREBREAK_POLICY_FILE is set in this shell.

    3. The `firebreak` process pool, the `firebreak_run_settings` Variable, prefect.yaml deployed.

    4. --workers Firebreak workers (`python -m firebreak.worker`: Prefect's process worker,
    starting a run only through the engine client, firebreak.engine_client, which makes the
    host's run checks; any other command is refused and the run marked Failed), running flows
    from this checkout, each with a fork server its runs start from (firebreak.forkserver;
    --no-warm-engines: none, a new `python -m prefect.engine` per run, after the client's checks).

    5. --receivers `firebreak serve` replicas on consecutive ports from --receiver-port.

    AWS credentials (or FIREBREAK_AWS_ENDPOINT_URL) and the receivers' tokens (FIREBREAK_*_TOKEN)
    come from this shell's environment.

    Example: FIREBREAK_GENERIC_TOKEN=... firebreak stack up --catalog catalog.yaml --workers 2
    """
    from firebreak.stack import LocalStack, StackSpec, write_auth_string
    from flows.host_config import host_environment
    from flows.settings import RunSettings

    with tempfile.TemporaryDirectory(prefix="firebreak-stack-") as tmp:
        where = (workdir or Path(tmp)).resolve()
        where.mkdir(parents=True, exist_ok=True)
        settings = RunSettings(output_dir=str(where / "incidents"))
        auth_string, auth_file = write_auth_string(where)
        spec = StackSpec(
            auth_string=auth_string,
            workdir=where,
            run_settings=settings.model_dump_json(exclude_defaults=True),
            host_env=host_environment(catalog=catalog.resolve()),
            workers=workers,
            receivers=receivers,
            server_port=port,
            receiver_port=receiver_port,
            pool_limit=pool_limit,
            database_url=database_url,
            warm_engines=warm_engines,
        )
        typer.echo("starting PostgreSQL, the Prefect server, workers and receivers ...")
        with LocalStack(spec) as stack:
            assert stack.server is not None
            typer.echo(f"Prefect UI and API: {stack.server.ui_url}  (PREFECT_API_URL={stack.server.api_url})")
            typer.echo(
                f"Prefect API auth string (the UI asks for it; give it only to operators as "
                f"PREFECT_API_AUTH_STRING): {auth_file} (mode 0600)"
            )
            for url in stack.receiver_urls:
                typer.echo(f"receiver: {url}/alerts/{{source}}")
            typer.echo("check that the pool still starts runs with the engine client: firebreak stack check")
            typer.echo(f"logs: {where}\nCtrl-C stops everything.")
            stopped = threading.Event()
            signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
            with contextlib.suppress(KeyboardInterrupt):
                stopped.wait()
            typer.echo("stopping ...")


@stack_app.command("check")
def check(
    pool: Annotated[str, typer.Option(help="The work pool the workers serve.")] = "firebreak",
    python: Annotated[
        str | None,
        typer.Option(
            help="The workers' Python (default: this one): the command is "
            "`PYTHON -m firebreak.engine_client`."
        ),
    ] = None,
) -> None:
    """Check that the work pool still starts every run with Firebreak's engine client.

    The host's run checks (policy, catalog and role fixed by the host; entrypoint, pull steps and
    job variables allowed) run in that client. Anyone holding the Prefect API can change the
    pool's command so that it never runs: Firebreak workers then refuse every run, any other
    worker starts them unchecked. This reads the pool's base job template and its deployments
    from the Prefect API (PREFECT_API_URL, PREFECT_API_AUTH_STRING) and says so. A command set
    in a single run's job variables is not visible here (Firebreak workers refuse that run).

    Exit codes: 0 the pool starts runs with the engine client; 1 it does not (each problem named);
    2 the pool cannot be read.
    """
    from firebreak.pool_command import command_problems, engine_client_command, read_pool

    expected = engine_client_command(python) if python else engine_client_command()
    try:
        template, deployments = read_pool(pool)
    except Exception as e:  # whatever stops the reading is reported: exit 2
        typer.echo(f"cannot read work pool {pool} from the Prefect API ({type(e).__name__}: {e})", err=True)
        raise typer.Exit(2) from e
    problems = command_problems(template, deployments, expected)
    if problems:
        for problem in problems:
            typer.echo(f"pool {pool}: {problem}")
        typer.echo(
            f"pool {pool}: the host's run checks do not run for its runs (Firebreak workers refuse "
            f"them, any other worker starts them unchecked); restore the command ({expected})"
        )
        raise typer.Exit(1)
    typer.echo(
        f"pool {pool} starts runs with Firebreak's engine client ({expected}); "
        f"{len(deployments)} deployment(s) checked"
    )


def register(app: typer.Typer) -> None:
    """Add ``firebreak stack ...`` to the top-level app."""
    app.add_typer(stack_app)
