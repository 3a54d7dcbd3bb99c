"""Fault injection and moto gap-filling for tests, through botocore's ``before-call`` event.

A handler returning ``(http_response, parsed)`` short-circuits the call before it is sent, so an
injected fault never reaches moto (state is untouched) and botocore's own retries never run:
one injected error is exactly one failed attempt, which keeps tenacity tests deterministic.

    with inject_faults(ssm, "ssm.PutParameter", [THROTTLE, THROTTLE]) as faults:
        ...                      # the third PutParameter reaches moto
    assert faults.calls == 3

    canned(appconfig, "appconfig.StartDeployment", lambda params: {...})   # moto lacks it

Timeouts come in the two shapes that matter: ``CONNECT_TIMEOUT`` is raised before the request
is sent (it certainly did not apply), while :func:`lose_answers` lets the request reach moto and
then raises a read timeout, as when AWS applied a write but the answer never arrived.

``operation`` is ``"<service>.<Operation>"``; the service part may be boto3's name (``elbv2``,
``route53``): it is translated to botocore's event name for the client's service.
"""

from __future__ import annotations

import contextlib
import itertools
import ssl
from collections.abc import Callable, Iterator
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError, SSLError

Fault = tuple[str, int, str] | Exception
INJECTED_URL = "https://fault.injected"
Response = dict[str, Any]

THROTTLE: Fault = ("ThrottlingException", 400, "Rate exceeded")
UNAVAILABLE: Fault = ("ServiceUnavailable", 503, "Service is unavailable")
INTERNAL: Fault = ("InternalFailure", 500, "Internal failure")
ACCESS_DENIED: Fault = ("AccessDenied", 403, "User is not authorized to perform this operation")
CONNECT_TIMEOUT: Fault = ConnectTimeoutError(endpoint_url=INJECTED_URL)

_ids = itertools.count()


class FaultPlan:
    """Counts calls to one operation and answers the first ones with the queued faults."""

    def __init__(self, faults: list[Fault]) -> None:
        self.faults = list(faults)
        self.injected = 0
        self.calls = 0

    def __call__(self, **kwargs: Any) -> tuple[AWSResponse, Response] | None:
        self.calls += 1
        if not self.faults:
            return None  # fall through to moto
        fault = self.faults.pop(0)
        self.injected += 1
        if isinstance(fault, Exception):
            raise fault
        code, status, message = fault
        return _response(status, {"Error": {"Code": code, "Message": message}})


@contextlib.contextmanager
def inject_faults(aws_client: Any, operation: str, faults: list[Fault]) -> Iterator[FaultPlan]:
    """Answer the next ``len(faults)`` calls of ``operation`` on ``aws_client`` with ``faults``."""
    plan = FaultPlan(faults)
    with _registered(aws_client, operation, plan):
        yield plan


@contextlib.contextmanager
def lose_answers(aws_client: Any, operation: str, count: int = 1) -> Iterator[FaultPlan]:
    """Let the next ``count`` calls of ``operation`` reach moto, then raise a read timeout.

    The call's effect is real (moto applied it); only the answer is lost.
    """
    with _after_applying(
        aws_client, operation, count, lambda _op: ReadTimeoutError(endpoint_url=INJECTED_URL)
    ) as plan:
        yield plan


@contextlib.contextmanager
def break_tls_after_applying(aws_client: Any, operation: str, count: int = 1) -> Iterator[FaultPlan]:
    """Let the next ``count`` calls of ``operation`` reach moto, then raise botocore's SSLError,
    as when the TLS session breaks while the answer is read (urllib3 maps that to SSLError too)."""
    broken = SSLError(endpoint_url=INJECTED_URL, error=ssl.SSLError("bad record mac"))
    with _after_applying(aws_client, operation, count, lambda _op: broken) as plan:
        yield plan


@contextlib.contextmanager
def fail_after_applying(aws_client: Any, operation: str, count: int = 1) -> Iterator[FaultPlan]:
    """Let the next ``count`` calls of ``operation`` reach moto, then answer HTTP 500.

    AWS can apply a write and still answer with a server error; the effect here is real.
    """

    def server_error(op: str) -> Exception:
        response: Any = {
            "Error": {"Code": "InternalFailure", "Message": "Internal failure"},
            "ResponseMetadata": {"HTTPStatusCode": 500},
        }
        return ClientError(response, op)

    with _after_applying(aws_client, operation, count, server_error) as plan:
        yield plan


@contextlib.contextmanager
def _after_applying(
    aws_client: Any, operation: str, count: int, error: Callable[[str], Exception]
) -> Iterator[FaultPlan]:
    """Raise ``error(operation name)`` after each of the next ``count`` calls that reached moto."""
    plan = FaultPlan([])

    def after(http_response: AWSResponse, model: Any, **_: Any) -> None:
        if http_response.url == INJECTED_URL:
            return  # answered by inject_faults: it never reached moto
        plan.calls += 1
        if plan.injected < count:
            plan.injected += 1
            raise error(model.name)

    name = f"after-call.{_event(aws_client, operation)}"
    key = f"after-{next(_ids)}"
    aws_client.meta.events.register_first(name, after, unique_id=key)
    try:
        yield plan
    finally:
        aws_client.meta.events.unregister(name, unique_id=key)


@contextlib.contextmanager
def canned(
    aws_client: Any, operation: str, response: Response | Callable[[dict[str, Any]], Response]
) -> Iterator[list[dict[str, Any]]]:
    """Answer every call of ``operation`` with ``response`` (or ``response(api_params)``).

    Yields the list of API parameters the calls were made with. Other operations on the same
    client still go to moto, which botocore's Stubber cannot do.
    """
    seen: list[dict[str, Any]] = []

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["canned_params"] = dict(params)

    def answer(context: dict[str, Any], **_: Any) -> tuple[AWSResponse, Response]:
        params = context.get("canned_params", {})
        seen.append(params)
        body = response(params) if callable(response) else response
        return _response(200, dict(body))

    event = _event(aws_client, operation)
    key = f"canned-{next(_ids)}"
    aws_client.meta.events.register_first(f"before-parameter-build.{event}", remember, unique_id=key)
    try:
        with _registered(aws_client, operation, answer, first=False):
            yield seen
    finally:
        aws_client.meta.events.unregister(f"before-parameter-build.{event}", unique_id=key)


@contextlib.contextmanager
def _registered(
    aws_client: Any, operation: str, handler: Callable[..., Any], *, first: bool = True
) -> Iterator[None]:
    """Faults register first so they pre-empt a ``canned`` answer for the same operation."""
    name = f"before-call.{_event(aws_client, operation)}"
    key = f"fault-{next(_ids)}"
    register = aws_client.meta.events.register_first if first else aws_client.meta.events.register
    register(name, handler, unique_id=key)
    try:
        yield
    finally:
        aws_client.meta.events.unregister(name, unique_id=key)


def _event(aws_client: Any, operation: str) -> str:
    """``elbv2.ModifyListener`` -> ``elastic-load-balancing-v2.ModifyListener`` for this client."""
    service_id = aws_client.meta.service_model.service_id.hyphenize()
    _, _, op = operation.rpartition(".")
    return f"{service_id}.{op}"


def _response(status: int, body: Response) -> tuple[AWSResponse, Response]:
    meta = {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0, "RequestId": "canned"}
    http = AWSResponse(INJECTED_URL, status, HTTPHeaders(), None)
    return http, {**body, "ResponseMetadata": meta}
