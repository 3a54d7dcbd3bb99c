"""The kill switch: one Prefect Variable that stops every mutating action, everywhere.

It lives in Prefect (not in process memory) so every worker and every flow run sees the same
value, and it is read immediately before each AWS write an action makes (the write guard below),
not only at flow start.
"""

from __future__ import annotations

from typing import Any

from prefect.variables import Variable

from policies import Mode
from tasks.steps import WriteGuard

KILL_SWITCH_VARIABLE = "firebreak_kill_switch"
_OFF = {"false", "off", "0", "no", ""}


def parse_switch(value: Any) -> bool:
    """Interpret a stored value. Anything unrecognised counts as ON: fail safe.

    (The Prefect CLI stores ``'"false"'`` as the *string* 'false', which a bare truthiness
    check would read as on; this reads it as off, as the person meant.)
    """
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().strip('"').lower()
    return text not in _OFF


def kill_switch_on() -> bool:
    """Read the switch from the Prefect API."""
    return parse_switch(Variable.get(KILL_SWITCH_VARIABLE, default=False))


def set_kill_switch(on: bool) -> None:
    """Flip the switch (CLI, drills)."""
    Variable.set(KILL_SWITCH_VARIABLE, on, overwrite=True)


SHADOW_REASON = "shadow mode: Firebreak decides and records, it never writes"


def kill_switch_reason() -> str | None:
    """The write guard of a run that may act: refuse while the kill switch is on."""
    return "the kill switch is on" if kill_switch_on() else None


def shadow_reason() -> str | None:
    """The write guard of a shadow-mode run: refuse every write."""
    return SHADOW_REASON


def write_guard_for(mode: Mode) -> WriteGuard:
    """The guard ``tasks.steps.write_guard`` consults before every write in this mode."""
    return shadow_reason if mode is Mode.SHADOW else kill_switch_reason
