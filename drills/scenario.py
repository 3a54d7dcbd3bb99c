"""Drill scenario files: what to break, what Firebreak should conclude and do, how people answer.

YAML validated by pydantic (see docs/drills.md). A scenario states its expectations so that
a drill is also an end-to-end test: the scorecard compares what happened with them.
"""

from __future__ import annotations

from enum import StrEnum
from importlib.resources import files
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ScenarioError(ValueError):
    """A scenario is unknown or its file is invalid; the message names the file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FaultKind(StrEnum):
    BAD_DEPLOY = "bad_deploy"  # a bad ECS task definition goes live in one region
    BAD_FLAG = "bad_flag"  # a feature flag is switched on everywhere
    REGION_DEGRADED = "region_degraded"  # a region breaks (not a change of ours)
    DEPENDENCY_DOWN = "dependency_down"  # a shared dependency fails everywhere
    NONE = "none"  # nothing breaks: a false alarm


class Answer(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    TIMEOUT = "timeout"  # nobody answers
    INTERACTIVE = "interactive"  # ask the person at the terminal (or the Prefect UI)


class Fault(_Strict):
    kind: FaultKind
    region: str = "eu-west-1"
    delay_seconds: float = Field(default=2.0, ge=0, description="Healthy traffic before the fault.")


class Responder(_Strict):
    """How the humans in the drill answer paused steps."""

    approvals: Answer = Answer.APPROVE
    approver: str = Field(default="alice", description="Name given when approving.")
    human_steps: Answer = Field(default=Answer.APPROVE, description="approve = confirm 'done'.")
    kill_switch_at_approval: bool = Field(
        default=False, description="Flip the kill switch when the first approval is requested, then approve."
    )


class Recovery(_Strict):
    """After the incident: heal the fault, then run the recover flow as a person would."""

    heal: bool = True
    requester: str = "bob"


class Expectations(_Strict):
    outcome: str = Field(description="mitigated, not_confirmed, escalated, halted, not_mitigated")
    diagnosis: str | None = Field(default=None, description="Top hypothesis kind, e.g. rollback.")
    mitigations: list[str] = Field(default_factory=list, description="Action kinds applied, in order.")
    forbidden: list[str] = Field(default_factory=list, description="Kind globs that must NOT be applied.")
    recovered: bool | None = Field(default=None, description="The recover flow completes.")


class Timing(_Strict):
    bake_seconds: int = Field(default=20, ge=1)
    watch_interval_seconds: float = Field(default=2.0, gt=0)
    healthy_checks: int = Field(default=2, ge=1)
    approval_timeout_seconds: int | None = Field(default=None, description="Override the policy's.")


class Scenario(_Strict):
    name: str
    title: str
    description: str
    fault: Fault
    alert_region: str = "eu-west-1"
    responder: Responder = Responder()
    recovery: Recovery | None = None
    expect: Expectations
    timing: Timing = Timing()


def _scenario_dir() -> Path:
    return Path(str(files("drills").joinpath("scenarios")))


def list_scenarios() -> list[Scenario]:
    """The shipped scenarios, by name."""
    return [load_scenario(p) for p in sorted(_scenario_dir().glob("*.yaml"))]


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name (e.g. ``bad-deploy``) or any scenario file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = _scenario_dir() / f"{name_or_path}.yaml"
        if not path.exists():
            known = ", ".join(p.stem for p in sorted(_scenario_dir().glob("*.yaml")))
            raise ScenarioError(f"unknown scenario {name_or_path!r} (known: {known})")
    try:
        return Scenario.model_validate(yaml.safe_load(path.read_text()))
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise ScenarioError(f"{path}: not valid YAML: {e}") from e
    except ValidationError as e:
        where = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()[:5])
        raise ScenarioError(f"{path}: {where}") from e
