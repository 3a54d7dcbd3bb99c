"""The worker host's records signing key for tests (flows.anchor): a key in a 0600 file named
by ``FIREBREAK_RECORDS_KEY``, and a policy listing its public half under ``record_signers``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flows.anchor import RECORDS_KEY_ENV
from flows.identity import public_key_text, write_private_key

# The flow tests' worker key: deterministic, so a failure reproduces; never used outside tests.
WORKER_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"firebreak-test:records").digest())


def with_record_signer(policy: dict[str, Any]) -> dict[str, Any]:
    """``policy`` data listing the test worker key under ``record_signers``."""
    return {**policy, "record_signers": [public_key_text(WORKER_KEY.public_key())]}


def install_worker_key(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Write the test worker key to ``folder/records.pem`` (0600) and make this process (and
    the processes it starts) sign chain heads with it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "records.pem"
    write_private_key(path, WORKER_KEY)
    monkeypatch.setenv(RECORDS_KEY_ENV, str(path))
    return path


@dataclass(frozen=True)
class RecordsKey:
    env: str
    key: Path
    other_key: Path
    public_key: str
    policy: Path


@pytest.fixture
def records_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RecordsKey:
    """This process signs chain heads with a fresh key; ``policy`` lists it, ``other_key`` is
    a key it does not list."""
    folder = tmp_path / "records-key"
    folder.mkdir()
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    write_private_key(folder / "records.pem", key)
    write_private_key(folder / "other.pem", other)
    public = public_key_text(key.public_key())
    policy = folder / "policy.yaml"
    policy.write_text(yaml.safe_dump({"version": 1, "name": "records", "record_signers": [public]}))
    monkeypatch.setenv(RECORDS_KEY_ENV, str(folder / "records.pem"))
    return RecordsKey(RECORDS_KEY_ENV, folder / "records.pem", folder / "other.pem", public, policy)
