"""The policy file's model: everything a decision needs, validated before any incident.

Cross-references are checked here, at load time, not during an incident: approval rules must
name groups that exist and must be satisfiable (``min_approvers`` no larger than the people
allowed), and names must be unique so a decision's ``rule`` identifies one entry.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from policies.approvals import ApprovalRule, Identity, Person, PublicKeyText, person_key
from policies.limits import GuardrailSettings, RateLimit
from policies.modes import EnvironmentSettings, IncidentSettings, Mode
from policies.paging import PagingSettings
from policies.rules import ActionRule
from policies.selectors import Glob, Name, matches_any
from policies.severity import SeverityMatrix
from policies.tiers import Tier

LOCKDOWN_SAFE_KINDS = ("snapshot.*", "diagnostics.*", "notify.internal", "page.*", "escalation.human")


def _duplicates(names: list[str]) -> list[str]:
    return sorted(n for n, c in Counter(names).items() if c > 1)


class Policy(BaseModel):
    """A validated policy file. See docs/policies.md for the annotated format."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    name: Name = "unnamed"
    description: str = ""
    lockdown: str | None = Field(
        default=None, min_length=1, description="When set, every action is denied with this reason."
    )
    production_environments: list[Glob] = Field(
        default=["prod"], description="Environments that count as production (globs)."
    )
    read_only: list[Glob] = Field(
        default_factory=list,
        description="Kinds that change nothing: kill switch, freezes and target checks skip them.",
    )
    default_tier: Tier = Field(
        default=Tier.DENIED, description="Tier when no rule matches: denied unless set otherwise."
    )
    groups: dict[Name, list[Name]] = Field(default_factory=dict, description="Approver groups.")
    people: dict[Name, Person] = Field(
        default_factory=dict, description="How each approver proves identity (key, Slack id)."
    )
    attestors: list[PublicKeyText] = Field(
        default_factory=list,
        description="Public keys of the receivers whose attestations of Slack answers count.",
    )
    record_signers: list[PublicKeyText] = Field(
        default_factory=list,
        description="Public keys of the worker hosts whose signed chain heads anchor incident "
        "records (flows.anchor): a record no listed key signed is not used to act.",
    )
    severity: SeverityMatrix = Field(default_factory=SeverityMatrix)
    rules: list[ActionRule] = Field(default_factory=list, description="First match wins.")
    guardrails: GuardrailSettings = Field(default_factory=GuardrailSettings)
    approvals: list[ApprovalRule] = Field(default_factory=list, description="First match wins.")
    mode: Mode = Field(default=Mode.ACT, description="shadow: decide and record, never write.")
    environments: dict[Glob, EnvironmentSettings] = Field(
        default_factory=dict, description="Per-environment overrides (first matching glob wins)."
    )
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)
    paging: PagingSettings = Field(
        default_factory=PagingSettings, description="Escalation levels (PagerDuty) per severity."
    )

    @classmethod
    def deny_all(cls, reason: str) -> Policy:
        """What an invalid file turns into: every mutating action denied with ``reason``.

        Reading, internal updates, paging and handing the incident to a human stay allowed
        (read-only kinds pass the lockdown), so a typo in the policy never silences the people
        who must act.
        """
        return cls(
            name="deny-all",
            lockdown=reason,
            default_tier=Tier.DENIED,
            read_only=list(LOCKDOWN_SAFE_KINDS),
            rules=[
                ActionRule(
                    name="lockdown-human",
                    actions=["escalation.human"],
                    tier=Tier.HUMAN_ONLY,
                    reason="The policy is invalid: a human decides, Firebreak changes nothing.",
                ),
                ActionRule(
                    name="lockdown-read-and-tell",
                    actions=[k for k in LOCKDOWN_SAFE_KINDS if k != "escalation.human"],
                    tier=Tier.AUTOMATED,
                    reason="Reading state, internal updates and pages change nothing in production.",
                ),
            ],
        )

    @property
    def rate_limits(self) -> list[RateLimit]:
        """The declared rate limits (flows count actions under :meth:`RateLimit.key_for`)."""
        return self.guardrails.rate_limits

    def is_read_only(self, kind: str) -> bool:
        """True when the kind is declared read-only."""
        return matches_any(self.read_only, kind)

    def mode_for(self, environment: str) -> Mode:
        """The mode in ``environment``: its own override if a glob matches, else the policy's."""
        for pattern, settings in self.environments.items():
            if settings.mode is not None and matches_any([pattern], environment):
                return settings.mode
        return self.mode

    def person(self, name: str) -> Person | None:
        """The identity entry of ``name`` (compared like approver names), or None."""
        wanted = person_key(name)
        return next((p for n, p in self.people.items() if person_key(n) == wanted), None)

    def identity_gaps(self) -> list[str]:
        """Why verified-identity rules cannot be satisfied as written (warnings, not errors:
        the shipped policy names people whose keys each team adds)."""
        gaps: list[str] = []
        for i, rule in enumerate(self.approvals):
            if rule.identity is not Identity.VERIFIED:
                continue
            allowed = rule.allowed(self.groups)
            names = sorted(allowed) if allowed is not None else sorted(person_key(n) for n in self.people)
            provable = [n for n in names if (p := self.person(n)) is not None and p.can_prove]
            if missing := [n for n in names if n not in provable]:
                gaps.append(
                    f"approvals[{i}] ({rule.name}): identity verified, but {', '.join(missing)} "
                    "have no public_key or slack_id under people: their answers will be refused"
                )
            if len(provable) < rule.min_approvers:
                gaps.append(
                    f"approvals[{i}] ({rule.name}): needs {rule.min_approvers} verified approver(s), "
                    f"only {len(provable)} can prove who they are"
                )
            slack_only = [n for n in provable if (p := self.person(n)) is not None and p.public_key is None]
            if slack_only and not self.attestors:
                gaps.append(
                    f"approvals[{i}] ({rule.name}): {', '.join(slack_only)} can answer only by Slack, "
                    "and no attestors (receiver public keys) are listed"
                )
        return gaps

    def is_production(self, environment: str) -> bool:
        """True when the environment counts as production."""
        return matches_any(self.production_environments, environment)

    @model_validator(mode="after")
    def _unique_names(self) -> Policy:
        for section, names in (
            ("rules", [r.name for r in self.rules]),
            ("approvals", [a.name for a in self.approvals]),
            ("guardrails.rate_limits", [r.name for r in self.rate_limits]),
            ("guardrails.freeze_windows", [w.name for w in self.guardrails.freeze_windows]),
            ("guardrails.blast_radius_caps", [c.name for c in self.guardrails.blast_radius_caps]),
        ):
            if dups := _duplicates(names):
                raise ValueError(f"{section}: duplicate name(s) {', '.join(dups)}")
        return self

    @model_validator(mode="after")
    def _approvals_satisfiable(self) -> Policy:
        for i, rule in enumerate(self.approvals):
            unknown = [g for g in rule.groups if g not in self.groups]
            if unknown:
                known = ", ".join(self.groups) or "none"
                raise ValueError(
                    f"approvals[{i}].groups: unknown group(s) {', '.join(unknown)} (defined: {known})"
                )
            allowed = rule.allowed(self.groups)
            if allowed is not None and len(allowed) < rule.min_approvers:
                raise ValueError(
                    f"approvals[{i}].min_approvers: needs {rule.min_approvers} but only "
                    f"{len(allowed)} people may approve"
                )
        return self
