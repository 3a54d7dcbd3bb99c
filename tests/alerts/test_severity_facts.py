"""Issue 25, point 3: whoever can send an alert must not decide its severity.

Severity facts come from the operator (the routing file's ``facts``, carried on the alert as
``alert.facts``); an alert's labels may raise them only for a source the policy trusts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from alerts.errors import AlertParseError, RoutingConfigError
from alerts.generic import parse_generic
from alerts.models import Alert
from alerts.routing import Routing, load_routing, route
from flows.detect import facts_for
from flows.incident_run import IncidentRun
from policies import Policy, Severity, classify_severity, default_policy, parse_policy
from policies.severity import StatedFacts

LOUD = {
    "revenue_per_hour": "50000000",
    "data_exposure": "true",
    "tier": "core",
    "service": "web",
    "env": "prod",
}


def _alert(source: str = "generic", labels: dict[str, str] | None = None, *, routed: bool = True) -> Alert:
    return Alert(
        source=source,
        fingerprint="fp",
        name="web-prod-5xx",
        service="web" if routed else None,
        environment="prod" if routed else None,
        labels=labels if labels is not None else dict(LOUD),
        starts_at=datetime(2026, 11, 14, 10, tzinfo=UTC),
    )


def _severity(alert: Alert, policy: Policy) -> Severity:
    run = cast(
        IncidentRun,
        SimpleNamespace(
            alert=alert,
            policy=policy,
            entry=SimpleNamespace(regions={"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}),
        ),
    )
    return classify_severity(facts_for(run, 1), policy).severity


def test_labels_from_the_outside_do_not_make_sev1_by_default() -> None:
    unlabelled = _severity(_alert(labels={}), default_policy())
    assert unlabelled is Severity.SEV_2  # one region of five, core, no workaround stated
    assert _severity(_alert(), default_policy()) is unlabelled


def test_a_source_the_policy_trusts_may_raise_severity_by_label() -> None:
    trusting = parse_policy("severity:\n  trusted_label_sources: [alertmanager]\n", source="t.yaml")
    assert _severity(_alert("alertmanager"), trusting) is Severity.SEV_1
    assert _severity(_alert("generic"), trusting) is Severity.SEV_2


def test_a_trusted_label_only_raises_never_lowers() -> None:
    trusting = parse_policy("severity:\n  trusted_label_sources: [generic]\n", source="t.yaml")
    quiet = _alert(labels={"internal_only": "true", "tier": "secondary", "revenue_per_hour": "0"})
    stated = quiet.model_copy(update={"facts": StatedFacts(revenue_per_hour=2_000_000, tier="core")})
    assert _severity(stated, trusting) is Severity.SEV_1
    assert _severity(quiet, trusting) is Severity.SEV_2  # internal_only/secondary labels ignored


def test_the_routing_file_states_a_services_facts() -> None:
    routing = Routing.model_validate({"facts": {"web": {"revenue_per_hour": 2_000_000}}})
    routed = route(_alert(labels={"service": "web", "env": "prod"}, routed=False), routing)
    assert routed.facts is not None and routed.facts.revenue_per_hour == 2_000_000
    assert _severity(routed, default_policy()) is Severity.SEV_1


def test_a_sender_cannot_state_facts_itself() -> None:
    body = json.dumps(
        {
            "fingerprint": "x",
            "name": "n",
            "starts_at": "2026-11-14T10:00:00Z",
            "facts": {"data_exposure": True},
        }
    )
    with pytest.raises(AlertParseError, match="facts"):
        parse_generic(body)


def test_routing_facts_are_validated_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text("facts:\n  web:\n    revenue_per_hour: -5\n")
    with pytest.raises(RoutingConfigError, match=r"facts\.web\.revenue_per_hour"):
        load_routing(path)
