"""Where a plan acts, as the catalog says: its targets and the params that locate its resources.

Each action module that ``recover`` undoes builds its plans' ``targets`` and resource-locating
``params`` with a ``locate`` function from the catalog alone (no AWS call), so a recorded plan
can be checked against the catalog before it is acted on (flows.recorded_plans).
"""

from __future__ import annotations

from dataclasses import dataclass

from tasks.plan import JsonDict, Plan


@dataclass(frozen=True)
class Location:
    """The catalog's ``targets`` and locating ``params`` for one kind in one region.

    ``state_keys``: for kinds whose state is keyed by resource (the ALB's target groups, the
    Route 53 record's regions), the keys a plan's ``before`` and ``after`` may use; None when the
    state names no resource.
    """

    targets: list[str]
    params: JsonDict
    state_keys: frozenset[str] | None = None

    def mismatch(self, plan: Plan) -> str | None:
        """What ``plan`` names that this location does not, or None when it names only it."""
        if plan.targets != self.targets:
            return f"targets {plan.targets}, the catalog's are {self.targets}"
        differ = sorted(k for k, v in self.params.items() if plan.params.get(k) != v)
        if differ:
            shown = ", ".join(f"{k}={plan.params.get(k)!r} (catalog {self.params[k]!r})" for k in differ)
            return f"params {shown}"
        if self.state_keys is not None:
            stray = sorted((set(plan.before) | set(plan.after)) - self.state_keys)
            if stray:
                return f"state keys {stray}, the catalog's are {sorted(self.state_keys)}"
        return None
