"""``firebreak policy``: check a policy file, and explain what it decides for an action.

Both commands exist so that a policy is tested before an incident: ``check`` in CI or a
pre-commit hook, ``explain`` to answer "what would Firebreak do if ..." without running a flow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from firebreak.commands.policy_suggest import suggest
from policies import (
    ActionRequest,
    ApprovalRule,
    DecisionContext,
    Explanation,
    Policy,
    PolicyError,
    Severity,
    default_policy,
    explain,
    load_policy,
)
from policies.approvals import Identity
from policies.production import declared_in_production

INVALID = 2
_PASSED, _FAILED = "[green]passed[/green]", "[bold red]FAILED[/bold red]"
_COUNT_HELP = "Actions already taken in the limit's window, as KEY=N, e.g. rollback-per-service:checkout=3."
_NOW_HELP = "Decide as of this ISO 8601 time with a UTC offset (default: now)."
_TIER_STYLE = {"automated": "green", "approval": "yellow", "human_only": "cyan", "denied": "bold red"}

policy_app = typer.Typer(
    name="policy",
    help="Validate policy files and explain the decisions they make.",
    no_args_is_help=True,
)


def _load(path: Path | None) -> Policy:
    """The policy at ``path`` (or the shipped default); exit 2 with the precise error if invalid."""
    try:
        return default_policy() if path is None else load_policy(path)
    except PolicyError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(INVALID) from e


@policy_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="Policy YAML file to validate.")],
) -> None:
    """Validate FILE: exit 0 if valid, 2 with one `file: field.path: problem` line per error.

    Warnings (exit 0): verified rules whose approvers cannot prove who they are, declared
    rules that let production change on a name typed into a form, and no record_signers."""
    policy = _load(file)
    typer.echo(
        f"{file}: valid policy {policy.name!r}: {len(policy.rules)} rules, {len(policy.approvals)} "
        f"approval rules, {len(policy.rate_limits)} rate limits, "
        f"{len(policy.guardrails.freeze_windows)} freeze windows, {len(policy.people)} people with "
        "identities"
    )
    for gap in [*policy.identity_gaps(), *declared_in_production(policy), *_record_gaps(policy)]:
        typer.echo(f"{file}: warning: {gap}", err=True)


def _record_gaps(policy: Policy) -> list[str]:
    if policy.record_signers:
        return []
    return [
        "record_signers is empty: no worker host's signature anchors incident records, so recover "
        "refuses them and own changes and the ranking ignore them (docs/operations.md)"
    ]


@policy_app.command("keygen")
def keygen(
    name: Annotated[str, typer.Argument(help="The approver, as the policy names them.")],
    out: Annotated[
        Path, typer.Option(help="A new file for the private key (PEM, 0600); never an existing file or link.")
    ],
) -> None:
    """Make an approver's signing key: the private key goes to OUT (for `approve --key`), the
    public key is printed as the policy's `people:` entry."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from flows.identity import IdentityError, public_key_text, write_private_key

    key = Ed25519PrivateKey.generate()
    try:
        write_private_key(out, key)  # creates OUT itself: never an existing file or a link
    except IdentityError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(INVALID) from e
    typer.echo(f"people:\n  {name}: {{public_key: \"{public_key_text(key.public_key())}\"}}")


def _counts(pairs: list[str]) -> dict[str, int]:
    counts = {}
    for pair in pairs:
        key, sep, value = pair.rpartition("=")
        if not sep or not key or not value.isdigit():
            raise typer.BadParameter(f"{pair!r} is not KEY=N", param_hint="--count")
        counts[key] = int(value)
    return counts


def _moment(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as e:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 date-time", param_hint="--now") from e
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no UTC offset (add e.g. +00:00)", param_hint="--now")
    return moment


def _print(explanation: Explanation, console: Console) -> None:
    decision, rules_say = explanation.decision, explanation.rules_say
    style = _TIER_STYLE[decision.tier]
    console.print(f"Tier:   [{style}]{decision.tier}[/{style}]   (policy {explanation.policy!r})")
    console.print(f"Rule:   {decision.rule}")
    console.print(f"Reason: {decision.reason}")
    if rules_say.rule != decision.rule:
        console.print(f"Rules alone: {rules_say.tier} by {rules_say.rule} ({rules_say.reason})")
    table = Table(title="Guardrails (any failure denies)", show_lines=False)
    for column in ("guardrail", "result", "detail"):
        table.add_column(column)
    for g in decision.guardrails:
        table.add_row(g.name, _PASSED if g.passed else _FAILED, g.detail)
    console.print(table)
    rule = explanation.approval
    if rule is None:
        console.print("Approval: not required")
        return
    who = "anyone" if explanation.approvers is None else ", ".join(explanation.approvers)
    label = "Approval rule" if decision.approval is not None else "Approval rule (if not denied)"
    console.print(
        f"{label} {rule.name!r}: {rule.min_approvers} distinct approver(s) from: {who}; "
        f"requester may approve: {'yes' if rule.requester_may_approve else 'no'}; "
        f"timeout {rule.timeout_seconds}s, then {rule.on_timeout}; identity: {_identity(rule)}"
    )


def _identity(rule: ApprovalRule) -> str:
    if rule.identity is Identity.VERIFIED:
        return "verified (a signed CLI answer, `approve --key`, or a Slack click; a typed name is refused)"
    return "declared (a name typed in the UI or the CLI counts)"


@policy_app.command(
    "explain",
    epilog="Example: firebreak policy explain --action rollback.ecs --service checkout --env prod "
    "--severity SEV-2 --blast-radius 0.3 --count rollback-per-service:checkout=3",
)
def explain_command(
    action: Annotated[str, typer.Option(help="Action kind, e.g. rollback.ecs.")],
    service: Annotated[str, typer.Option(help="Service the action touches, e.g. checkout.")],
    env: Annotated[str, typer.Option(help="Environment, e.g. prod.")],
    severity: Annotated[Severity, typer.Option(help="Incident severity.")],
    blast_radius: Annotated[float, typer.Option(help="Share of traffic/capacity touched, 0..1.")] = 0.0,
    targets: Annotated[
        str | None, typer.Option(help="Comma-separated target resources (default: the service name).")
    ] = None,
    kill_switch: Annotated[bool, typer.Option("--kill-switch", help="As if the kill switch is on.")] = False,
    unverified: Annotated[bool, typer.Option("--unverified", help="As if the plan is unverified.")] = False,
    capacity_factor: Annotated[
        float | None, typer.Option(help="A scale-out's capacity after / before, e.g. 2 for doubling.")
    ] = None,
    count: Annotated[list[str] | None, typer.Option(help=_COUNT_HELP)] = None,
    now: Annotated[str | None, typer.Option(help=_NOW_HELP)] = None,
    requester: Annotated[str | None, typer.Option(help="Who asks.")] = None,
    policy_file: Annotated[
        Path | None, typer.Option("--policy", help="Policy YAML (default: the shipped policy).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the explanation as JSON.")] = False,
) -> None:
    """Show the tier an action gets, the rule behind it, every guardrail and who may approve."""
    policy = _load(policy_file)
    try:
        request = ActionRequest(
            kind=action,
            service=service,
            environment=env,
            blast_radius=blast_radius,
            targets=[service] if targets is None else [t.strip() for t in targets.split(",")],
            verified=not unverified,
            capacity_factor=capacity_factor,
        )
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    context = DecisionContext(
        severity=severity,
        now=_moment(now),
        kill_switch=kill_switch,
        action_counts=_counts(count or []),
        requester=requester,
    )
    explanation = explain(request, context, policy)
    if as_json:
        typer.echo(explanation.model_dump_json(indent=2))
    else:
        _print(explanation, Console())


policy_app.command("suggest")(suggest)


def register(app: typer.Typer) -> None:
    """Add ``firebreak policy ...`` to the top-level app."""
    app.add_typer(policy_app)
