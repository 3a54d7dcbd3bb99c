"""How an action touches AWS: one guarded call at a time, and several steps all-or-nothing.

Every action store uses :func:`aws_call`, so a permanent AWS error (AccessDenied, validation,
not found) always surfaces the same way: an :class:`ActionFailedError` naming the action kind,
the resource, the operation and the AWS error code. Retryable errors are retried by
:func:`tasks.aws.call` first.

A change that takes several AWS calls (one per region, or "create version, then deploy") runs
through :func:`run_steps`: if step *n* fails, steps *n-1..1* are undone in reverse order and a
:class:`~tasks.plan.PartialApplyError` lists what was undone, so nothing stays half-applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from tasks.aws import AwsTarget, UnconfirmedWriteError, call, error_code
from tasks.plan import ActionError, JsonDict, PartialApplyError, Plan


class ActionFailedError(ActionError):
    """AWS refused a call for good (or kept throttling): nothing was changed by that call."""

    def __init__(self, *, kind: str, resource: str, operation: str, code: str, detail: str) -> None:
        super().__init__(f"{kind} on {resource}: {operation} failed with {code}: {detail}")
        self.kind = kind
        self.resource = resource
        self.operation = operation
        self.code = code


class UnconfirmedActionError(ActionFailedError):
    """A write was sent and not answered: whether it applied is known only by reading back."""


class StateStore(Protocol):
    """Reads and writes the live state one family of action kinds changes.

    ``read`` returns state in exactly the shape of ``Plan.before`` / ``Plan.after`` (``kind``
    only names the action in errors); ``write`` sets ``plan.after`` (the caller has checked that
    live state equals ``plan.before``) and returns the AWS request ids. Identifiers come from
    ``plan.params``, never from the catalog, so an approved plan is self-contained.
    """

    def read(self, kind: str, aws: AwsTarget, params: JsonDict) -> JsonDict: ...

    def write(self, plan: Plan) -> list[str]: ...


def aws_call(kind: str, resource: str, aws_client: Any, operation: str, **kwargs: Any) -> JsonDict:
    """``tasks.aws.call`` that turns a failed call into an :class:`ActionFailedError`.

    A write that got no answer becomes :class:`UnconfirmedActionError`; connection failures
    that outlasted the retries are reported like AWS errors, with the exception's name as code.

    Example: ``aws_call("flags.disable.ssm", "/flags/x", ssm, "put_parameter", Name=..., ...)``.
    """
    where = {"kind": kind, "resource": resource, "operation": operation}
    try:
        return call(aws_client, operation, **kwargs)
    except ClientError as e:
        message = str(e.response.get("Error", {}).get("Message", e))
        raise ActionFailedError(**where, code=error_code(e) or "UnknownError", detail=message) from e
    except UnconfirmedWriteError as e:
        raise UnconfirmedActionError(**where, code="NoAnswer", detail=str(e)) from e
    except BotoCoreError as e:
        raise ActionFailedError(**where, code=type(e).__name__, detail=str(e)) from e


@dataclass(frozen=True)
class Step:
    """One AWS change of a multi-step action and how to take it back.

    ``do`` returns the request id; ``undo`` is None when the step cannot or need not be undone
    (it is then reported as not undone).
    """

    name: str
    do: Callable[[], str]
    undo: Callable[[], object] | None


def run_steps(kind: str, steps: Sequence[Step]) -> list[str]:
    """Run ``steps`` in order; on a failure undo the completed ones and raise PartialApplyError.

    A failure of the very first step re-raises that step's error unchanged: nothing was done.
    A step whose write went unanswered counts as done (its undo sets an absolute state, harmless
    if it never applied) and the rest still run; its UnconfirmedActionError is raised at the end
    so that the caller reads back whether the whole change is live.
    """
    done: list[Step] = []
    ids: list[str] = []
    unconfirmed: list[UnconfirmedActionError] = []
    for step in steps:
        try:
            ids.append(step.do())
        except UnconfirmedActionError as e:
            unconfirmed.append(e)
        # Any failure (even one we did not foresee) must trigger the undo of earlier steps.
        except Exception as e:
            if not done:
                raise
            raise _undo(kind, step, done, e) from e
        done.append(step)
    if unconfirmed:
        raise unconfirmed[0]
    return ids


def _undo(kind: str, failed: Step, done: list[Step], cause: Exception) -> PartialApplyError:
    undone: list[str] = []
    stuck: list[str] = []
    for step in reversed(done):
        if step.undo is None:
            stuck.append(f"{step.name} (cannot be undone)")
            continue
        try:
            step.undo()
        except Exception as e:  # noqa: BLE001 - keep undoing the others; report this one
            stuck.append(f"{step.name} ({e})")
        else:
            undone.append(step.name)
    message = f"{kind}: step {failed.name!r} failed ({cause}); undone: {undone or 'nothing'}"
    if stuck:
        message += f"; NOT undone, needs a human: {stuck}"
    return PartialApplyError(message, undone=undone)
