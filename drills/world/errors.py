"""The one error of world seeding: the catalog asks for something the sandbox cannot build."""

from __future__ import annotations


class WorldError(ValueError):
    """A catalog field the sandbox cannot build; the message starts with the field's path."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")
