from __future__ import annotations

from datetime import timedelta
from importlib.resources import files
from pathlib import Path

import pytest

from alerts.settings import ReceiverSettings, load_settings
from policies import PolicyError


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREBREAK_PAGERDUTY_SECRETS", "old-secret-0123456789, new-secret-0123456789")
    monkeypatch.setenv("FIREBREAK_SNS_TOPIC_ARNS", "arn:aws:sns:eu-west-1:1:a,arn:aws:sns:eu-west-1:1:b")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4299/api")
    monkeypatch.setenv("FIREBREAK_ALERTMANAGER_TOKEN", "t0k3n-0123456789ab")
    settings = load_settings()
    assert settings.pagerduty_secret_list() == ["old-secret-0123456789", "new-secret-0123456789"]
    assert settings.topic_arns() == {"arn:aws:sns:eu-west-1:1:a", "arn:aws:sns:eu-west-1:1:b"}
    assert settings.prefect_api_url == "http://127.0.0.1:4299/api"
    assert settings.alertmanager_token is not None
    assert "t0k3n-0123456789ab" not in repr(settings)


def test_settings_from_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIREBREAK_GENERIC_BASIC", raising=False)
    env = tmp_path / "receiver.env"
    env.write_text("FIREBREAK_GENERIC_BASIC=ops:pw-0123456789abcdef\nFIREBREAK_MAX_BODY_BYTES=4096\n")
    settings = load_settings(env)
    assert settings.generic_basic is not None
    assert settings.generic_basic.get_secret_value() == "ops:pw-0123456789abcdef"
    assert settings.max_body_bytes == 4096


def test_the_max_open_age_comes_from_the_policy_file(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(default_yaml() + "\nincidents:\n  max_open_minutes: 45\n")
    settings = ReceiverSettings(policy_file=policy)
    assert settings.incident_max_open() == timedelta(minutes=45)
    assert ReceiverSettings().incident_max_open() == timedelta(minutes=240)


def test_a_broken_policy_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("incidents: {max_open_minutes: 0}\n")
    with pytest.raises(PolicyError, match=r"policy.yaml.*max_open_minutes"):
        ReceiverSettings(policy_file=policy).incident_max_open()


def default_yaml() -> str:
    return files("policies").joinpath("default.yaml").read_text(encoding="utf-8")
