"""Feature flags in SSM Parameter Store: one String parameter per flag, value ``on`` or ``off``.

Parameter Store keeps every version, and each write records the plan hash in the parameter's
description, so ``get_parameter_history`` is an audit trail of its own. Any value other than
``on``/``off`` is refused rather than guessed at.
"""

from __future__ import annotations

from tasks.aws import AwsTarget, client, request_id
from tasks.catalog import FlagStore
from tasks.plan import ActionError, JsonDict, Plan
from tasks.steps import aws_call

IAM_ACTIONS = ("ssm:GetParameter", "ssm:PutParameter")
VALUES = {"on": True, "off": False}


class FlagValueError(ActionError):
    """A flag holds a value that is neither ``on`` nor ``off``."""


class SsmFlag:
    """Reads and writes an ``on``/``off`` parameter."""

    def locate(self, store: FlagStore, flag: str) -> tuple[JsonDict, str]:
        name = store.flags[flag]
        return {"flag": flag, "parameter": name}, f"ssm:{store.region}:parameter{name}"

    def read(self, kind: str, aws: AwsTarget, params: JsonDict) -> JsonDict:
        name = params["parameter"]
        value = aws_call(kind, name, client("ssm", aws), "get_parameter", Name=name)["Parameter"]["Value"]
        if value not in VALUES:
            raise FlagValueError(f"{kind} on {name}: value {value!r} is neither 'on' nor 'off'")
        return {"enabled": VALUES[value]}

    def write(self, plan: Plan) -> list[str]:
        name = plan.params["parameter"]
        response = aws_call(
            plan.kind,
            name,
            client("ssm", plan.aws),
            "put_parameter",
            Name=name,
            Value="on" if plan.after["enabled"] else "off",
            Type="String",
            Description=f"firebreak plan {plan.hash}",
            Overwrite=True,
        )
        return [request_id(response)]
