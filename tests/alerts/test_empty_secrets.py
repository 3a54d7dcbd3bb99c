"""Issue 25, point 1: a credential set but empty (or short) must not open the receiver."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from typer.testing import CliRunner

from alerts.auth import check_authorization
from alerts.errors import MissingCredentialsError
from alerts.settings import ReceiverSettings
from firebreak.cli import app
from tests.alerts.fakes import settings

runner = CliRunner()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FIREBREAK_GENERIC_TOKEN", ""),
        ("FIREBREAK_GENERIC_TOKEN", "   "),
        ("FIREBREAK_ALERTMANAGER_BASIC", ""),
        ("FIREBREAK_ALERTMANAGER_BASIC", "ops:"),
        ("FIREBREAK_EVENTBRIDGE_TOKEN", "short-token"),
        ("FIREBREAK_PAGERDUTY_SECRETS", " , "),
        ("FIREBREAK_PAGERDUTY_SECRETS", "a-long-enough-secret,short"),
        ("FIREBREAK_SLACK_SIGNING_SECRET", ""),
    ],
)
def test_an_empty_or_short_secret_stops_serve_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("FIREBREAK_DEAD_LETTER_DIR", str(tmp_path / "dead"))
    served: list[object] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **_: served.append(app))
    result = runner.invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 2, result.output
    assert variable in result.output
    assert served == []
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_short_secret_is_refused_by_the_settings_model(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"FIREBREAK_GENERIC_TOKEN.*16"):
        settings(tmp_path, generic_token=SecretStr("x" * 15))


def test_an_empty_offered_credential_never_matches() -> None:
    # Whatever is configured, "Bearer " with nothing after it proves nothing.
    for header in ("Bearer ", "Bearer    ", "Basic ", "Bearer"):
        with pytest.raises(MissingCredentialsError):
            check_authorization("generic", header, SecretStr("t" * 16), SecretStr("ops:" + "p" * 16))


def test_settings_with_long_secrets_are_accepted() -> None:
    config = ReceiverSettings.model_validate(
        {"generic_token": SecretStr("g" * 16), "pagerduty_secrets": SecretStr("a" * 16 + "," + "b" * 20)}
    )
    assert config.pagerduty_secret_list() == ["a" * 16, "b" * 20]
