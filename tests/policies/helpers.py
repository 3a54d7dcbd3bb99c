"""Builders shared by the policy tests: a request, a context and small policies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from policies import ActionRequest, DecisionContext, Policy, Severity

# A Wednesday, 10:00 UTC: inside business hours everywhere in Europe.
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def request(kind: str = "rollback.ecs", **overrides: Any) -> ActionRequest:
    """A valid production request for ``kind``; override any field."""
    fields: dict[str, Any] = {
        "kind": kind, "service": "checkout", "environment": "prod",
        "targets": ["arn:aws:ecs:eu-west-1:123456789012:service/shop/checkout"], "blast_radius": 0.1,
    }
    return ActionRequest(**{**fields, **overrides})


def context(**overrides: Any) -> DecisionContext:
    """A SEV-2 context at :data:`NOW`, kill switch off; override any field."""
    fields: dict[str, Any] = {"severity": Severity.SEV_2, "now": NOW}
    return DecisionContext(**{**fields, **overrides})


def policy(**fields: Any) -> Policy:
    """A policy from plain data, validated exactly like a file."""
    return Policy.model_validate(fields)
