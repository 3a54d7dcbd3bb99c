"""``firebreak policy suggest``: a policy diff earned (or lost) by past outcomes, with evidence.

The logic is flows.suggest (pure); this module reads the history, prints and never writes a
policy: a person reviews the diff and opens the pull request (which ``firebreak replay`` then
checks against every past incident).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from firebreak.commands.history_source import (
    DEFAULT_DIR,
    BucketOption,
    DirOption,
    JsonOption,
    RegionOption,
    SinceOption,
    read_reports,
    since,
    stores,
)

if TYPE_CHECKING:
    from flows.suggest import Suggestions


def suggest(
    directory: DirOption = DEFAULT_DIR,
    bucket: BucketOption = None,
    region: RegionOption = "us-east-1",
    since_date: SinceOption = None,
    min_approved: Annotated[
        int, typer.Option(min=1, help="Suggest automating a kind approved and verified at least this often.")
    ] = 3,
    max_wait: Annotated[
        float,
        typer.Option(
            min=0, help="... and only when every approval of those incidents took at most this many seconds."
        ),
    ] = 300.0,
    min_failures: Annotated[
        int, typer.Option(min=1, help="Suggest approval for an automated kind that failed this often.")
    ] = 1,
    min_alarm_incidents: Annotated[
        int, typer.Option(min=1, help="Judge an alarm's precision from this many incidents on.")
    ] = 3,
    min_precision: Annotated[
        float, typer.Option(min=0, max=1, help="Suggest review for alarms confirmed less often than this.")
    ] = 0.5,
    as_json: JsonOption = False,
) -> None:
    """Print a policy diff earned by production outcomes, with the incidents behind each line:
    automate what people approved quickly every time and that then verified; require approval
    for automated kinds that failed; review alarms mostly not confirmed. Drill records never
    count. Nothing is written: review the diff, then replay it (`firebreak replay`)."""
    from flows.suggest import Thresholds
    from flows.suggest import suggest as make_suggestions

    thresholds = Thresholds(
        min_approved=min_approved, max_wait_s=max_wait, min_failures=min_failures,
        min_alarm_incidents=min_alarm_incidents, min_precision=min_precision,
    )  # fmt: skip
    after = since(since_date)
    places = stores(directory, bucket, region)
    found = make_suggestions([r for s in places for r in read_reports(s, after)], thresholds)
    if as_json:
        typer.echo(
            json.dumps({"thresholds": thresholds.model_dump(), **found.model_dump(mode="json")}, indent=2)
        )
        return
    typer.echo(_text(found, ", ".join(s.where for s in places)))


def _text(found: Suggestions, where: str) -> str:
    drills = f" ({found.drills_ignored} drill record(s) not counted)" if found.drills_ignored else ""
    if not found.counted:
        return f"no production incidents in {where}{drills}: nothing to suggest"
    head = f"{found.counted} production incident(s) in {where}{drills}"
    if not found.suggestions:
        return f"{head}: no change suggested"
    lines = [f"{head}: {len(found.suggestions)} suggestion(s)"]
    for s in found.suggestions:
        lines += ["", f"## {s.kind.value}: {s.subject}", *s.diff, *(f"#   evidence: {e}" for e in s.evidence)]
    return "\n".join(lines)
