"""What the test suite needs from the machine besides the venv, and how ``./dev test`` gets it.

Two Debian packages: ``chromium`` (the Prefect UI approval test drives it through Playwright,
tests/e2e/browser.py) and ``postgresql`` (the production-topology tests start one,
drills/postgres.py). Each is looked for where the code that uses it looks.

``python -m tests.prereqs`` (run by ``./dev test``) exits 0 when both are there; when some are
missing it installs them with apt-get when it runs as root on a machine with apt-get; whatever
is still missing then stops it with exit 1 and one line naming the command that installs it.
``--warn`` prints that line and exits 0 instead (``./dev test`` with arguments: the tests chosen
may not need them, and those that do fail with the same fix in their message).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from drills.postgres import PG_BIN
from tests.e2e.browser import CHROMIUM

MISSING = 1


@dataclass(frozen=True)
class Requirement:
    """A program the tests run: found at ``path`` or as ``command`` on PATH; Debian ``package``."""

    what: str
    path: Path
    command: str
    package: str


REQUIREMENTS = (
    Requirement("Chromium (the UI approval test)", CHROMIUM, "chromium", "chromium"),
    Requirement("PostgreSQL 15 (the production-topology tests)", PG_BIN / "initdb", "initdb", "postgresql"),
)


def missing(
    requirements: Sequence[Requirement] = REQUIREMENTS,
    *,
    exists: Callable[[Path], bool] = Path.exists,
    which: Callable[[str], str | None] = shutil.which,
) -> list[Requirement]:
    """The requirements found neither at their path nor on PATH."""
    return [r for r in requirements if not exists(r.path) and which(r.command) is None]


def install_command(needed: Sequence[Requirement], *, root: bool) -> list[str]:
    """The one apt-get command that installs ``needed`` (through sudo unless ``root``)."""
    command = ["apt-get", "install", "-y", *sorted({r.package for r in needed})]
    return command if root else ["sudo", *command]


def can_install(*, root: bool, apt_get: str | None) -> bool:
    """apt-get is there and we are root: ``./dev test`` installs without asking for a password."""
    return root and apt_get is not None


def explain(needed: Sequence[Requirement], *, root: bool) -> str:
    """The line that stops ``./dev test``: what is missing and the command that installs it."""
    what = " and ".join(r.what for r in needed)
    command = " ".join(install_command(needed, root=root))
    return f"dev test: missing {what}. Install with `{command}` (Debian/Ubuntu), then run ./dev test again."


def apt_get(command: list[str]) -> bool:
    """Run an apt-get command non-interactively; True when it succeeded."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(command, env=env, check=False).returncode == 0


def main(
    argv: Sequence[str] = (),
    *,
    root: bool | None = None,
    exists: Callable[[Path], bool] = Path.exists,
    which: Callable[[str], str | None] = shutil.which,
    run: Callable[[list[str]], bool] = apt_get,
) -> int:
    """Check; install with apt-get when root; then stop naming the command (``--warn``: go on)."""
    root = os.geteuid() == 0 if root is None else root
    needed = missing(exists=exists, which=which)
    if needed and can_install(root=root, apt_get=which("apt-get")):
        print(f"dev test: installing {', '.join(r.package for r in needed)} with apt-get", file=sys.stderr)
        _ = run(["apt-get", "update", "-qq"]) and run([*install_command(needed, root=True), "-qq"])
        needed = missing(exists=exists, which=which)
    if not needed:
        return 0
    print(explain(needed, root=root), file=sys.stderr)
    return 0 if "--warn" in argv else MISSING


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
