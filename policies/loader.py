"""Loading policy files: YAML in, a validated :class:`Policy` out, or a precise error.

A broken policy must fail loudly, before an incident, and never fall back to something
permissive. :func:`load_policy` raises :class:`PolicyError` with one line per problem, naming
file, field path and what is wrong::

    policies/prod.yaml: rules[3].tier: 'automatic' is not one of automated, approval, human_only, denied

:func:`load_policy_or_deny` is for running flows: instead of raising it returns
``Policy.deny_all(message)``, which denies every mutating action with that message as the reason
(reading, internal updates, pages and escalation to a human stay allowed).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from policies.errors import PolicyError
from policies.policy import Policy
from policies.selectors import NAME, SELECTOR_GLOB


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def format_loc(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic error location the way a YAML reader thinks of it: ``rules[3].tier``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            out += " (key)"
        else:
            out += f".{part}" if out else part
    return out


_PATTERNS = {
    SELECTOR_GLOB: "a glob (letters, digits, '.', '_', '-', '*', '?')",
    NAME: "a name (letters, digits, '.', '_', '-', '@'; starting with a letter or digit)",
}


def _short(value: object) -> str:
    text = value.isoformat() if isinstance(value, datetime) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(error: ErrorDetails) -> str:
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if kind in ("enum", "literal_error"):
        options = [o.strip("'") for o in re.split(r", | or ", str(ctx.get("expected", "")))]
        return f"{_short(value)} is not one of {', '.join(options)}"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERNS:
        return f"{_short(value)} is not {_PATTERNS[ctx['pattern']]}"
    message = str(error["msg"])
    return f"{message[0].lower()}{message[1:]} (got {_short(value)})"


def problems_of(error: ValidationError, source: str) -> list[str]:
    """One ``file: field.path: what is wrong`` line per validation error."""
    lines = []
    for detail in error.errors():
        where = format_loc(detail["loc"])
        lines.append(f"{source}: {where}: {_describe(detail)}" if where else f"{source}: {_describe(detail)}")
    return lines


def parse_policy(text: str, *, source: str) -> Policy:
    """Validate policy YAML text; ``source`` names the file in error messages."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # safe: _StrictLoader is a SafeLoader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        raise PolicyError(source, [f"{where}: invalid YAML: {getattr(e, 'problem', None) or e}"]) from e
    if not isinstance(data, dict):
        found = type(data).__name__
        raise PolicyError(source, [f"{source}: expected a mapping at the top level, got {found}"])
    try:
        return Policy.model_validate(data)
    except ValidationError as e:
        raise PolicyError(source, problems_of(e, source)) from e


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file; raises :class:`PolicyError` saying exactly what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyError(str(path), [f"{path}: cannot read: {e.strerror or e}"]) from e
    except UnicodeDecodeError as e:
        raise PolicyError(str(path), [f"{path}: not UTF-8 text (byte {e.start})"]) from e
    return parse_policy(text, source=str(path))


def load_policy_or_deny(path: Path) -> tuple[Policy, str | None]:
    """Like :func:`load_policy`, but an invalid file yields a deny-all policy and the error text.

    >>> policy, error = load_policy_or_deny(Path("broken.yaml"))  # error is None when valid
    """
    try:
        return load_policy(path), None
    except PolicyError as e:
        return Policy.deny_all(f"invalid policy: {e}"), str(e)


@cache
def default_policy() -> Policy:
    """The policy shipped with Firebreak (``policies/default.yaml``), loaded once."""
    resource = files("policies").joinpath("default.yaml")
    return parse_policy(resource.read_text(encoding="utf-8"), source="policies/default.yaml")
