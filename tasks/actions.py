"""Apply, verify and undo any plan, and the Prefect tasks the flows call.

``apply_plan`` is the contract in one place: re-read live state; already at ``after`` -> do
nothing; no longer at ``before`` -> DriftError; else write and read back. A write that failed
is read back too, so the error says what is live now (nothing half-applied goes unreported),
and a write whose answer was lost counts as applied only if the read-back proves it. The
per-kind work is a StateStore looked up in tasks.registry, so every kind gets the same guarantees.

Undoing is never automatic here: an inverse is a new plan (:func:`inverse_plan`) that goes
through the flows' gate like any other action (``recover``).
"""

from __future__ import annotations

import logging

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

from tasks.aws import note_fault, recording_faults
from tasks.plan import ActionError, Applied, DriftError, JsonDict, Plan
from tasks.registry import action_kind
from tasks.steps import ServingStore, StateStore, UnconfirmedActionError


def read_live(plan: Plan) -> JsonDict:
    """The live state of the plan's targets, in the shape of ``plan.before``/``plan.after``."""
    return action_kind(plan.kind).store.read(plan.kind, plan.aws, plan.params)


MAX_SENDS = 3


def apply_plan(plan: Plan) -> Applied:
    """Make ``plan.after`` live, idempotently, refusing on drift; returns the state read back.

    A write that may have applied (a 5xx, a lost answer) is read back before anything else: live
    at ``after`` counts as applied; still at ``before`` proves it did not apply, and only then is
    it sent again (at most :data:`MAX_SENDS` times in all); anything else is an error carrying
    the live state. A write that succeeded is reported applied even if the read-back after it
    fails (``read_back_error`` says so), so no applied change can vanish from the record.
    """
    store = action_kind(plan.kind).store
    live = store.read(plan.kind, plan.aws, plan.params)
    if live == plan.after:
        return Applied(plan=plan, changed=False, state_after=live)
    if live != plan.before:
        raise DriftError(
            f"{plan.kind} plan {plan.hash} on {', '.join(plan.targets)}: live state drifted since planning "
            f"(expected {plan.before}, live {live}); re-plan and re-approve"
        )
    with recording_faults() as faults:
        request_ids = _write_until_live(store, plan, faults)
    try:
        state = store.read(plan.kind, plan.aws, plan.params)
    except ActionError as e:
        note_fault(f"{plan.kind}: applied, but the read-back after it failed: {e}")
        return Applied(
            plan=plan,
            changed=True,
            request_ids=request_ids,
            state_after=plan.after,
            aws_faults=faults,
            read_back_error=str(e),
        )
    return Applied(plan=plan, changed=True, request_ids=request_ids, state_after=state, aws_faults=faults)


def _write_until_live(store: StateStore, plan: Plan, faults: list[str]) -> list[str]:
    """Write ``plan.after``; after an unconfirmed write, decide from the read-back (see above).

    A multi-region change can come back partly live: every part still at ``before`` provably
    did not apply, so only those parts are sent again (the store writes what differs).
    """
    pending = plan
    for _ in range(MAX_SENDS):
        try:
            return store.write(pending)
        except UnconfirmedActionError as e:
            live = _read_back_after(e, plan)
            if live == plan.after:
                note_fault(f"{e.operation}: {e.code}; the read-back shows the change live, not sent again")
                return [f"unconfirmed: {e.operation} ({e.code}); the change was read back as live"]
            if not _each_part_before_or_after(live, plan):
                e.aws_faults = [*faults, str(e)]
                raise
            note_fault(f"{e.operation}: {e.code}; the read-back shows it did not apply, sending again")
            pending, last = plan.model_copy(update={"before": live}), e
        except ActionError as e:
            _read_back_after(e, plan)
            e.aws_faults = [*faults, str(e)]
            raise
    last.aws_faults = [*faults, str(last)]
    raise last


def _each_part_before_or_after(live: JsonDict, plan: Plan) -> bool:
    keys = set(live) | set(plan.after) | set(plan.before)
    return all(live.get(k) in (plan.before.get(k), plan.after.get(k)) for k in keys)


def _read_back_after(error: ActionError, plan: Plan) -> JsonDict:
    """Record on ``error`` the live state after a failed write (or why it could not be read)."""
    try:
        error.live_state = read_live(plan)
    except ActionError as unreadable:
        error.live_state = {"unreadable": str(unreadable)}
    return error.live_state


def verify_plan(plan: Plan) -> bool:
    """True when live state, read back now, equals ``plan.after`` (and, for a store that knows,
    what it asks for is running: :class:`tasks.steps.ServingStore`)."""
    store = action_kind(plan.kind).store
    if store.read(plan.kind, plan.aws, plan.params) != plan.after:
        return False
    return store.serving(plan) if isinstance(store, ServingStore) else True


def inverse_plan(applied: Applied) -> Plan:
    """The plan that takes the targets from the state read back after ``applied`` to its ``before``.

    Same targets and blast radius; the kind is the registered inverse (``flags.disable.ssm`` ->
    ``flags.enable.ssm``, a traffic shift or rollback is its own inverse kind). A capacity
    factor is inverted: undoing a doubling halves.
    """
    plan = applied.plan
    undo_kind = action_kind(plan.kind).inverse_kind
    return Plan.model_validate(
        {
            **plan.model_dump(exclude={"hash"}),
            "kind": undo_kind,
            "before": applied.state_after,
            "after": plan.before,
            "summary": f"Undo plan {plan.hash}: {plan.summary}",
            "params": {**plan.params, "undoes": plan.hash},
            "capacity_factor": None if plan.capacity_factor is None else round(1 / plan.capacity_factor, 4),
        }
    )


@task(cache_policy=NO_CACHE)
def apply_action(plan: Plan) -> Applied:
    """Prefect task: apply ``plan`` (see :func:`apply_plan`)."""
    _logger().info("Applying %s plan %s: %s", plan.kind, plan.hash, plan.summary)
    applied = apply_plan(plan)
    _logger().info(
        "%s plan %s: changed=%s, request ids %s", plan.kind, plan.hash, applied.changed, applied.request_ids
    )
    return applied


@task(cache_policy=NO_CACHE)
def verify_action(plan: Plan) -> bool:
    """Prefect task: confirm, by reading back, that ``plan.after`` is live."""
    _logger().info("Verifying %s plan %s on %s", plan.kind, plan.hash, ", ".join(plan.targets))
    ok = verify_plan(plan)
    _logger().info("%s plan %s verified: %s", plan.kind, plan.hash, ok)
    return ok


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The Prefect run logger inside a run, a module logger when called via ``.fn`` in tests."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)
