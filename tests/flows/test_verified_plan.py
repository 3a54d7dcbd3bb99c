"""A plan is verified when its targets, read live just now, still hold its ``before``.

Unverified production plans are denied by the policy's guardrail; before this, every plan was
sent to the policy as verified whatever the account said.
"""

from __future__ import annotations

from contextlib import ExitStack

from flows.execute import is_verified, request_for
from policies import Severity, Tier, decide, default_policy
from policies.request import DecisionContext
from tasks.aws import AwsTarget
from tests.policies.helpers import NOW
from tests.tasks.cases import CASES


def test_a_fresh_plan_is_verified_and_a_drifted_one_is_not(aws: AwsTarget) -> None:
    with ExitStack() as stack:
        case = CASES["traffic.shift.route53"](aws, stack)
        assert is_verified(case.plan)
        assert case.drift is not None
        case.drift()  # someone else changes the service after we planned
        assert not is_verified(case.plan)
        prod = case.plan.model_copy(update={"environment": "prod"})
        decision = decide(
            request_for(prod, verified=is_verified(prod)),
            DecisionContext(severity=Severity.SEV_2, now=NOW),
            default_policy(),
        )
    assert decision.tier is Tier.DENIED and "verified_plan" in decision.rule


def test_a_plan_whose_targets_cannot_be_read_is_not_verified(aws: AwsTarget) -> None:
    with ExitStack() as stack:
        case = CASES["flags.disable.ssm"](aws, stack)
        gone = case.plan.model_copy(update={"params": {**case.plan.params, "parameter": "/no/such/flag"}})
        assert not is_verified(gone)
