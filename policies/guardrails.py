"""Guardrails: checks that override every rule. A failed guardrail denies the action.

Each check returns a :class:`GuardrailResult` whether it passed or not, so ``explain`` can show
everything that was considered. Read-only kinds (declared in the policy) skip the checks that
only protect against change: lockdown, kill switch, freeze windows, target set and verified
plan, so stopping automation never stops reading, paging or escalating. The blast-radius caps
apply to every kind they select.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from policies.policy import Policy
from policies.request import ActionRequest, DecisionContext


class GuardrailResult(BaseModel):
    """One guardrail's verdict on one request."""

    model_config = ConfigDict(frozen=True)

    name: str
    passed: bool
    detail: str


def _ok(name: str, detail: str) -> list[GuardrailResult]:
    return [GuardrailResult(name=name, passed=True, detail=detail)]


def _fail(name: str, detail: str) -> list[GuardrailResult]:
    return [GuardrailResult(name=name, passed=False, detail=detail)]


def _lockdown(request: ActionRequest, context: DecisionContext, policy: Policy) -> list[GuardrailResult]:
    if policy.lockdown is None:
        return _ok("lockdown", "policy is not locked down")
    if policy.is_read_only(request.kind):
        return _ok("lockdown", f"policy is locked down ({policy.lockdown}); {request.kind} is read-only")
    return _fail("lockdown", f"policy denies every mutating action: {policy.lockdown}")


def _kill_switch(request: ActionRequest, context: DecisionContext, policy: Policy) -> list[GuardrailResult]:
    if not context.kill_switch:
        return _ok("kill_switch", "kill switch is off")
    if policy.is_read_only(request.kind):
        return _ok("kill_switch", f"kill switch is on; {request.kind} is read-only")
    return _fail("kill_switch", "kill switch is on: mutating actions are stopped")


def _rate_limits(request: ActionRequest, context: DecisionContext, policy: Policy) -> list[GuardrailResult]:
    results = []
    for limit in policy.rate_limits:
        key = limit.key_for(request)
        if key is None:
            continue
        done = context.action_counts.get(key, 0)
        passed = done < limit.max_count
        state = "within limit" if passed else "limit reached"
        results.append(GuardrailResult(
            name=f"rate_limit:{limit.name}", passed=passed,
            detail=f"{state}: {done} taken, at most {limit.max_count} per {limit.window_minutes} min ({key})",
        ))
    return results or _ok("rate_limit", "no rate limit applies")


def _freeze_windows(
    request: ActionRequest, context: DecisionContext, policy: Policy
) -> list[GuardrailResult]:
    results = []
    for window in policy.guardrails.freeze_windows:
        if not window.selects(request) or not window.active(context.now):
            continue
        span = f"{window.start.isoformat()} to {window.end.isoformat()}"
        if policy.is_read_only(request.kind):
            detail, passed = f"freeze {span} active; {request.kind} is read-only", True
        elif context.severity in window.exempt_severities:
            detail, passed = f"freeze {span} active; {context.severity} is exempt", True
        else:
            detail, passed = f"change freeze {span} is active", False
        results.append(GuardrailResult(name=f"freeze_window:{window.name}", passed=passed, detail=detail))
    return results or _ok("freeze_window", "no active freeze applies")


def _blast_radius(request: ActionRequest, context: DecisionContext, policy: Policy) -> list[GuardrailResult]:
    cap = next((c for c in policy.guardrails.blast_radius_caps if c.selects(request)), None)
    if cap is None:
        return _ok("blast_radius_cap", f"no blast-radius cap applies to {request.kind}")
    limit, name = cap.max_blast_radius, f"blast_radius_cap:{cap.name}"
    if request.blast_radius > limit:
        return _fail(name, f"blast radius {request.blast_radius:g} is above the cap {limit:g}")
    return _ok(name, f"blast radius {request.blast_radius:g} is within the cap {limit:g}")


def _targets(request: ActionRequest, context: DecisionContext, policy: Policy) -> list[GuardrailResult]:
    if policy.is_read_only(request.kind):
        return _ok("target_set", f"{request.kind} is read-only")
    if not request.targets:
        return _fail("target_set", "no targets: refusing an unbounded action")
    bad = [t for t in request.targets if not t.strip() or "*" in t or "?" in t]
    if bad:
        return _fail("target_set", f"empty or wildcard target(s): {bad}")
    return _ok("target_set", f"{len(request.targets)} explicit target(s)")


def _verified_plan(request: ActionRequest, context: DecisionContext, policy: Policy) -> list[GuardrailResult]:
    needed = (
        policy.guardrails.require_verified_plan
        and policy.is_production(request.environment)
        and not policy.is_read_only(request.kind)
    )
    if needed and not request.verified:
        return _fail("verified_plan", f"{request.environment} is production: the plan must be verified")
    return _ok("verified_plan", "plan is verified" if request.verified else "verified plan not required here")


_CHECKS: tuple[Callable[[ActionRequest, DecisionContext, Policy], list[GuardrailResult]], ...] = (
    _lockdown, _kill_switch, _rate_limits, _freeze_windows, _blast_radius, _targets, _verified_plan,
)


def check_guardrails(
    request: ActionRequest, context: DecisionContext, policy: Policy
) -> list[GuardrailResult]:
    """Run every guardrail, in a fixed order, and return all results (passed and failed)."""
    return [result for check in _CHECKS for result in check(request, context, policy)]
