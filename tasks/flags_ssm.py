"""Feature flags in SSM Parameter Store: one String parameter per flag.

A flag is on when its parameter holds the catalog's ``on_values`` entry for it (default ``on``)
and off when it holds ``off``; the on value travels in the plan's params, so an approved plan
reads the flag as it was planned. Any other value is refused rather than guessed at.

Parameter Store keeps every version, and each write records the plan hash in the parameter's
description, so ``get_parameter_history`` is an audit trail of its own.
"""

from __future__ import annotations

from tasks.aws import AwsTarget, client, request_id
from tasks.catalog import FlagStore
from tasks.plan import ActionError, JsonDict, Plan
from tasks.steps import aws_call

IAM_ACTIONS = ("ssm:GetParameter", "ssm:PutParameter")
DEFAULT_ON = "on"
OFF = "off"


class FlagValueError(ActionError):
    """A flag holds a value that is neither its on value nor ``off``."""


class SsmFlag:
    """Reads and writes a parameter holding the flag's on value or ``off``."""

    def locate(self, store: FlagStore, flag: str) -> tuple[JsonDict, str]:
        name = store.flags[flag]
        params = {"flag": flag, "parameter": name, "on_value": store.on_value(flag)}
        return params, f"ssm:{store.region}:parameter{name}"

    def read(self, kind: str, aws: AwsTarget, params: JsonDict) -> JsonDict:
        name = params["parameter"]
        on = _on_value(params)
        value = aws_call(kind, name, client("ssm", aws), "get_parameter", Name=name)["Parameter"]["Value"]
        if value not in (on, OFF):
            raise FlagValueError(f"{kind} on {name}: value {value!r} is neither {on!r} nor {OFF!r}")
        return {"enabled": value == on}

    def write(self, plan: Plan) -> list[str]:
        name = plan.params["parameter"]
        response = aws_call(
            plan.kind,
            name,
            client("ssm", plan.aws),
            "put_parameter",
            Name=name,
            Value=_on_value(plan.params) if plan.after["enabled"] else OFF,
            Type="String",
            Description=f"firebreak plan {plan.hash}",
            Overwrite=True,
        )
        return [request_id(response)]


def _on_value(params: JsonDict) -> str:
    """Plans made before ``on_values`` existed carry none: their flags use ``on``."""
    return str(params.get("on_value", DEFAULT_ON))
