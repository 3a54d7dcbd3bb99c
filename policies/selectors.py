"""Which actions a policy entry applies to: glob patterns over kind, service and environment.

Rules, approval rules, rate limits and freeze windows all select actions the same way, so they
share :class:`Selector`. Globs are shell-style (``rollback.*``, ``traffic.shift.?lb``) and
case-sensitive; ``*`` also crosses dots, so ``flags.*`` covers ``flags.disable.ssm``.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from policies.request import ActionRequest

SELECTOR_GLOB = r"^[A-Za-z0-9_.*?-]+$"
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$"

Glob = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=SELECTOR_GLOB),
    Field(description="Shell-style pattern: letters, digits, '.', '_', '-', '*' and '?'."),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=NAME),
    Field(description="An identifier: a rule, group or person name."),
]


def matches_any(patterns: list[str], value: str) -> bool:
    """True when ``value`` matches at least one glob of ``patterns``."""
    return any(fnmatchcase(value, pattern) for pattern in patterns)


class Selector(BaseModel):
    """The actions a policy entry applies to; every field defaults to everything."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actions: list[Glob] = Field(default=["*"], min_length=1, description="Action kind globs.")
    services: list[Glob] = Field(default=["*"], min_length=1, description="Service globs.")
    environments: list[Glob] = Field(default=["*"], min_length=1, description="Environment globs.")

    def selects(self, request: ActionRequest) -> bool:
        """True when the request's kind, service and environment all match."""
        return (
            matches_any(self.actions, request.kind)
            and matches_any(self.services, request.service)
            and matches_any(self.environments, request.environment)
        )
