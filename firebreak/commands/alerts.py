"""``firebreak alert ...`` (parse payloads, inspect and replay dead letters) and ``firebreak serve``.

``parse`` shows what a recorded payload becomes without a receiver or Prefect, which is how a
new sender or routing file is tried out. Signatures are not checked by ``parse``.
"""

from __future__ import annotations

import copy
from datetime import UTC
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from alerts.dead_letters import DeadLetterStore
from alerts.errors import AlertParseError, DeadLetterError, RoutingConfigError
from alerts.prefect_starter import PrefectStarter
from alerts.recent_runs import RecentRuns
from alerts.replay import replay
from alerts.routing import load_routing
from alerts.settings import ReceiverSettings, load_settings, settings_problems
from alerts.sources import Source, parse_payload
from alerts.starter import IncidentStarter
from policies import PolicyError

INVALID = 2

alert_app = typer.Typer(
    name="alert", help="Alert intake: parse payloads, list and replay dead letters.", no_args_is_help=True
)

_ENV_FILE = typer.Option("--env-file", help="Read FIREBREAK_* settings from this file too.")
_DIR = typer.Option("--dir", help="Dead-letter directory (default: FIREBREAK_DEAD_LETTER_DIR).")


def _settings(env_file: Path | None) -> ReceiverSettings:
    try:
        return load_settings(env_file)
    except ValidationError as e:
        for problem in settings_problems(e):
            typer.echo(f"invalid receiver settings: {problem}", err=True)
        raise typer.Exit(INVALID) from e


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(INVALID)


@alert_app.command("parse")
def parse(
    file: Annotated[Path, typer.Argument(help="Payload as the sender posts it (JSON).")],
    source: Annotated[Source, typer.Option(help="Which sender's format FILE is in.")],
    routing: Annotated[Path | None, typer.Option(help="Routing YAML (default: built-in routing).")] = None,
) -> None:
    """Print the normalised alert(s) FILE becomes, as JSON; exit 2 naming the bad field."""
    try:
        result = parse_payload(source, file.read_bytes(), load_routing(routing))
    except OSError as e:
        raise _fail(f"{file}: cannot read: {e.strerror}") from e
    except (AlertParseError, RoutingConfigError) as e:
        raise _fail(f"{file}: {e}") from e
    typer.echo(result.model_dump_json(indent=2))


@alert_app.command("dead-letters")
def dead_letters(
    directory: Annotated[Path | None, _DIR] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the letters as JSON lines.")] = False,
    env_file: Annotated[Path | None, _ENV_FILE] = None,
) -> None:
    """List kept payloads: when, from which source, why, how often, and the file holding them.

    A file that is not a readable letter is skipped and named on stderr; the exit code is then 1.
    """
    store = DeadLetterStore(directory or _settings(env_file).dead_letter_dir)
    entries, unreadable = store.scan()
    fields = {"id", "received_at", "source", "reason", "detail", "retryable", "authenticated", "attempts"}
    for path, dead in entries:
        if as_json:
            typer.echo(dead.model_dump_json(include=fields))
        else:
            retry = "retryable" if dead.retryable else "-"
            typer.echo(
                f"{dead.received_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}  "
                f"{dead.source:<12} {dead.reason:<20} {retry:<9} x{dead.attempts:<4} {path}"
            )
    for bad in unreadable:
        typer.echo(f"skipped unreadable letter {bad.path}: {bad.problem}", err=True)
    if not entries and not unreadable and not as_json:
        typer.echo(f"no dead letters in {store.directory}")
    if unreadable:
        raise typer.Exit(1)


@alert_app.command("replay")
def replay_command(
    directory: Annotated[Path | None, _DIR] = None,
    env_file: Annotated[Path | None, _ENV_FILE] = None,
) -> None:
    """Start the incidents of alerts kept while Prefect was unavailable; exit 1 if some fail again
    or a letter cannot be read (it is skipped and named on stderr)."""
    settings = _settings(env_file)
    starter = _starter(settings)
    try:
        results = replay(DeadLetterStore(directory or settings.dead_letter_dir), starter)
    except DeadLetterError as e:
        raise _fail(str(e)) from e
    finally:
        starter.close()
    for result in results:
        if result.unreadable:
            typer.echo(f"skipped unreadable letter {result.path}: {result.detail}", err=True)
        else:
            typer.echo(f"{'delivered' if result.delivered else 'kept':<9} {result.path}: {result.detail}")
    if any(not r.delivered for r in results):
        raise typer.Exit(1)


def _starter(settings: ReceiverSettings) -> PrefectStarter:
    try:
        max_open = settings.incident_max_open()
    except PolicyError as e:
        raise _fail(f"invalid receiver settings: FIREBREAK_POLICY_FILE: {e}") from e
    return PrefectStarter(
        settings.prefect_api_url,
        deployment=settings.deployment,
        auth=settings.prefect_auth(),
        max_open=max_open,
    )


def serve_starter(settings: ReceiverSettings) -> IncidentStarter:
    """The starter ``firebreak serve`` uses: Prefect behind the recent-runs memory, unless disabled.

    Duplicate deliveries are answered from memory (see :mod:`alerts.recent_runs`); ``replay``
    does not use this, because a kept alert must always be checked against Prefect.
    """
    prefect = _starter(settings)
    if settings.recent_runs_max == 0 or settings.recent_runs_ttl_seconds == 0:
        return prefect
    return RecentRuns(
        prefect, max_keys=settings.recent_runs_max, ttl_seconds=settings.recent_runs_ttl_seconds
    )


def serve_log_config() -> dict[str, Any]:
    """uvicorn's logging, plus Firebreak's ``alerts`` loggers at INFO (one line per run started),
    and query-string credentials redacted from the access log (see alerts/log_redaction.py)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["alerts"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config.setdefault("filters", {})["redact"] = {"()": "alerts.log_redaction.RedactQuerySecrets"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact")
    return config


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    env_file: Annotated[Path | None, _ENV_FILE] = None,
) -> None:
    """Run the alert receiver (POST /alerts/{source}, GET /healthz, docs at /docs)."""
    import uvicorn

    from alerts.receiver import create_app
    from alerts.slack_interactions import SlackConfigError

    settings = _settings(env_file)
    if not settings.topic_arns():
        typer.echo(
            "warning: FIREBREAK_SNS_TOPIC_ARNS is empty: /alerts/cloudwatch refuses every message "
            "until it lists your topics",
            err=True,
        )
    try:
        app = create_app(
            settings,
            starter=serve_starter(settings),
            dead_letters=DeadLetterStore(
                settings.dead_letter_dir,
                max_letters=settings.dead_letter_max,
                unauthenticated_max=settings.dead_letter_unauthenticated_max,
                retry_reserve=settings.dead_letter_retry_reserve,
            ),
        )
    except (RoutingConfigError, SlackConfigError) as e:
        raise _fail(str(e)) from e
    uvicorn.run(app, host=host, port=port, log_level="info", log_config=serve_log_config())


def register(app: typer.Typer) -> None:
    """Add ``firebreak alert ...`` and ``firebreak serve`` to the top-level app."""
    app.add_typer(alert_app)
    app.command("serve")(serve)
