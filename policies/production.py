"""Where a policy lets production change on a name typed into a form (a declared identity).

Open-source Prefect has no users: under ``identity: declared`` anyone who can reach the server
can type an allowed approver's name. A policy should therefore ask for a verified identity in
every approval rule that can approve a change in production. This module finds the declared
rules that do, for ``firebreak policy check`` to warn about (warnings, not errors: a team may
decide otherwise, but should do so knowingly).

The check is pure and works on the policy's own globs: each action and service glob that any
approval rule names is tried, as written, in each production environment, and the first
approval rule that selects it (first match wins, as in :func:`policies.decide.approval_rule_for`)
is the one that would be asked. A declared rule found that way, for a kind that is not
read-only, is reported with the kinds it answers first.
"""

from __future__ import annotations

from policies.approvals import ApprovalRule, Identity
from policies.policy import Policy
from policies.selectors import matches_any


def _selects(rule: ApprovalRule, kind: str, service: str, environment: str) -> bool:
    return (
        matches_any(rule.actions, kind)
        and matches_any(rule.services, service)
        and matches_any(rule.environments, environment)
    )


def _first(policy: Policy, kind: str, service: str, environment: str) -> int | None:
    return next(
        (i for i, rule in enumerate(policy.approvals) if _selects(rule, kind, service, environment)),
        None,
    )


def declared_in_production(policy: Policy) -> list[str]:
    """One warning per declared approval rule that is the first to answer a production change.

    >>> from policies import default_policy
    >>> declared_in_production(default_policy())  # the shipped policy asks for proof everywhere
    []
    """
    kinds = list(dict.fromkeys(g for rule in policy.approvals for g in rule.actions))
    services = list(dict.fromkeys(g for rule in policy.approvals for g in rule.services))
    found: dict[int, list[str]] = {}
    for environment in policy.production_environments:
        for kind in kinds:
            if policy.is_read_only(kind):
                continue
            for service in services:
                i = _first(policy, kind, service, environment)
                if i is None or policy.approvals[i].identity is Identity.VERIFIED:
                    continue
                where = f"{kind} in {environment}"
                if where not in found.setdefault(i, []):
                    found[i].append(where)
    return [
        f"approvals[{i}] ({policy.approvals[i].name}): identity declared, but it lets production "
        f"change ({', '.join(found[i])}): a name typed into a form approves it; set identity: verified"
        for i in sorted(found)
    ]
