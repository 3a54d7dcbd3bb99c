"""Drill scenario files: what to break, what Firebreak should conclude and do, how people answer.

YAML validated by pydantic (see docs/drills.md). A scenario states its expectations so that
a drill is also an end-to-end test: the scorecard compares what happened with them.
"""

from __future__ import annotations

from enum import StrEnum
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from drills import seed_names as n
from drills.drill_policy import DrillPolicyError, drill_policy_data


class ScenarioError(ValueError):
    """A scenario is unknown or its file is invalid; the message names the file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FaultKind(StrEnum):
    BAD_DEPLOY = "bad_deploy"  # a bad ECS task definition goes live in one region
    BAD_FLAG = "bad_flag"  # a feature flag is switched on everywhere
    REGION_DEGRADED = "region_degraded"  # a region breaks (not a change of ours)
    DEPENDENCY_DOWN = "dependency_down"  # a shared dependency fails everywhere
    BAD_LAMBDA = "bad_lambda"  # a bad build of the pricing Lambda goes live in one region
    STAGING_REVISION = "staging_revision"  # a newer, healthy revision is registered, never deployed
    REFIRE = "refire"  # the alarm's alert arrives again, new onset, once the first fix is applied
    SECOND_ALARM = "second_alarm"  # the service's other alarm in the alert region fires too; with
    # `region:`, that region's first alarm, its alert delivered once the first fix is applied
    DENY = "deny"  # from at_seconds on, the world refuses `action` to Firebreak, as AWS does
    NONE = "none"  # nothing breaks: a false alarm
    # Catalog worlds only (`catalog:`, drills/world/):
    BAD_LAUNCH_TEMPLATE = "bad_launch_template"  # a bad launch-template version, instances refreshed
    NOISE_DEPLOY = "noise_deploy"  # a harmless deploy in a healthy region: a coincidence
    TRAFFIC_SPIKE = "traffic_spike"  # demand times `factor` in `region` (every region without one)
    TOTAL_OUTAGE = "total_outage"  # the service in `region` stops answering and publishing metrics


DELIVERY_KINDS = frozenset({FaultKind.REFIRE, FaultKind.SECOND_ALARM})  # alerts, not AWS changes
WORLD_KINDS = frozenset(
    {FaultKind.BAD_LAUNCH_TEMPLATE, FaultKind.NOISE_DEPLOY, FaultKind.TRAFFIC_SPIKE, FaultKind.TOTAL_OUTAGE}
)
DEFAULT_AT_SECONDS = 2.0


class PageAction(StrEnum):
    """A PagerDuty Events API v2 event_action."""

    TRIGGER = "trigger"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


class Answer(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    TIMEOUT = "timeout"  # nobody answers
    INTERACTIVE = "interactive"  # ask the person at the terminal (or the Prefect UI)


class Fault(_Strict):
    """One thing that goes wrong. ``refire`` and ``second_alarm`` are alerts the drill delivers
    (when is theirs to decide: at the first mitigation, with the first alert), not AWS changes."""

    kind: FaultKind
    region: str = Field(default=n.PRIMARY_REGION, description="Where (region-bound kinds).")
    regions: list[str] | None = Field(
        default=None, min_length=1, description="bad_deploy: every region it goes live in (not with region)."
    )
    action: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9-]+:[A-Za-z0-9]+$",
        description='deny: the action refused, as IAM spells it ("cloudwatch:GetMetricData").',
    )
    at_seconds: float | None = Field(
        default=None, ge=0, description="Seconds of healthy traffic before it (default 2)."
    )
    delay_seconds: float | None = Field(default=None, ge=0, description="The older name of at_seconds.")
    service: str | None = Field(
        default=None, description="Catalog worlds: whose fault (default: the scenario's)."
    )
    flag: str | None = Field(default=None, description="bad_flag in a catalog world: which catalog flag.")
    error_rate: float = Field(default=40.0, gt=0, le=100, description="region_degraded: % of requests lost.")
    dependency: str = Field(default="payments", description="dependency_down: what is down.")
    factor: float = Field(default=3.0, gt=0, description="traffic_spike: the demand multiplier.")

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str, info: ValidationInfo) -> str:
        return value if _in_world(info) else _known("region", value, n.REGIONS)

    @field_validator("regions")
    @classmethod
    def _known_regions(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("a region is listed twice")
        for region in value or []:
            if not _in_world(info):
                _known("region", region, n.REGIONS)
        return value

    @property
    def region_given(self) -> str | None:
        """The region the file names, or None (a catalog world then picks the service's primary)."""
        if self.regions:
            return self.regions[0]
        return self.region if "region" in self.model_fields_set else None

    @property
    def regions_given(self) -> list[str | None]:
        """Every region the file names (``regions:`` or ``region:``), else [None]."""
        return list(self.regions) if self.regions else [self.region_given]

    @model_validator(mode="after")
    def _one_time(self) -> Fault:
        if self.at_seconds is not None and self.delay_seconds is not None:
            raise ValueError("give at_seconds or delay_seconds, not both")
        if self.regions is not None and "region" in self.model_fields_set:
            raise ValueError("give region or regions, not both")
        if self.regions is not None and self.kind is not FaultKind.BAD_DEPLOY:
            raise ValueError(f"regions is for bad_deploy, not {self.kind.value}")
        if (self.action is None) == (self.kind is FaultKind.DENY):
            raise ValueError("deny needs an action" if self.action is None else "action is for deny only")
        return self

    @property
    def at(self) -> float:
        """Seconds after the simulator starts (healthy traffic first) that the fault happens."""
        given = self.at_seconds if self.at_seconds is not None else self.delay_seconds
        return DEFAULT_AT_SECONDS if given is None else given


class Channel(StrEnum):
    """Where the drill's people answer approvals."""

    UI = "ui"  # the resume API, as the Prefect UI's form; signed where the rule needs it
    CLI = "cli"  # always signed with the person's drill key, as `firebreak approve --key`
    SLACK = "slack"  # the signed Approve/Reject callback of a real `firebreak serve`


class Responder(_Strict):
    """How the humans in the drill answer paused steps."""

    approvals: Answer = Answer.APPROVE
    approver: str = Field(default="alice", description="Name given when approving.")
    approvers: list[str] = Field(
        default_factory=list,
        description="Several approvers for M-of-N rules, answering in turn (each once per plan).",
    )
    channel: Channel = Field(default=Channel.UI, description="ui, cli or slack (see docs/drills.md).")
    human_steps: Answer = Field(default=Answer.APPROVE, description="approve = confirm 'done'.")
    kill_switch_at_approval: bool = Field(
        default=False, description="Flip the kill switch when the first approval is requested, then approve."
    )

    @property
    def people(self) -> list[str]:
        """Who answers approvals, in turn: ``approvers`` if given, else ``approver`` alone."""
        return self.approvers or [self.approver]


class Recovery(_Strict):
    """After the incident: heal the fault, then run the recover flow as a person would."""

    heal: bool = True
    requester: str = "bob"


class Switch(StrEnum):
    ON = "on"
    OFF = "off"


class FinalState(_Strict):
    """What the sandbox must hold after the incident and the recovery (only the keys given)."""

    ecs_revision: dict[str, int] = Field(default_factory=dict, description="region -> revision.")
    desired_count: dict[str, int] = Field(default_factory=dict, description="region -> ECS desired count.")
    scalable_min: dict[str, int] = Field(
        default_factory=dict, description="region -> the ECS scalable target's MinCapacity."
    )
    lambda_version: dict[str, str] = Field(default_factory=dict, description="region -> alias version.")
    flag: dict[str, Switch] = Field(default_factory=dict, description="catalog flag name -> on|off.")
    route53_weight: dict[str, int] = Field(default_factory=dict, description="region -> weight.")
    asg_desired: dict[str, int] = Field(default_factory=dict, description="region -> ASG desired capacity.")
    asg_min: dict[str, int] = Field(default_factory=dict, description="region -> ASG MinSize.")
    launch_template_version: dict[str, int] = Field(
        default_factory=dict, description="region -> the launch-template version the ASG launches."
    )
    throttle_rate: dict[str, float] = Field(
        default_factory=dict, description="region -> the API Gateway stage's rate limit (req/s)."
    )
    maintenance_page: dict[str, bool] = Field(
        default_factory=dict, description="region -> whether the ALB listener answers the maintenance page."
    )

    def wanted(self) -> dict[str, dict[str, str]]:
        """Every key given -> its expected values as text (compared with ``SandboxState.final_values``)."""
        return {
            key: {k: v.value if isinstance(v, Switch) else str(v) for k, v in getattr(self, key).items()}
            for key in type(self).model_fields
            if getattr(self, key)
        }

    @field_validator("lambda_version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: str(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in value.items()
            }
        return value

    @field_validator("flag", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare on/off as true/false.
        if isinstance(value, dict):
            return {
                k: (Switch.ON if v else Switch.OFF) if isinstance(v, bool) else v for k, v in value.items()
            }
        return value

    @field_validator(
        "ecs_revision", "desired_count", "scalable_min", "lambda_version", "route53_weight",
        "asg_desired", "asg_min", "launch_template_version", "throttle_rate", "maintenance_page",
    )  # fmt: skip
    @classmethod
    def _known_regions(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        for region in value:
            if not _in_world(info):
                _known("region", region, n.REGIONS)
        return value

    @field_validator("flag")
    @classmethod
    def _known_flags(cls, value: dict[str, Switch], info: ValidationInfo) -> dict[str, Switch]:
        for flag in value:
            if not _in_world(info):
                _known("flag", flag, tuple(n.FLAG_PARAMETERS))
        return value


class StatusPageStatus(StrEnum):
    """Atlassian Statuspage incident statuses, in the order an incident moves through them."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class Expectations(_Strict):
    outcome: str = Field(description="mitigated, not_confirmed, escalated, halted, not_mitigated, shadow")
    diagnosis: str | None = Field(default=None, description="Top hypothesis kind, e.g. rollback.")
    mitigations: list[str] = Field(default_factory=list, description="Action kinds applied, in order.")
    forbidden: list[str] = Field(default_factory=list, description="Kind globs that must NOT be applied.")
    recovered: bool | None = Field(default=None, description="The recover flow completes.")
    final_state: FinalState | None = Field(default=None, description="Read back from the sandbox at the end.")
    incident_runs: int | None = Field(default=None, ge=0, description="Incident flow runs started.")
    pages: list[PageAction] | None = Field(
        default=None, description="The exact, ordered event_actions PagerDuty received for the incident."
    )
    status_page: list[StatusPageStatus] | None = Field(
        default=None, description="The exact, ordered statuses the status page received for the incident."
    )
    report_mentions: list[str] = Field(
        default_factory=list, description="Texts the report's message must contain (e.g. a denied action)."
    )


class Timing(_Strict):
    bake_seconds: int = Field(default=20, ge=1)
    watch_interval_seconds: float = Field(default=2.0, gt=0)
    healthy_checks: int = Field(default=2, ge=1)
    approval_timeout_seconds: int | None = Field(
        default=None, ge=1, description="Every approval rule's timeout, instead of the policy's."
    )


class Scenario(_Strict):
    name: str
    title: str
    description: str
    fault: Fault | None = Field(default=None, description="One fault (or use faults).")
    faults: list[Fault] | None = Field(default=None, min_length=1, description="Several faults.")
    policy: dict[str, Any] | str | None = Field(
        default=None, description="Merged onto the default policy, or a policy file's path."
    )
    alert_region: str = n.PRIMARY_REGION
    responder: Responder = Responder()
    recovery: Recovery | None = None
    expect: Expectations
    timing: Timing = Timing()
    catalog: str | None = Field(
        default=None, description="A catalog to build the drill world from (path, relative to the file)."
    )
    service: str | None = Field(
        default=None, description="Catalog worlds: the service `expect` is about (default: the only one)."
    )
    expect_services: dict[str, Expectations] = Field(
        default_factory=dict, description="The same expectations for each other broken service."
    )

    @model_validator(mode="after")
    def _fault_or_faults(self) -> Scenario:
        if (self.fault is None) == (self.faults is None):
            raise ValueError(
                "give either fault or faults" if self.fault is None else "give fault or faults, not both"
            )
        if self.catalog is None:
            world_only = sorted({f.kind.value for f in self.all_faults if f.kind in WORLD_KINDS})
            elsewhere = any(f.service not in (None, n.SERVICE) for f in self.all_faults)
            if world_only or self.expect_services or self.service or elsewhere:
                what = ", ".join(world_only) or "service, a fault's service and expect_services"
                raise ValueError(f"{what} need a catalog world (catalog:)")
        return self

    @property
    def all_faults(self) -> list[Fault]:
        """Every fault, in the order they happen (ties keep the file's order)."""
        given = self.faults if self.faults is not None else [self.fault] if self.fault is not None else []
        return sorted(given, key=lambda f: f.at)

    def has(self, kind: FaultKind) -> bool:
        return any(f.kind is kind for f in self.all_faults)

    @property
    def alert_count(self) -> Literal[1, 2]:
        """One alert, or more than one (a re-fire or a second alarm): then they go through intake."""
        return 2 if any(f.kind in DELIVERY_KINDS for f in self.all_faults) else 1


def _scenario_dir() -> Path:
    return Path(str(files("drills").joinpath("scenarios")))


def list_scenarios() -> list[Scenario]:
    """The shipped scenarios, by name."""
    return [load_scenario(p) for p in sorted(_scenario_dir().glob("*.yaml"))]


def load_scenario(name_or_path: str | Path, *, catalog: str | Path | None = None) -> Scenario:
    """A shipped scenario by name (e.g. ``bad-deploy``) or any scenario file by path.

    ``catalog`` (``firebreak drill --catalog``) builds the world from that catalog instead of the
    file's ``catalog:`` (a path relative to the scenario file) or the shipped checkout sandbox.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = _scenario_dir() / f"{name_or_path}.yaml"
        if not path.exists():
            known = ", ".join(p.stem for p in sorted(_scenario_dir().glob("*.yaml")))
            raise ScenarioError(f"unknown scenario {name_or_path!r} (known: {known})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and (catalog is not None or data.get("catalog")):
            given = Path(catalog) if catalog is not None else path.parent / str(data["catalog"])
            data["catalog"] = str(given.resolve())
        world = isinstance(data, dict) and "catalog" in data
        scenario = Scenario.model_validate(data, context={"world": world})
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {e.start})") from e
    except yaml.YAMLError as e:
        raise ScenarioError(f"{path}: not valid YAML: {e}") from e
    except ValidationError as e:
        where = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or '(top level)'}: {err['msg']}" for err in e.errors()[:5]
        )
        raise ScenarioError(f"{path}: {where}") from e
    if isinstance(scenario.policy, str):
        scenario = scenario.model_copy(update={"policy": str((path.parent / scenario.policy).resolve())})
    try:
        scenario_policy(scenario, source=str(path))
    except DrillPolicyError as e:
        raise ScenarioError(str(e)) from e
    return scenario


def scenario_policy(scenario: Scenario, *, source: str) -> dict[str, Any]:
    """The validated policy data ``scenario`` runs under (see drills/drill_policy.py)."""
    return drill_policy_data(
        scenario.policy, approval_timeout_seconds=scenario.timing.approval_timeout_seconds, source=source
    )


def _in_world(info: ValidationInfo) -> bool:
    """Validated for a catalog world: regions and flags are the catalog's, checked at run time."""
    return bool(info.context and info.context.get("world"))


def _known(what: str, value: str, known: tuple[str, ...]) -> str:
    if value not in known:
        raise ValueError(f"unknown {what} {value!r} (the sandbox has {', '.join(known)})")
    return value
