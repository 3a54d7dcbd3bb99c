"""How much Firebreak may do in an environment, and how long an incident stays open.

``mode: shadow`` is the safe way to adopt Firebreak: every incident runs for real (confirm,
snapshot, diagnose, plan, decide) and every mutating action is recorded as *would apply*, with
the tier it would have had, but nothing is written. It is set for the whole policy or per
environment (``environments: {prod: {mode: shadow}}``); an environment's own mode wins.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Mode(StrEnum):
    """``act``: apply what the policy allows. ``shadow``: decide everything, write nothing."""

    ACT = "act"
    SHADOW = "shadow"


class EnvironmentSettings(BaseModel):
    """Per-environment overrides of the policy's top-level settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Mode | None = Field(default=None, description="Overrides the policy's mode here.")


class IncidentSettings(BaseModel):
    """How incidents are kept apart and when an open one stops absorbing new alerts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_open_minutes: int = Field(
        default=240,
        ge=1,
        description="An incident run older than this no longer counts as open (a dead run must "
        "never swallow later alerts of its service).",
    )
