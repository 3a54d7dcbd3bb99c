"""The one exception the policy package raises: a policy file that cannot be trusted."""

from __future__ import annotations


class PolicyError(ValueError):
    """A policy file is missing, unreadable or invalid.

    ``problems`` holds one line per problem, each already prefixed with the file, so the
    message can be shown as is: ``policies/prod.yaml: rules[3].tier: 'automatic' is not one of
    automated, approval, human_only, denied``.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(problems))
