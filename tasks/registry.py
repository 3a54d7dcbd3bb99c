"""Every action kind Firebreak can apply, with its state store, inverse and IAM actions.

A small explicit table, checked at import (a kind whose inverse is not registered fails then,
not during an incident). The policy keys its tiers on these kind names.
"""

from __future__ import annotations

from dataclasses import dataclass

from tasks import (
    capacity_asg,
    capacity_ecs,
    flags_appconfig,
    flags_ssm,
    maintenance_alb,
    rollback_asg,
    rollback_ecs,
    rollback_lambda,
    throttle_apigateway,
    traffic_alb,
    traffic_lambda,
    traffic_route53,
)
from tasks.breaker import breaker_kind
from tasks.catalog import FlagStoreKind
from tasks.flags import BACKENDS, flag_kind
from tasks.plan import ActionError
from tasks.steps import StateStore


class UnknownKindError(ActionError):
    """A plan or a command names an action kind that is not registered."""


@dataclass(frozen=True)
class ActionKind:
    """How to read, write and undo one kind of change, and what IAM it needs."""

    kind: str
    store: StateStore
    iam_actions: tuple[str, ...]
    inverse_kind: str


def _same(kind: str, store: StateStore, iam: tuple[str, ...]) -> ActionKind:
    return ActionKind(kind, store, iam, inverse_kind=kind)


def _pair(one: str, other: str, store: StateStore, iam: tuple[str, ...]) -> list[ActionKind]:
    """Two kinds that undo each other (disable/enable, open/close) over one store."""
    return [ActionKind(one, store, iam, other), ActionKind(other, store, iam, one)]


def _flags(store: FlagStoreKind, iam: tuple[str, ...]) -> list[ActionKind]:
    return [
        *_pair(flag_kind(store, False), flag_kind(store, True), BACKENDS[store], iam),
        *_pair(breaker_kind(store, True), breaker_kind(store, False), BACKENDS[store], iam),
    ]


REGISTRY: dict[str, ActionKind] = {
    a.kind: a
    for a in [
        _same(traffic_route53.KIND, traffic_route53.Route53Weights(), traffic_route53.IAM_ACTIONS),
        _same(traffic_alb.KIND, traffic_alb.AlbWeights(), traffic_alb.IAM_ACTIONS),
        _same(traffic_lambda.KIND, traffic_lambda.LambdaAliasWeights(), traffic_lambda.IAM_ACTIONS),
        *_flags(FlagStoreKind.SSM, flags_ssm.IAM_ACTIONS),
        *_flags(FlagStoreKind.APPCONFIG, flags_appconfig.IAM_ACTIONS),
        _same(rollback_ecs.KIND, rollback_ecs.STORE, rollback_ecs.IAM_ACTIONS),
        _same(rollback_lambda.KIND, rollback_lambda.STORE, rollback_lambda.IAM_ACTIONS),
        _same(rollback_asg.KIND, rollback_asg.STORE, rollback_asg.IAM_ACTIONS),
        _same(capacity_ecs.KIND, capacity_ecs.STORE, capacity_ecs.IAM_ACTIONS),
        _same(capacity_asg.KIND, capacity_asg.STORE, capacity_asg.IAM_ACTIONS),
        _same(throttle_apigateway.KIND, throttle_apigateway.STORE, throttle_apigateway.IAM_ACTIONS),
        *_pair(
            maintenance_alb.ENABLE,
            maintenance_alb.DISABLE,
            maintenance_alb.STORE,
            maintenance_alb.IAM_ACTIONS,
        ),
    ]
}

_orphans = {a.kind for a in REGISTRY.values() if a.inverse_kind not in REGISTRY}
if _orphans:  # pragma: no cover - a programming error caught at import
    raise RuntimeError(f"action kinds without a registered inverse: {sorted(_orphans)}")


def action_kind(kind: str) -> ActionKind:
    """The registered kind, or UnknownKindError listing the known ones."""
    try:
        return REGISTRY[kind]
    except KeyError:
        raise UnknownKindError(
            f"unknown action kind {kind!r} (known: {', '.join(sorted(REGISTRY))})"
        ) from None
