"""Severity classification with the default matrix and with a policy that overrides it."""

from __future__ import annotations

import pytest

from policies import IncidentFacts, Severity, classify_severity, default_policy
from tests.policies.helpers import policy


def test_severity_rank_orders_sev1_as_most_severe() -> None:
    assert [s.rank for s in Severity] == [1, 2, 3, 4]
    assert Severity.SEV_1.at_least(Severity.SEV_2)
    assert Severity.SEV_2.at_least(Severity.SEV_2)
    assert not Severity.SEV_3.at_least(Severity.SEV_2)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (IncidentFacts(users_affected=1.0, core_functionality=True), Severity.SEV_1),
        (IncidentFacts(data_exposure=True, users_affected=0.01), Severity.SEV_1),
        (IncidentFacts(revenue_per_hour_at_risk=1_500_000), Severity.SEV_1),
        (IncidentFacts(traffic_affected=0.95), Severity.SEV_1),
        (IncidentFacts(users_affected=0.3), Severity.SEV_2),
        (IncidentFacts(users_affected=0.05, regions_affected=2), Severity.SEV_2),
        (IncidentFacts(revenue_per_hour_at_risk=100_000), Severity.SEV_2),
        (IncidentFacts(revenue_per_hour_at_risk=1_000_000), Severity.SEV_2),
        (IncidentFacts(users_affected=0.05, core_functionality=True), Severity.SEV_2),
        (
            IncidentFacts(users_affected=0.05, core_functionality=True, workaround_available=True),
            Severity.SEV_3,
        ),
        (IncidentFacts(users_affected=0.05, workaround_available=True), Severity.SEV_3),
        (IncidentFacts(internal_only=True, regions_affected=3), Severity.SEV_4),
        (IncidentFacts(internal_only=True, data_exposure=True), Severity.SEV_1),
    ],
)
def test_default_matrix(facts: IncidentFacts, expected: Severity) -> None:
    assessment = classify_severity(facts, default_policy())
    assert assessment.severity is expected
    assert assessment.reasons


def test_reasons_name_every_fact_that_set_the_level() -> None:
    facts = IncidentFacts(users_affected=0.4, regions_affected=3, revenue_per_hour_at_risk=200_000)
    reasons = classify_severity(facts, default_policy()).reasons
    assert len(reasons) == 3
    assert any("40%" in r for r in reasons)
    assert any("3 regions" in r for r in reasons)
    assert any("200,000/h" in r for r in reasons)


def test_requirements_come_from_the_policy() -> None:
    tuned = policy(severity={
        "major_segment_share": 0.5,
        "requirements": {
            "SEV-1": {"first_update_minutes": 5, "update_cadence_minutes": 10, "notify": ["ceo"]},
            "SEV-2": {"first_update_minutes": 20, "update_cadence_minutes": 40, "notify": ["ic"]},
            "SEV-3": {"first_update_minutes": 60, "update_cadence_minutes": 120},
            "SEV-4": {"first_update_minutes": 600, "update_cadence_minutes": 600},
        },
    })
    facts = IncidentFacts(users_affected=0.3)
    assert classify_severity(facts, default_policy()).severity is Severity.SEV_2
    assessment = classify_severity(facts, tuned)
    assert assessment.severity is Severity.SEV_3
    assert assessment.requirements.first_update_minutes == 60
    sev1 = classify_severity(IncidentFacts(data_exposure=True), tuned)
    assert sev1.requirements.notify == ["ceo"]
    assert sev1.requirements.update_cadence_minutes == 10


def test_default_requirements_get_stricter_with_severity() -> None:
    reqs = default_policy().severity.requirements
    firsts = [reqs[s].first_update_minutes for s in Severity]
    assert firsts == sorted(firsts)
    assert reqs[Severity.SEV_1].notify
