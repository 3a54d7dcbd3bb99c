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

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from botocore.exceptions import BotoCoreError, ClientError

from tasks.aws import AwsTarget, UnconfirmedWriteError, call, error_code, is_read_only
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


class WriteRefusedError(ActionError):
    """The write guard refused a write just before it was sent (kill switch, shadow mode).

    Nothing of this call reached AWS. In a multi-step change the steps before it stay applied
    (a safety lever stops, it does not undo); ``done`` and ``not_done`` name the steps.
    """

    def __init__(self, message: str, *, done: list[str] | None = None, not_done: list[str] | None = None):
        super().__init__(message)
        self.reason = message
        self.done = done or []
        self.not_done = not_done or []


WriteGuard = Callable[[], str | None]
"""Returns None to allow the next write, or the reason to refuse it."""

_GUARD: ContextVar[WriteGuard | None] = ContextVar("firebreak_write_guard", default=None)


@contextmanager
def write_guard(guard: WriteGuard) -> Iterator[None]:
    """Consult ``guard`` immediately before every mutating AWS call an action makes in the block.

    The flows install the kill switch (and shadow mode) here, so it is the last thing read
    before each write, including between the regions of one change and in undo paths.
    """
    token = _GUARD.set(guard)
    try:
        yield
    finally:
        _GUARD.reset(token)


def _check_guard(kind: str, resource: str, operation: str) -> None:
    guard = _GUARD.get()
    reason = guard() if guard is not None else None
    if reason is not None:
        raise WriteRefusedError(f"{kind} on {resource}: {operation} not sent: {reason}")


class StateStore(Protocol):
    """Reads and writes the live state one family of action kinds changes.

    ``read`` returns state in exactly the shape of ``Plan.before`` / ``Plan.after`` (``kind``
    only names the action in errors); ``write`` sets ``plan.after`` (the caller has checked that
    live state equals ``plan.before``) and returns the AWS request ids. Identifiers come from
    ``plan.params``, never from the catalog, so an approved plan is self-contained.
    """

    def read(self, kind: str, aws: AwsTarget, params: JsonDict) -> JsonDict: ...

    def write(self, plan: Plan) -> list[str]: ...


@runtime_checkable
class ServingStore(StateStore, Protocol):
    """A store whose state can be right while what it asks for does not run yet (capacity:
    the desired count is set, the tasks are still starting). ``serving`` reads that back, and
    verify requires it beside ``after`` being live; it stays out of the state so that a task
    crashing during a spike is not read as drift."""

    def serving(self, plan: Plan) -> bool: ...


def aws_call(kind: str, resource: str, aws_client: Any, operation: str, **kwargs: Any) -> JsonDict:
    """``tasks.aws.call`` that turns a failed call into an :class:`ActionFailedError`.

    A write answered with a 5xx or not at all becomes :class:`UnconfirmedActionError`; connection failures
    that outlasted the retries are reported like AWS errors, with the exception's name as code.

    Example: ``aws_call("flags.disable.ssm", "/flags/x", ssm, "put_parameter", Name=..., ...)``.
    """
    where = {"kind": kind, "resource": resource, "operation": operation}
    if not is_read_only(operation):
        _check_guard(kind, resource, operation)
    try:
        return call(aws_client, operation, **kwargs)
    except ClientError as e:
        message = str(e.response.get("Error", {}).get("Message", e))
        raise ActionFailedError(**where, code=error_code(e) or "UnknownError", detail=message) from e
    except UnconfirmedWriteError as e:
        code = error_code(e.__cause__) if e.__cause__ is not None else None
        raise UnconfirmedActionError(**where, code=code or "NoAnswer", detail=str(e)) from e
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
    A write refused by the guard (kill switch) undoes nothing: it raises WriteRefusedError
    naming the steps done and not done. A step whose write went unanswered counts as done (its
    undo sets an absolute state, harmless if it never applied) and the rest still run; its
    UnconfirmedActionError is raised at the end so that the caller reads back whether the whole
    change is live.
    """
    done: list[Step] = []
    ids: list[str] = []
    unconfirmed: list[UnconfirmedActionError] = []
    for i, step in enumerate(steps):
        try:
            ids.append(step.do())
        except UnconfirmedActionError as e:
            unconfirmed.append(e)
        except WriteRefusedError as e:
            done_names = [s.name for s in done]
            raise WriteRefusedError(
                f"{e.reason}; applied: {done_names or 'nothing'}; not applied: {[s.name for s in steps[i:]]}",
                done=done_names,
                not_done=[s.name for s in steps[i:]],
            ) from e
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
