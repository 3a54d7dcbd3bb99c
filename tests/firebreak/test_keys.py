"""Signing keys on disk: ``policy keygen`` creates the file itself (0600, never through a link,
never into a file someone else made), and a private key others can read is refused."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from firebreak.cli import app
from flows.identity import IdentityError, load_private_key, private_key_pem, write_private_key
from tests.people import key_of

runner = CliRunner()


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that takes nothing away, so only the code decides the key's mode."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_keygen_writes_a_key_only_its_owner_can_read(tmp_path: Path, open_umask: None) -> None:
    out = tmp_path / "alice.pem"
    result = runner.invoke(app, ["policy", "keygen", "alice", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert load_private_key(out).public_key() is not None


def test_keygen_never_writes_through_a_link_planted_at_out(tmp_path: Path) -> None:
    elsewhere = tmp_path / "shared" / "stolen.pem"
    elsewhere.parent.mkdir()
    out = tmp_path / "alice.pem"
    out.symlink_to(elsewhere)  # dangling: exists() says False
    result = runner.invoke(app, ["policy", "keygen", "alice", "--out", str(out)])
    assert result.exit_code == 2 and "refusing" in result.output
    assert not elsewhere.exists()


def test_keygen_never_writes_into_a_file_created_since_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race: someone creates OUT (readable by all) after the check and before the write."""
    out = tmp_path / "alice.pem"
    out.write_text("planted")
    out.chmod(0o644)
    monkeypatch.setattr(Path, "exists", lambda self, **_: False)  # the check ran before the file came
    result = runner.invoke(app, ["policy", "keygen", "alice", "--out", str(out)])
    assert result.exit_code == 2 and "refusing" in result.output
    assert out.read_text() == "planted"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_private_key_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "alice.pem"
    path.write_bytes(private_key_pem(key_of("alice")))
    path.chmod(mode)
    with pytest.raises(IdentityError) as refused:
        load_private_key(path)
    assert f"mode {mode:o}" in str(refused.value) and f"chmod 600 {path}" in str(refused.value)


def test_write_private_key_makes_a_file_load_private_key_accepts(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "bob.pem"
    write_private_key(path, key_of("bob"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_private_key(path).private_bytes_raw() == key_of("bob").private_bytes_raw()
    with pytest.raises(IdentityError, match="exists"):
        write_private_key(path, key_of("bob"))
