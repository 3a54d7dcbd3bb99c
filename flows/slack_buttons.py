"""What the Approve / Reject buttons carry: their action ids and their value.

Kept apart from the message builder (flows/slack_message.py) so the receiver and the flow can
read a click without importing slack_sdk, which costs every flow start about 0.2 s.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class SlackAction(StrEnum):
    """The ``action_id`` of each button: what the click means."""

    APPROVE = "firebreak-approve"
    REJECT = "firebreak-reject"


class ButtonValue(BaseModel):
    """What a button carries back to the receiver (Slack returns it verbatim, signed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    flow_run_id: str = Field(description="The paused incident run.")
    plan_hash: str = Field(description="The plan the message shows.")
    rule: str = Field(description="The approval rule that asked (its name in the policy).")
