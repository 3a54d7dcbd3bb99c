"""Invariants of decide() that no policy file and no context may break (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies import (
    ActionRequest,
    ActionRule,
    DecisionContext,
    Policy,
    Severity,
    Tier,
    decide,
    default_policy,
    load_policy_or_deny,
)
from policies.decide import rule_outcome

KINDS = [
    "snapshot.collect", "diagnostics.logs", "notify.internal", "monitoring.alarm", "flags.disable.ssm",
    "flags.enable.appconfig", "traffic.shift.route53", "traffic.shift.alb", "rollback.ecs", "rollback.asg",
    "traffic.block", "data.restore", "comms.external", "comms.media", "escalation.human", "odd.kind",
]
PATTERNS = ["*", "rollback.*", "flags.*", "traffic.shift.*", "snapshot.*", "comms.*", "*.ecs", *KINDS[:6]]

# Deterministic (same examples every run) and no example database written into the tree.
PROPERTY = settings(max_examples=200, derandomize=True, database=None)

kinds = st.sampled_from(KINDS)
patterns = st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=3)
tiers = st.sampled_from(list(Tier))
# hypothesis wants naive bounds; every generated moment is UTC-aware.
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)  # noqa: DTZ001
)
targets = st.lists(st.sampled_from(["svc-a", "i-123", "*", "", "tg-?", "arn:aws:ecs:x"]), max_size=3)


@st.composite
def rules(draw: st.DrawFn, index: int) -> ActionRule:
    low = draw(st.floats(0, 1))
    return ActionRule(
        name=f"rule-{index}", actions=draw(patterns), tier=draw(tiers), reason=f"reason {index}",
        environments=draw(st.sampled_from([["*"], ["prod"], ["staging"]])),
        severities=draw(st.lists(st.sampled_from(list(Severity)), max_size=2, unique=True)),
        min_blast_radius=low, max_blast_radius=draw(st.floats(low, 1)),
    )


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    count = draw(st.integers(0, 6))
    return Policy(
        name="generated",
        read_only=draw(st.sampled_from([[], ["snapshot.*", "diagnostics.*"], ["snapshot.*", "notify.*"]])),
        default_tier=draw(tiers),
        rules=[draw(rules(i)) for i in range(count)],
        approvals=draw(st.sampled_from([[], [{"name": "anyone"}]])),
        guardrails={
            "blast_radius_caps": [
                {"name": f"cap-{i}", "actions": draw(patterns), "max_blast_radius": draw(st.floats(0, 1))}
                for i in range(draw(st.integers(0, 3)))
            ],
            "require_verified_plan": draw(st.booleans()),
        },
    )


requests = st.builds(
    ActionRequest, kind=kinds, service=st.sampled_from(["checkout", "search"]),
    environment=st.sampled_from(["prod", "staging"]), targets=targets,
    blast_radius=st.floats(0, 1), verified=st.booleans(),
)
contexts = st.builds(
    DecisionContext, severity=st.sampled_from(list(Severity)), now=moments, kill_switch=st.booleans(),
    action_counts=st.dictionaries(st.sampled_from(["rollback-per-service:checkout"]), st.integers(0, 9)),
)
any_policy = st.one_of(policies(), st.just(default_policy()))


@PROPERTY
@given(request=requests, context=contexts, policy=any_policy)
def test_kill_switch_denies_every_mutating_action(
    request: ActionRequest, context: DecisionContext, policy: Policy
) -> None:
    on = context.model_copy(update={"kill_switch": True})
    decision = decide(request, on, policy)
    if not policy.is_read_only(request.kind):
        assert decision.tier is Tier.DENIED
        assert "kill_switch" in decision.rule


@PROPERTY
@given(request=requests, context=contexts, policy=any_policy)
def test_guardrails_only_ever_lower_the_rules_tier(
    request: ActionRequest, context: DecisionContext, policy: Policy
) -> None:
    decision = decide(request, context, policy)
    assert decision.tier in (rule_outcome(request, context, policy).tier, Tier.DENIED)
    assert (decision.approval is not None) == (decision.tier is Tier.APPROVAL)


@PROPERTY
@given(request=requests, context=contexts, policy=policies())
def test_human_only_is_never_made_automated(
    request: ActionRequest, context: DecisionContext, policy: Policy
) -> None:
    human = ActionRule(name="human-first", actions=[request.kind], tier=Tier.HUMAN_ONLY, reason="people")
    guarded = policy.model_copy(update={"rules": [human, *policy.rules]})
    assert decide(request, context, guarded).tier in (Tier.HUMAN_ONLY, Tier.DENIED)


@PROPERTY
@given(request=requests, context=contexts, policy=any_policy, excess=st.floats(1e-9, 1))
def test_blast_radius_above_the_cap_is_always_denied(
    request: ActionRequest, context: DecisionContext, policy: Policy, excess: float
) -> None:
    caps = [c for c in policy.guardrails.blast_radius_caps if c.selects(request)]
    if not caps or caps[0].max_blast_radius + excess > 1:
        return
    wide = request.model_copy(update={"blast_radius": caps[0].max_blast_radius + excess})
    decision = decide(wide, context, policy)
    assert decision.tier is Tier.DENIED
    assert "blast_radius_cap" in decision.rule


@PROPERTY
@given(request=requests, context=contexts, policy=policies(), tier=tiers, position=st.integers(0, 6))
def test_first_match_order_is_respected(
    request: ActionRequest, context: DecisionContext, policy: Policy, tier: Tier, position: int
) -> None:
    catch_all = ActionRule(name="catch-all", actions=["*"], tier=tier, reason="inserted")
    position = min(position, len(policy.rules))
    rules = [*policy.rules[:position], catch_all, *policy.rules[position:]]
    before = [r for r in rules[:position] if r.matches(request, context)]
    outcome = rule_outcome(request, context, policy.model_copy(update={"rules": rules}))
    expected = before[0].name if before else "catch-all"
    assert outcome.rule == expected
    # A rule that can never match changes nothing, wherever it goes.
    never = ActionRule(name="never", actions=["no.such.kind"], tier=Tier.AUTOMATED, reason="x")
    padded = [*policy.rules[:position], never, *policy.rules[position:]]
    assert rule_outcome(request, context, policy.model_copy(update={"rules": padded})) == rule_outcome(
        request, context, policy
    )


BROKEN = st.sampled_from([
    "default_tier: automatic\n",
    "rules:\n  - {name: a, actions: ['*'], tier: automated}\n",
    "rules:\n  - {name: a, actions: '*', tier: automated, reason: r}\n",
    "rules: [\n",
    "guardrails: {blast_radius_caps: [{name: c, max_blast_radius: 2}]}\ndefault_tier: automated\n",
    "default_tier: automated\nunknown: true\n",
    "- automated\n",
    "default_tier: automated\ndefault_tier: automated\n",
])


@pytest.fixture(scope="module")
def broken_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("broken")


@PROPERTY
@given(text=BROKEN, request=requests, context=contexts)
def test_an_invalid_policy_denies_every_mutating_action(
    broken_dir: Path, text: str, request: ActionRequest, context: DecisionContext
) -> None:
    path = broken_dir / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    policy, error = load_policy_or_deny(path)
    assert error is not None
    decision = decide(request, context.model_copy(update={"kill_switch": False}), policy)
    if policy.is_read_only(request.kind):  # reading, internal updates, pages, escalation
        assert decision.tier in {Tier.AUTOMATED, Tier.HUMAN_ONLY}
    else:
        assert decision.tier is Tier.DENIED


def test_contexts_are_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone"):
        DecisionContext(severity=Severity.SEV_1, now=datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    DecisionContext(severity=Severity.SEV_1, now=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=1))
