"""Shared fixtures: fake AWS credentials, moto, fresh clients, instant retries."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from moto import mock_aws
from tenacity import wait_none

from drills.sandbox import Sandbox
from tasks import aws as aws_module
from tasks.aws import AwsTarget
from tests.records_key import records_key  # noqa: F401 - a fixture: this host's records signing key

REGION = "us-east-1"


def pytest_configure(config: pytest.Config) -> None:
    """Collect young garbage every 100,000 allocations, not every 700 (Python's default).

    A test process holds three million long-lived objects (the imports, moto's backends, the
    Prefect client) and makes little cyclic garbage; at the default thresholds the collector
    ran ~800 times and walked every object ~30 times, a fifth of the CPU of tests/drills.
    Garbage is still collected, in fewer and larger batches; what any test checks is unchanged.
    """
    gc.set_threshold(100_000, 50, 100)


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region; no endpoint override can send a test to a real server."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("FIREBREAK_AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fresh_clients() -> Iterator[None]:
    """tasks.aws caches clients; start and end each test without any."""
    aws_module.clear_client_cache()
    yield
    aws_module.clear_client_cache()


@pytest.fixture
def instant_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make tasks.aws.call's tenacity backoff instant (the retry count is unchanged)."""
    monkeypatch.setattr(aws_module._retrying_call.retry, "wait", wait_none())  # type: ignore[attr-defined]


@pytest.fixture
def aws(aws_credentials: None, fresh_clients: None, instant_retries: None) -> Iterator[AwsTarget]:
    """moto active for the test; yields the AwsTarget actions should use (us-east-1)."""
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        yield AwsTarget(region=REGION)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One moto server for the session (a new one costs ~6 s to warm up); tests re-seed it."""
    with Sandbox() as running:
        yield running
