"""``record_signers``: the worker hosts' public keys that anchor incident records (flows.anchor)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from firebreak.cli import app
from tests.records_key import with_record_signer

SAID = "record_signers is empty: no worker host's signature anchors incident records"


def test_policy_check_warns_when_no_worker_key_anchors_the_records() -> None:
    result = CliRunner().invoke(app, ["policy", "check", "policies/default.yaml"])
    assert result.exit_code == 0, result.output
    assert SAID in " ".join(result.output.split())


def test_a_policy_listing_a_worker_key_gets_no_such_warning(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    signer = with_record_signer({})["record_signers"][0]
    path.write_text(f'record_signers: ["{signer}"]\n')
    result = CliRunner().invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "record_signers" not in result.output


def test_a_record_signer_that_is_not_a_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text('record_signers: ["not-a-key"]\n')
    result = CliRunner().invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 2 and "record_signers[0]" in result.output
