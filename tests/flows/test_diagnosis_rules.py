"""Diagnosis rules beyond changes (pure): load, dependencies, a person's change, corroboration,
shift_traffic by mechanism; each fires on its evidence and not in the near-miss cases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flows.diagnosis import Hypothesis, HypothesisKind, diagnose
from tasks.aws import USER_AGENT_MARK
from tasks.catalog import MetricRole, MetricSpec, ServiceEnvironment
from tasks.evidence import (
    ChangeEvent,
    Datapoint,
    DependencyHealth,
    EcsState,
    EvidenceBundle,
    LambdaState,
    LogLine,
    RegionEvidence,
    TargetHealth,
    TrafficBaseline,
    WriteEvent,
)
from tests.flows.bundles import ARN, BAD, ERRORS, GOOD, ONSET, deploy

CPU = MetricSpec(
    name="cpu", namespace="C", metric_name="CPU", healthy_threshold=80, role=MetricRole.SATURATION
)
REQUESTS = MetricSpec(
    name="requests", namespace="C", metric_name="Requests", healthy_threshold=0, role=MetricRole.TRAFFIC,
    healthy_when="above",
)  # fmt: skip
TG_A, TG_B = "arn:tg/a", "arn:tg/b"


def entry(**fields: Any) -> ServiceEnvironment:
    region: dict[str, Any] = {
        "ecs": {"cluster": "c", "service": "s"},
        "capacity": {"max": 4, "step": 2},
        "api_gateway": {"rest_api": "api", "stage": "prod", "emergency_rate": 50, "emergency_burst": 10},
        "alb": {"listener_arn": "arn:listener", "target_group_arns": [TG_A, TG_B]},
    }
    return ServiceEnvironment.model_validate(
        {"primary_region": BAD, "regions": {BAD: region, GOOD: region}, **fields}
    )


def region(
    name: str,
    *,
    errors: float = 0.5,
    cpu: float = 40.0,
    requests: float = 100.0,
    desired: int = 2,
    **fields: Any,
) -> RegionEvidence:
    def points(value: float) -> list[Datapoint]:
        return [Datapoint(at=ONSET - timedelta(minutes=m), value=value) for m in (3, 2, 1)]

    return RegionEvidence.model_validate(
        {
            "region": name,
            "metric_specs": [ERRORS, CPU, REQUESTS],
            "metrics": {"error_rate": points(errors), "cpu": points(cpu), "requests": points(requests)},
            "baseline": TrafficBaseline(metric="requests", median=100.0, points=55),
            "ecs": EcsState(
                cluster="c", service="s", task_definition=f"{ARN}:3", desired=desired, running=desired
            ),
            **fields,
        }
    )


def bundle(bad: RegionEvidence, good: RegionEvidence | None = None, *changes: ChangeEvent) -> EvidenceBundle:
    return EvidenceBundle(
        service="checkout",
        environment="prod",
        onset=ONSET,
        window_start=ONSET - timedelta(minutes=30),
        collected_at=ONSET + timedelta(minutes=1),
        regions={BAD: bad, GOOD: good or region(GOOD)},
        changes=list(changes),
    )


def kinds(hypotheses: list[Hypothesis]) -> list[HypothesisKind]:
    return [h.kind for h in hypotheses]


SPIKE: dict[str, Any] = {"errors": 20.0, "cpu": 97.0, "requests": 300.0}


# --- saturation and overload -------------------------------------------------------------------


def test_saturation_under_a_traffic_rise_is_a_scale_out_first() -> None:
    [top, *rest] = diagnose(bundle(region(BAD, **SPIKE)), entry())
    assert (top.kind, top.region, top.mechanism) == (HypothesisKind.SCALE_OUT, BAD, "ecs")
    assert any("traffic 3.00x its baseline" in line for line in top.evidence)
    assert [p.reason for p in top.score_parts][:2] == ["cpu saturated", "traffic 3.00x baseline"]
    assert HypothesisKind.THROTTLE not in kinds(rest)


def test_saturation_without_a_traffic_rise_is_not_load() -> None:
    hypotheses = diagnose(bundle(region(BAD, errors=20.0, cpu=97.0, requests=110.0)), entry())
    assert not {HypothesisKind.SCALE_OUT, HypothesisKind.THROTTLE} & set(kinds(hypotheses))


def test_a_traffic_rise_without_saturation_is_not_load() -> None:
    hypotheses = diagnose(bundle(region(BAD, errors=20.0, cpu=50.0, requests=300.0)), entry())
    assert HypothesisKind.SCALE_OUT not in kinds(hypotheses)


def test_no_baseline_means_no_scale_out() -> None:
    hypotheses = diagnose(bundle(region(BAD, baseline=None, **SPIKE)), entry())
    assert HypothesisKind.SCALE_OUT not in kinds(hypotheses)


def test_at_the_capacity_cap_it_is_throttle_not_scale_out() -> None:
    hypotheses = diagnose(bundle(region(BAD, desired=4, **SPIKE)), entry())
    assert kinds(hypotheses)[0] is HypothesisKind.THROTTLE and HypothesisKind.SCALE_OUT not in kinds(
        hypotheses
    )
    assert any(p.reason == "capacity at its cap (4/4)" for p in hypotheses[0].score_parts)


def test_below_the_cap_it_is_scale_out_not_throttle() -> None:
    hypotheses = diagnose(bundle(region(BAD, desired=3, **SPIKE)), entry())
    assert HypothesisKind.SCALE_OUT in kinds(hypotheses) and HypothesisKind.THROTTLE not in kinds(hypotheses)


def test_a_deploy_in_the_region_explains_the_saturation() -> None:
    change = deploy(before=f"{ARN}:2")
    hypotheses = diagnose(bundle(region(BAD, **SPIKE), None, change), entry())
    assert kinds(hypotheses)[0] is HypothesisKind.ROLLBACK and HypothesisKind.SCALE_OUT not in kinds(
        hypotheses
    )


def test_a_noise_deploy_in_a_healthy_region_is_not_rolled_back_next_to_a_spike() -> None:
    noise = deploy(before=f"{ARN}:2").model_copy(update={"region": GOOD})
    hypotheses = diagnose(bundle(region(BAD, **SPIKE), region(GOOD), noise), entry())
    assert kinds(hypotheses)[0] is HypothesisKind.SCALE_OUT
    assert HypothesisKind.ROLLBACK not in kinds(hypotheses)


# --- dependencies ------------------------------------------------------------------------------

DEPS = {"flags": {"region": BAD, "flags": {"payments-off": "/f/payments-off", "new-ui": "/f/new-ui"}}}


def _dependency(breaker: bool = True, **fields: Any) -> ServiceEnvironment:
    dep: dict[str, Any] = {"alarm": "payments-health", "log_patterns": ["payments.example"], **fields}
    if breaker:
        dep["breaker_flag"] = "payments-off"
    return entry(dependencies={"payments": dep}, **DEPS)


def _logs(*messages: str) -> list[LogLine]:
    return [LogLine(group="/ecs/c", stream="w", at=ONSET, message=m) for m in messages]


def test_a_dependency_alarm_in_alarm_opens_its_breaker() -> None:
    bad = region(BAD, errors=20.0, dependencies={"payments": DependencyHealth(alarm_state="ALARM")})
    [top, *_] = diagnose(bundle(bad), _dependency())
    assert (top.kind, top.dependency, top.flag) == (HypothesisKind.OPEN_BREAKER, "payments", "payments-off")
    assert f"{BAD}: payments alarm payments-health in ALARM" in top.evidence


def test_a_healthy_or_unknown_dependency_opens_nothing() -> None:
    for health in (DependencyHealth(alarm_state="OK", metric_healthy=True), DependencyHealth()):
        bad = region(BAD, errors=20.0, dependencies={"payments": health})
        assert HypothesisKind.OPEN_BREAKER not in kinds(diagnose(bundle(bad), _dependency()))


def test_log_lines_naming_the_dependency_are_enough_from_two() -> None:
    two = region(
        BAD,
        errors=20.0,
        log_errors=_logs("ERROR calling payments.example: 503", "ERROR Payments.Example timeout"),
    )
    one = region(BAD, errors=20.0, log_errors=_logs("ERROR calling payments.example: 503", "ERROR other"))
    assert HypothesisKind.OPEN_BREAKER in kinds(diagnose(bundle(two), _dependency()))
    assert HypothesisKind.OPEN_BREAKER not in kinds(diagnose(bundle(one), _dependency()))


def test_without_a_breaker_the_dependency_is_named_in_the_checklist() -> None:
    bad = region(BAD, errors=20.0, dependencies={"payments": DependencyHealth(alarm_state="ALARM")})
    [escalate] = [h for h in diagnose(bundle(bad), _dependency(breaker=False)) if h.dependency]
    assert escalate.kind is HypothesisKind.ESCALATE
    assert "Dependency payments is failing" in escalate.checklist[0]


# --- configuration change by a person ----------------------------------------------------------


def _write(user_agent: str = "aws-cli/2.15", caller: str = "user/bob") -> ChangeEvent:
    at = ONSET - timedelta(minutes=5)
    return ChangeEvent(
        kind="cloudtrail", region=BAD, resource="arn:listener", at=at, summary="ModifyListener by bob",
        write=WriteEvent(event_name="ModifyListener", at=at, resource="arn:listener", request_id="req-bob",
                         caller=f"arn:aws:iam::123456789012:{caller}", user_agent=user_agent),
    )  # fmt: skip


def test_a_change_by_a_person_is_a_config_change_for_a_human() -> None:
    [top] = diagnose(bundle(region(BAD, errors=20.0), region(GOOD, errors=20.0), _write()), entry())
    assert top.kind is HypothesisKind.CONFIG_CHANGE and not top.kind.automated
    assert "ModifyListener by bob on arn:listener" in top.checklist[0] and "req-bob" in top.checklist[0]


def test_a_change_by_firebreak_is_not_a_config_change() -> None:
    mine = _write(user_agent=f"Boto3/1.44 {USER_AGENT_MARK}")
    [top] = diagnose(bundle(region(BAD, errors=20.0), region(GOOD, errors=20.0), mine), entry())
    assert top.kind is HypothesisKind.ESCALATE and not any("bob" in line for line in top.evidence)


def test_a_creation_by_a_person_is_not_a_config_change() -> None:
    created = _write()
    assert created.write is not None
    created = created.model_copy(
        update={"write": created.write.model_copy(update={"event_name": "CreateRule"})}
    )
    [top] = diagnose(bundle(region(BAD, errors=20.0), region(GOOD, errors=20.0), created), entry())
    assert top.kind is HypothesisKind.ESCALATE


def test_a_change_another_rule_explains_is_evidence_not_a_hypothesis() -> None:
    hypotheses = diagnose(
        bundle(region(BAD, errors=20.0), None, _write(), deploy(before=f"{ARN}:2")), entry()
    )
    assert HypothesisKind.CONFIG_CHANGE not in kinds(hypotheses)
    assert any(
        line.startswith("configuration change by a person: ModifyListener") for line in hypotheses[0].evidence
    )


# --- flags -------------------------------------------------------------------------------------


def _flag(parameter: str, after: str, before: str = "off") -> ChangeEvent:
    return ChangeEvent(
        kind="flag", region=BAD, resource=parameter, at=ONSET - timedelta(minutes=3),
        summary=f"flag: {before!r} -> {after!r}", before=before, after=after,
    )  # fmt: skip


def test_an_ssm_flag_is_on_at_its_catalogued_on_value() -> None:
    flags = {"region": BAD, "flags": {"new-ui": "/f/new-ui"}, "on_values": {"new-ui": "enabled"}}
    on = diagnose(bundle(region(BAD, errors=20.0), None, _flag("/f/new-ui", "enabled")), entry(flags=flags))
    plain = diagnose(bundle(region(BAD, errors=20.0), None, _flag("/f/new-ui", "on")), entry(flags=flags))
    assert kinds(on)[0] is HypothesisKind.DISABLE_FLAG and HypothesisKind.DISABLE_FLAG not in kinds(plain)


def test_a_breaker_switched_on_is_not_a_flag_to_switch_off() -> None:
    hypotheses = diagnose(
        bundle(region(BAD, errors=20.0), None, _flag("/f/payments-off", "on")), _dependency()
    )
    assert HypothesisKind.DISABLE_FLAG not in kinds(hypotheses)


# --- corroboration, shift by mechanism, maintenance --------------------------------------------


def test_alarms_targets_and_log_signatures_become_evidence_and_move_scores() -> None:
    targets = [
        TargetHealth(target_group_arn=TG_A, target_id="i-1", state="unhealthy"),
        TargetHealth(target_group_arn=TG_B, target_id="i-2", state="healthy"),
    ]
    logs = _logs(
        "ERROR timeout after 3000 ms (req 9f8e7d6c5b)", "ERROR timeout after 2500 ms (req 0a1b2c3d4e)"
    )
    bad = region(BAD, errors=20.0, alarms={"5xx": "ALARM", "latency": "ALARM", "cpu": "OK"}, targets=targets,
                 log_errors=logs)  # fmt: skip
    route53 = {"zone_id": "Z", "record_name": "api", "set_identifiers": {BAD: "eu", GOOD: "us"}}
    [shift] = diagnose(bundle(bad), entry(route53=route53))
    assert shift.kind is HypothesisKind.SHIFT_TRAFFIC and shift.score == 0.7
    assert f"2 alarm(s) in ALARM in {BAD}: 5xx, latency" in shift.evidence
    assert f"1 of 2 targets unhealthy in {BAD}" in shift.evidence
    assert f"log errors in {BAD}: 2x ERROR timeout after <n> ms (req <id>)" in shift.evidence
    assert shift.explain() == (
        f"0.7 = +0.6 {BAD} unhealthy while {GOOD} is fine; +0.05 2 alarm(s) in ALARM in {BAD}: 5xx, latency; "
        f"+0.05 1 of 2 targets unhealthy in {BAD}"
    )


def test_shift_by_alb_weights_the_target_groups_without_unhealthy_targets() -> None:
    targets = [
        TargetHealth(target_group_arn=TG_A, target_id="i-1", state="unhealthy"),
        TargetHealth(target_group_arn=TG_B, target_id="i-2", state="healthy"),
    ]
    bad = region(BAD, errors=20.0, targets=targets)
    [shift] = [
        h for h in diagnose(bundle(bad), entry(traffic="alb")) if h.kind is HypothesisKind.SHIFT_TRAFFIC
    ]
    assert shift.weights == {TG_B: 100, TG_A: 0}
    all_healthy = region(BAD, errors=20.0, targets=[targets[1]])
    assert HypothesisKind.SHIFT_TRAFFIC not in kinds(diagnose(bundle(all_healthy), entry(traffic="alb")))


def test_shift_by_lambda_sends_the_alias_to_its_primary_version() -> None:
    alias = LambdaState(function="f", alias="live", version="7", additional_weights={"8": 0.2})
    [shift] = diagnose(bundle(region(BAD, errors=20.0, lambda_alias=alias)), entry(traffic="lambda"))
    assert (shift.kind, shift.weights) == (HypothesisKind.SHIFT_TRAFFIC, {"7": 100, "8": 0})
    whole = alias.model_copy(update={"additional_weights": {}})
    assert kinds(diagnose(bundle(region(BAD, errors=20.0, lambda_alias=whole)), entry(traffic="lambda"))) == [
        HypothesisKind.ESCALATE
    ]


def test_maintenance_is_never_a_diagnosis() -> None:
    load: dict[str, Any] = {"cpu": 97.0, "requests": 300.0}
    cases = [
        bundle(region(BAD, errors=99.0), region(GOOD, errors=99.0)),
        bundle(region(BAD, errors=99.0, **load), region(GOOD, errors=99.0)),
        bundle(region(BAD, errors=99.0, desired=4, **load)),
    ]
    for case in cases:
        assert HypothesisKind.MAINTENANCE not in kinds(diagnose(case, entry(outage_threshold=50.0)))
