"""The drill host's records key: the drill process stands for the worker host, so its flows
sign every chain head (flows.anchor) and the drill's policy lists the key's public half."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flows.anchor import RECORDS_KEY_ENV
from flows.identity import public_key_text, write_private_key


def drill_records_key(folder: Path) -> tuple[dict[str, str], str]:
    """A fresh key in ``folder/records.pem`` (0600; a previous drill's is replaced): the
    environment that makes this process's flows sign with it, and its public half for the
    policy's ``record_signers``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "records.pem"
    path.unlink(missing_ok=True)
    key = Ed25519PrivateKey.generate()
    write_private_key(path, key)
    return {RECORDS_KEY_ENV: str(path)}, public_key_text(key.public_key())
