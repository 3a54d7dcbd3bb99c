"""The policy a drill runs under: the shipped default, with the scenario's changes on top.

A scenario's ``policy:`` is either a mapping deep-merged onto ``policies/default.yaml`` (mappings
merge key by key, anything else, lists included, replaces), or the path of a policy file used
as it is. ``timing.approval_timeout_seconds`` then overrides every approval rule's timeout.
The result is validated as a :class:`policies.Policy` before the drill starts, so a mistake is
reported with the scenario file and the field, and written into the drill's output directory.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from policies import Policy
from policies.loader import problems_of


class DrillPolicyError(ValueError):
    """The scenario's policy is unreadable or invalid; the message names the file and field."""


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` on top: nested mappings merge, every other value replaces. Pure.

    >>> deep_merge({"a": {"b": 1, "c": [1]}}, {"a": {"c": [2]}, "d": 3})
    {'a': {'b': 1, 'c': [2]}, 'd': 3}
    """
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def with_approval_timeout(policy: dict[str, Any], seconds: int) -> dict[str, Any]:
    """``policy`` with every approval rule's ``timeout_seconds`` set to ``seconds``. Pure."""
    rules = [{**rule, "timeout_seconds": seconds} for rule in policy.get("approvals") or []]
    return {**policy, "approvals": rules}


def default_policy_data() -> dict[str, Any]:
    """``policies/default.yaml`` as plain YAML data (not a model, so it can be merged)."""
    data: dict[str, Any] = yaml.safe_load(files("policies").joinpath("default.yaml").read_text("utf-8"))
    return data


def drill_policy_data(
    policy: dict[str, Any] | str | None, *, approval_timeout_seconds: int | None, source: str
) -> dict[str, Any]:
    """The validated policy data of a scenario; ``source`` names the scenario file in errors.

    ``policy`` is the scenario's field: None (the default policy), a mapping to merge onto it,
    or a policy file path (already resolved against the scenario file's directory).
    """
    if isinstance(policy, str):
        data = _read_policy_file(Path(policy), source)
    else:
        data = deep_merge(default_policy_data(), policy or {})
    if approval_timeout_seconds is not None:
        data = with_approval_timeout(data, approval_timeout_seconds)
    try:
        Policy.model_validate(data)
    except ValidationError as e:
        where = f"{source}: policy" if not isinstance(policy, str) else f"{source}: policy ({policy})"
        raise DrillPolicyError("; ".join(problems_of(e, where))) from e
    return data


def write_drill_policy(data: dict[str, Any], path: Path) -> Path:
    """Write the drill's policy where its flows read it (RunSettings.policy_path)."""
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _read_policy_file(path: Path, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except OSError as e:
        raise DrillPolicyError(f"{source}: policy: cannot read {path}: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise DrillPolicyError(f"{source}: policy: {path} is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise DrillPolicyError(f"{source}: policy: {path} must hold a mapping")
    return data


def with_slack_people(policy: dict[str, Any], slack_ids: dict[str, str], attestor: str) -> dict[str, Any]:
    """``policy`` data where each person has their drill ``slack_id`` (kept with their other
    fields) and the drill receiver's public key is an attestor. Pure.

    >>> with_slack_people({"people": {"alice": {"public_key": "k"}}}, {"alice": "U0ALICE"}, "ed25519:a")
    {'people': {'alice': {'public_key': 'k', 'slack_id': 'U0ALICE'}}, 'attestors': ['ed25519:a']}
    """
    people = dict(policy.get("people") or {})
    for name, slack_id in slack_ids.items():
        people[name] = {**(people.get(name) or {}), "slack_id": slack_id}
    return {**policy, "people": people, "attestors": [*(policy.get("attestors") or []), attestor]}
