from __future__ import annotations

from pathlib import Path

import pytest

from alerts.settings import load_settings


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREBREAK_PAGERDUTY_SECRETS", "old-secret, new-secret")
    monkeypatch.setenv("FIREBREAK_SNS_TOPIC_ARNS", "arn:aws:sns:eu-west-1:1:a,arn:aws:sns:eu-west-1:1:b")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4299/api")
    monkeypatch.setenv("FIREBREAK_ALERTMANAGER_TOKEN", "t0k3n")
    settings = load_settings()
    assert settings.pagerduty_secret_list() == ["old-secret", "new-secret"]
    assert settings.topic_arns() == {"arn:aws:sns:eu-west-1:1:a", "arn:aws:sns:eu-west-1:1:b"}
    assert settings.prefect_api_url == "http://127.0.0.1:4299/api"
    assert settings.alertmanager_token is not None
    assert "t0k3n" not in repr(settings)


def test_settings_from_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIREBREAK_GENERIC_BASIC", raising=False)
    env = tmp_path / "receiver.env"
    env.write_text("FIREBREAK_GENERIC_BASIC=ops:pw\nFIREBREAK_MAX_BODY_BYTES=4096\n")
    settings = load_settings(env)
    assert settings.generic_basic is not None
    assert settings.generic_basic.get_secret_value() == "ops:pw"
    assert settings.max_body_bytes == 4096
