"""Issue 25, point 7: alert and approver names are the sender's (or typist's) text; in a
postmortem or an approval form they are shown as text, never rendered as markdown."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from flows.forms import approval_markdown
from flows.markdown_escape import escape_markdown
from flows.report import postmortem_markdown
from flows.timeline import Stage, Timeline
from policies import Decision, Tier
from policies.approvals import Identity
from tasks.aws import AwsTarget
from tasks.plan import Plan
from tests.flows.incident_reports import REPORTS


def _live(text: str, markup: str) -> bool:
    """True when ``markup`` occurs in ``text`` with its first character not escaped."""
    return re.search(r"(?<!\\)" + re.escape(markup), text) is not None


HOSTILE = "[click me](https://evil.example/x) **urgent** | col <img src=x> `code`\n# Heading"


def test_escape_markdown_leaves_no_live_markup() -> None:
    escaped = escape_markdown(HOSTILE)
    assert "\n" not in escaped
    for markup in ("[click me]", "](", "**urgent**", "| col", "<img", "`code`", "# Heading"):
        assert not _live(escaped, markup), markup
    assert escape_markdown("checkout-prod-5xx-rate") == "checkout-prod-5xx-rate"


def test_an_alert_name_in_the_postmortem_is_text(tmp_path: Path) -> None:
    report = REPORTS[0].model_copy(update={"alert_name": HOSTILE, "joined_alerts": [HOSTILE]})
    timeline = Timeline(incident_id=report.incident_id, path=tmp_path / "timeline.json")
    timeline.add(Stage.DETECT, "alert", f"alert {HOSTILE} received", actor=f"approver:{HOSTILE}")
    text = postmortem_markdown(report, timeline)
    assert not _live(text, "[click me]") and not _live(text, "<img")
    assert "\n# Heading" not in text
    # The timeline table keeps four cells per row: a name's "|" does not open a fifth.
    row = next(line for line in text.splitlines() if "received" in line)
    assert len(re.findall(r"(?<!\\)\|", row)) == 5


def test_approver_names_in_the_approval_form_are_text() -> None:
    plan = Plan(
        kind="flags.enable.ssm",
        service="checkout",
        environment="prod",
        aws=AwsTarget(region="eu-west-1"),
        targets=["/checkout/prod/flags/new-pricing"],
        before={"value": "off"},
        after={"value": "on"},
        blast_radius=1.0,
        summary="new-pricing off→on",
    )
    text = approval_markdown(
        incident_id="INC-1",
        flow_run_id="run",
        plan=plan,
        decision=Decision(tier=Tier.APPROVAL, rule="r", reason="r", guardrails=[]),
        evidence=[],
        deadline=datetime(2026, 12, 1, 3, 15, tzinfo=UTC),
        needed=2,
        have=[HOSTILE],
        identity=Identity.DECLARED,
    )
    assert not _live(text, "[click me]") and not _live(text, "<img")
