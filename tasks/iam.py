"""The least-privilege IAM policy for the action kinds a Firebreak deployment may run.

Each action module declares the IAM actions its plan (reads) and apply (writes, undo) need;
this module only collects them, one statement per kind, so a reviewer can see which kind asks
for what. Kinds the policy always denies get no permissions at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from policies import Policy, Tier
from policies.rules import ActionRule
from policies.selectors import matches_any
from tasks.registry import REGISTRY, action_kind

IAM_VERSION = "2012-10-17"


def iam_policy(kinds: Iterable[str]) -> dict[str, Any]:
    """An IAM policy document allowing exactly what ``kinds`` need (UnknownKindError otherwise).

    >>> iam_policy(["flags.disable.ssm"])["Statement"][0]["Action"]
    ['ssm:GetParameter', 'ssm:PutParameter']
    """
    statements = [
        {
            "Sid": _sid(kind),
            "Effect": "Allow",
            "Action": sorted(set(action_kind(kind).iam_actions)),
            # Resource ARNs live in the catalog, not here; scope them per deployment if wanted.
            "Resource": "*",
        }
        for kind in sorted(set(kinds))
    ]
    return {"Version": IAM_VERSION, "Statement": statements}


def enabled_kinds(policy: Policy) -> list[str]:
    """Registered kinds the policy does not always deny (a lockdown denies them all).

    A kind is always denied when the first rule that could select it is an unconditional
    ``denied`` rule, or no rule selects it and the default tier is ``denied``. Any rule that
    might allow it under some condition keeps it enabled: the permission must exist for that case.
    """
    if policy.lockdown:
        return []
    return sorted(kind for kind in REGISTRY if _may_run(kind, policy))


def _may_run(kind: str, policy: Policy) -> bool:
    for rule in policy.rules:
        if not matches_any(rule.actions, kind):
            continue
        if rule.tier is not Tier.DENIED:
            return True
        if _unconditional(rule):
            return False
    return policy.default_tier is not Tier.DENIED


def _unconditional(rule: ActionRule) -> bool:
    return (
        rule.services == ["*"]
        and rule.environments == ["*"]
        and not rule.severities
        and rule.min_blast_radius == 0.0
        and rule.max_blast_radius == 1.0
        and rule.min_capacity_factor is None
        and rule.max_capacity_factor is None
        and rule.during is None
    )


def _sid(kind: str) -> str:
    """``traffic.shift.route53`` -> ``TrafficShiftRoute53`` (Sids are alphanumeric)."""
    return "".join(part[:1].upper() + part[1:] for part in kind.replace("-", ".").split("."))
