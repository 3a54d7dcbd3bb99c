"""``firebreak policy suggest`` (flows.suggest) on a hand-made history with a known expected diff.

The history (worked out by hand):

- rollback.ecs on checkout/prod: approved, applied and verified 3 times, answers in 40-90 s:
  suggest automating it (the default threshold is 3 times within 300 s);
- rollback.ecs on payments/prod: the same 3 times, but one answer took 900 s: nothing;
- traffic.shift.route53 on checkout/prod: approved and verified twice: nothing at 3, a
  suggestion at ``--min-approved 2``;
- flags.disable.ssm on checkout/prod, automated: once not recovered, once halted by the kill
  switch: suggest requiring approval;
- alarm checkout-noisy: 1 of 4 incidents confirmed: review it;
- drills: rollback.ecs on orders/prod approved and verified 3 times: never counted.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from typer.testing import CliRunner

from firebreak.cli import app
from flows.report import IncidentReport, MitigationRecord, MitigationStatus, Outcome
from flows.suggest import SuggestionKind, Thresholds, suggest
from policies import ActionRequest
from policies.rules import ActionRule

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
APPLIED, HALTED = MitigationStatus.APPLIED, MitigationStatus.HALTED


def mitigation(
    kind: str, tier: str, status: MitigationStatus, verified: bool | None, rule: str, *people: str
) -> MitigationRecord:
    return MitigationRecord(
        hypothesis=kind,
        kind=kind,
        tier=tier,
        rule=rule,
        status=status,
        verified=verified,
        people=list(people),
    )


def report(
    n: int, *, service: str = "checkout", alarm: str = "checkout-errors", confirmed: bool = True,
    mitigations: list[MitigationRecord] | None = None, waits: list[float] | None = None, drill: bool = False,
) -> IncidentReport:  # fmt: skip
    onset = T0 + timedelta(days=n)
    return IncidentReport(
        incident_id=f"INC-{n:02d}", service=service, environment="prod", region="eu-west-1", alert_name=alarm,
        outcome=Outcome.MITIGATED if confirmed else Outcome.NOT_CONFIRMED, message="", started_at=onset,
        detected_at=onset + timedelta(seconds=30) if confirmed else None, mitigations=mitigations or [],
        approval_waits_s=waits or [], drill=drill, timeline_path=f"INC-{n:02d}/timeline.json",
    )  # fmt: skip


def rollback(verified: bool = True) -> MitigationRecord:
    return mitigation("rollback.ecs", "approval", APPLIED, verified, "rollbacks", "alice")


def shift() -> MitigationRecord:
    return mitigation("traffic.shift.route53", "approval", APPLIED, True, "large-traffic-shift", "bob")


def flag(status: MitigationStatus, verified: bool | None) -> MitigationRecord:
    return mitigation("flags.disable.ssm", "automated", status, verified, "flag-containment")


HISTORY = [
    report(1, mitigations=[rollback()], waits=[40]),
    report(2, mitigations=[rollback(), shift()], waits=[60, 20]),
    report(3, mitigations=[rollback()], waits=[90]),
    report(4, service="payments", mitigations=[rollback()], waits=[30]),
    report(5, service="payments", mitigations=[rollback()], waits=[900]),
    report(6, service="payments", mitigations=[rollback()], waits=[45]),
    report(7, mitigations=[shift()], waits=[15]),
    report(8, mitigations=[flag(APPLIED, False)]),
    report(9, mitigations=[flag(HALTED, None)]),
    report(10, alarm="checkout-noisy"),
    report(11, alarm="checkout-noisy", confirmed=False),
    report(12, alarm="checkout-noisy", confirmed=False),
    report(13, alarm="checkout-noisy", confirmed=False),
    *(report(20 + i, service="orders", mitigations=[rollback()], waits=[5], drill=True) for i in range(3)),
]

AUTOMATE_ROLLBACK = [
    "# rules: insert before rule 'rollbacks'",
    "+  - name: earned-rollback-ecs-checkout-prod",
    "+    actions: [rollback.ecs]",
    "+    services: [checkout]",
    "+    environments: [prod]",
    "+    tier: automated",
    "+    reason: approved, applied and verified 3 of 3 times, every approval within 90 s (firebreak policy "
    "suggest); the guardrails' caps and rate limits still apply",
]
FLAGS_NEED_APPROVAL = [
    "# rules: insert before rule 'flag-containment'",
    "+  - name: needs-approval-flags-disable-ssm-checkout-prod",
    "+    actions: [flags.disable.ssm]",
    "+    services: [checkout]",
    "+    environments: [prod]",
    "+    tier: approval",
    "+    reason: automated 2 times, 2 failed (firebreak policy suggest)",
    "# and an approval rule that selects it (else it is denied): check with `firebreak policy explain`",
]


def test_the_expected_diff_with_the_default_thresholds() -> None:
    found = suggest(HISTORY, Thresholds())

    assert (found.counted, found.drills_ignored) == (13, 3)
    assert [(s.kind, s.subject) for s in found.suggestions] == [
        (SuggestionKind.REQUIRE_APPROVAL, "flags.disable.ssm checkout/prod"),
        (SuggestionKind.AUTOMATE, "rollback.ecs checkout/prod"),
        (SuggestionKind.REVIEW_ALARM, "checkout-noisy"),
    ]
    needs_approval, automate, review = found.suggestions
    assert automate.diff == AUTOMATE_ROLLBACK
    assert automate.evidence == [
        "INC-01: approved by alice, verified; the incident's slowest approval took 40 s",
        "INC-02: approved by alice, verified; the incident's slowest approval took 60 s",
        "INC-03: approved by alice, verified; the incident's slowest approval took 90 s",
    ]
    for suggestion in (automate, needs_approval):  # the '+' lines are a rule the policy accepts
        [added] = yaml.safe_load("\n".join(line[1:] for line in suggestion.diff if line.startswith("+")))
        assert ActionRule.model_validate(added).selects(
            ActionRequest(kind=added["actions"][0], service="checkout", environment="prod", targets=["x"],
                          blast_radius=1.0)
        )  # fmt: skip
    assert needs_approval.diff == FLAGS_NEED_APPROVAL
    assert needs_approval.evidence == [
        "INC-08: applied, the signal did not recover",
        "INC-09: halted by the kill switch (a person stopped it)",
    ]
    assert review.diff == ["# review alarm checkout-noisy: confirmed 1 of 4 (precision 0.25)"]
    assert review.evidence == ["not confirmed: INC-11, INC-12, INC-13"]


def test_thresholds_move_what_is_suggested() -> None:
    found = suggest(HISTORY, Thresholds(min_approved=2, max_wait_s=1000, min_failures=3, min_precision=0.2))

    assert [(s.kind, s.subject) for s in found.suggestions] == [
        (SuggestionKind.AUTOMATE, "rollback.ecs checkout/prod"),
        (SuggestionKind.AUTOMATE, "rollback.ecs payments/prod"),  # 900 s is now quick enough
        (SuggestionKind.AUTOMATE, "traffic.shift.route53 checkout/prod"),  # twice is now enough
    ]


def test_a_kind_not_verified_every_time_is_not_suggested() -> None:
    history = [*HISTORY[:3], report(30, mitigations=[rollback(verified=False)], waits=[10])]

    assert [s.subject for s in suggest(history, Thresholds()).suggestions] == []


def write(root: Path, reports: list[IncidentReport]) -> Path:
    for r in reports:
        (root / r.incident_id).mkdir(parents=True)
        (root / r.incident_id / "report.json").write_text(r.model_dump_json())
    return root


def test_the_command_prints_the_diff_with_its_evidence(tmp_path: Path) -> None:
    root = write(tmp_path / "incidents", HISTORY)

    result = CliRunner().invoke(app, ["policy", "suggest", "--dir", str(root)])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"13 production incident(s) in {root} (3 drill record(s) not counted): 3 suggestion(s)"
    start = lines.index("## automate: rollback.ecs checkout/prod")
    assert lines[start + 1 : start + 1 + len(AUTOMATE_ROLLBACK)] == AUTOMATE_ROLLBACK
    assert "#   evidence: INC-09: halted by the kill switch (a person stopped it)" in lines


def test_the_command_since_and_json(tmp_path: Path) -> None:
    root = write(tmp_path / "incidents", HISTORY)

    result = CliRunner().invoke(
        app, ["policy", "suggest", "--dir", str(root), "--since", "2026-11-10", "--json"]
    )

    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (body["counted"], body["drills_ignored"]) == (6, 3)  # INC-08 to INC-13, and the drills
    assert body["thresholds"]["min_approved"] == 3
    assert [s["subject"] for s in body["suggestions"]] == [
        "flags.disable.ssm checkout/prod",
        "checkout-noisy",
    ]


def test_only_drill_records_means_no_production_history(tmp_path: Path) -> None:
    root = write(tmp_path / "incidents", [r for r in HISTORY if r.drill])

    result = CliRunner().invoke(app, ["policy", "suggest", "--dir", str(root)])

    assert result.exit_code == 0
    why = "(3 drill record(s) not counted): nothing to suggest"
    assert result.output == f"no production incidents in {root} {why}\n"
