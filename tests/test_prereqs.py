"""`./dev test` on a fresh machine: what is missing, the command that installs it, and the stop."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import prereqs
from tests.prereqs import REQUIREMENTS, can_install, explain, install_command, missing

CHROMIUM, POSTGRES = REQUIREMENTS


def test_a_requirement_is_found_at_its_path_or_on_path() -> None:
    assert missing(exists=lambda p: True, which=lambda c: None) == []
    assert missing(exists=lambda p: False, which=lambda c: f"/bin/{c}") == []
    assert missing(exists=lambda p: p == POSTGRES.path, which=lambda c: None) == [CHROMIUM]


def test_a_fresh_machine_misses_both() -> None:
    assert missing(exists=lambda p: False, which=lambda c: None) == [CHROMIUM, POSTGRES]


def test_one_command_installs_everything_missing() -> None:
    assert install_command([CHROMIUM, POSTGRES], root=True) == [
        "apt-get",
        "install",
        "-y",
        "chromium",
        "postgresql",
    ]
    assert install_command([POSTGRES], root=False) == ["sudo", "apt-get", "install", "-y", "postgresql"]


def test_only_root_with_apt_get_installs() -> None:
    assert can_install(root=True, apt_get="/usr/bin/apt-get")
    assert not can_install(root=False, apt_get="/usr/bin/apt-get")
    assert not can_install(root=True, apt_get=None)


def test_the_stop_names_what_is_missing_and_the_command() -> None:
    line = explain([CHROMIUM], root=False)
    assert "Chromium (the UI approval test)" in line
    assert "`sudo apt-get install -y chromium`" in line


APT_GET = {"apt-get": "/usr/bin/apt-get"}.get  # which(): apt-get is there, nothing else on PATH


class FakeApt:
    """Records apt-get commands; an install makes ``installs`` exist in ``present``."""

    def __init__(self, present: set[Path], installs: Path | None = None) -> None:
        self.present, self.installs, self.ran = present, installs, list[list[str]]()

    def __call__(self, command: list[str]) -> bool:
        self.ran.append(command)
        if command[1] == "install" and self.installs:
            self.present.add(self.installs)
        return self.installs is not None


@pytest.mark.parametrize(("argv", "code"), [((), prereqs.MISSING), (("--warn",), 0)])
def test_without_root_it_stops_or_only_warns(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], code: int
) -> None:
    apt = FakeApt(set(), CHROMIUM.path)
    assert prereqs.main(argv, root=False, exists=apt.present.__contains__, which=APT_GET, run=apt) == code
    assert apt.ran == []
    assert "missing Chromium (the UI approval test) and PostgreSQL" in capsys.readouterr().err


def test_as_root_it_installs_what_is_missing_and_checks_again(capsys: pytest.CaptureFixture[str]) -> None:
    apt = FakeApt({POSTGRES.path}, CHROMIUM.path)
    assert prereqs.main((), root=True, exists=apt.present.__contains__, which=APT_GET, run=apt) == 0
    assert apt.ran == [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "chromium", "-qq"]]
    assert "installing chromium" in capsys.readouterr().err


def test_a_failed_install_still_stops_naming_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    apt = FakeApt(set())  # apt-get update fails: nothing is installed
    assert (
        prereqs.main((), root=True, exists=apt.present.__contains__, which=APT_GET, run=apt)
        == prereqs.MISSING
    )
    assert apt.ran == [["apt-get", "update", "-qq"]]
    assert "`apt-get install -y chromium postgresql`" in capsys.readouterr().err


def test_nothing_missing_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    assert prereqs.main((), root=False, exists=lambda p: True, which=lambda c: None) == 0
    assert capsys.readouterr().err == ""
