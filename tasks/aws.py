"""The one place boto3 clients are built, and the retry policy every AWS call goes through.

Tasks receive an :class:`AwsTarget` (serialisable: region, optional role, optional endpoint)
rather than a live client, so Prefect can record their parameters and a drill can point every
call at a moto server just by setting ``endpoint_url``.

botocore's own retries are switched off (``total_max_attempts=1``) so that tenacity is the
single owner of retries: attempts never multiply. A read is retried on throttling, server
errors (5xx) and connection failures. A write is retried only on errors that say it was not
processed: throttling (refused before processing) and a connection that never opened
(:data:`NEVER_SENT`). A write answered with a server error (5xx), or whose answer was lost (read
timeout, connection closed mid-answer, or any other connection error, such as an ``SSLError``,
which urllib3 raises for a TLS failure while the answer is read as well as in the handshake),
may have been applied: it is never retried blindly but raised as
:class:`UnconfirmedWriteError`, and the action reads live state back to decide
(``tasks.actions.apply_plan``); a non-idempotent call outside an action (SNS Publish) is simply
not sent twice.

Every client carries ``firebreak`` in its User-Agent, which CloudTrail records with each call:
one of the ways Firebreak recognises its own changes in an account's history.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any, TypeVar

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
)
from botocore.loaders import Loader, create_loader
from pydantic import BaseModel, ConfigDict, Field
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

T = TypeVar("T")
log = logging.getLogger(__name__)

USER_AGENT_MARK = "firebreak"
NO_BOTO_RETRIES = Config(
    retries={"mode": "standard", "total_max_attempts": 1}, user_agent_extra=USER_AGENT_MARK
)

# Refused before processing: safe to send again, reads and writes alike.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "PriorRequestNotComplete",
        "RequestThrottled",
        "SlowDown",
    }
)
# Failed somewhere inside AWS: a read may be retried, a write may have been applied.
SERVER_ERROR_CODES = frozenset(
    {
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
    }
)
RETRYABLE_CODES = THROTTLING_CODES | SERVER_ERROR_CODES


# Raised before a byte of the request left: connection refused or unresolvable (NewConnectionError,
# gaierror) and connect timeout, as botocore.httpsession maps urllib3's errors. Every other
# ConnectionError (SSLError, ProxyConnectionError) may come after the request went out.
NEVER_SENT = (EndpointConnectionError, ConnectTimeoutError)

READ_ONLY_PREFIXES = ("get_", "list_", "describe_", "lookup_", "filter_", "head_", "batch_get_")


class UnconfirmedWriteError(BotoCoreError):
    """A mutating call was sent and not cleanly answered: it may or may not have been applied.

    Raised for a lost answer (read timeout, connection closed, a connection error not in
    :data:`NEVER_SENT`, e.g. SSLError) and for a server error (5xx).
    A BotoCoreError, so every handler of "AWS could not be reached" also handles it; never
    retried (:func:`is_retryable` is False for it).
    """

    fmt = "{operation}: {cause} after sending; it may have been applied"

    def __init__(self, operation: str, cause: HTTPClientError | ConnectionError | ClientError) -> None:
        if isinstance(cause, ClientError):
            status = _status(cause)
            what = f"server error {error_code(cause) or 'unknown'} (HTTP {status or 'unknown'})"
        else:
            what = f"no answer ({type(cause).__name__})"
        super().__init__(operation=operation, cause=what)
        self.operation = operation


class AwsTarget(BaseModel):
    """Where AWS calls go. Serialisable, so it can be a Prefect task parameter.

    ``endpoint_url`` defaults to ``$FIREBREAK_AWS_ENDPOINT_URL`` (then ``$AWS_ENDPOINT_URL``),
    which is how drills aim every client at the moto server without a code path of their own.
    """

    model_config = ConfigDict(frozen=True)

    region: str = Field(min_length=1)
    role_arn: str | None = Field(default=None, description="Role to assume before calling.")
    endpoint_url: str | None = Field(default=None, description="Override, e.g. a moto server.")

    def resolved_endpoint(self) -> str | None:
        return (
            self.endpoint_url
            or os.environ.get("FIREBREAK_AWS_ENDPOINT_URL")
            or os.environ.get("AWS_ENDPOINT_URL")
        )

    def in_region(self, region: str) -> AwsTarget:
        """The same target in another region (multi-region actions)."""
        return self.model_copy(update={"region": region})


def client(service: str, target: AwsTarget) -> Any:
    """A boto3 client for ``service`` at ``target``, with botocore retries off.

    Clients are cached per (service, target) and share one session per (role, endpoint) across
    regions: a session loads each service's model once, and a flow-run process needs ~20 clients
    in two regions (bench: the cold clients are most of the diagnose stage).
    Building is serialised because boto3 sessions are not thread-safe while creating clients
    (snapshot sources run in threads). Assumed-role credentials are cached with the session for
    the life of the process (an incident's flow-run process); a long-lived process calls
    :func:`clear_client_cache` before the role's session expires.
    """
    with _BUILD_LOCK:
        return _cached_client(service, target.region, target.role_arn, target.resolved_endpoint())


_BUILD_LOCK = threading.Lock()


@cache
def _cached_client(service: str, region: str, role_arn: str | None, endpoint: str | None) -> Any:
    session = _session(role_arn, endpoint, sts_region=region)
    # boto3-stubs types client() per literal service name; ours is a runtime string.
    return session.client(  # type: ignore[call-overload]
        service, region_name=region, endpoint_url=endpoint, config=NO_BOTO_RETRIES
    )


_SESSIONS: dict[tuple[str | None, str | None], boto3.Session] = {}

# One botocore data loader for every session of the process: each service's model (JSON, up to
# megabytes) is parsed once per process rather than once per session, and a fork server that
# called :func:`warm_service_models` hands its children the models already parsed.
_LOADER: Loader = create_loader()

SERVICES = (
    "apigateway", "appconfig", "application-autoscaling", "autoscaling", "cloudtrail", "cloudwatch",
    "ec2", "ecs", "elbv2", "lambda", "logs", "route53", "s3", "sns", "ssm", "sts",
)  # fmt: skip  # what tasks/, flows/ and alerts/ build clients for


def _botocore_session() -> botocore.session.Session:
    session = botocore.session.Session()
    session.register_component("data_loader", _LOADER)
    return session


def warm_service_models(services: tuple[str, ...] = SERVICES) -> None:
    """Parse every model a client of ``services`` needs, into the shared loader, without a call.

    The clients are built with placeholder keys (no credential lookup, no network) and dropped.
    """
    session = boto3.Session(
        botocore_session=_botocore_session(), aws_access_key_id="warm-up", aws_secret_access_key="warm-up"
    )
    for service in services:
        session.client(service, region_name="us-east-1")  # type: ignore[call-overload]


def _session(role_arn: str | None, endpoint: str | None, *, sts_region: str) -> boto3.Session:
    """The session of a (role, endpoint); ``sts_region`` only serves the first assume-role."""
    key = (role_arn, endpoint)
    if key not in _SESSIONS:
        _SESSIONS[key] = _new_session(role_arn, endpoint, sts_region)
    return _SESSIONS[key]


def _new_session(role_arn: str | None, endpoint: str | None, region: str) -> boto3.Session:
    if role_arn is None:
        return boto3.Session(botocore_session=_botocore_session(), region_name=region)
    base = boto3.Session(botocore_session=_botocore_session(), region_name=region)
    sts = base.client("sts", endpoint_url=endpoint, config=NO_BOTO_RETRIES)
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="firebreak")["Credentials"]
    return boto3.Session(
        botocore_session=_botocore_session(),
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region,
    )


def clear_client_cache() -> None:
    """Forget cached clients (tests that restart moto, credential rotation)."""
    with _BUILD_LOCK:
        _cached_client.cache_clear()
        _SESSIONS.clear()


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a ClientError, else None."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "")) or None
    return None


def is_read_only(operation: str) -> bool:
    """``describe_services`` is a read, ``update_service`` a write (boto3 method names)."""
    return operation.startswith(READ_ONLY_PREFIXES)


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def is_throttling(exc: BaseException) -> bool:
    """AWS refused the request before processing it (a throttling code)."""
    return isinstance(exc, ClientError) and error_code(exc) in THROTTLING_CODES


def is_server_error(exc: BaseException) -> bool:
    """A 5xx that is not throttling: AWS may have done the work before failing to answer."""
    if not isinstance(exc, ClientError) or is_throttling(exc):
        return False
    return error_code(exc) in SERVER_ERROR_CODES or _status(exc) >= 500


def is_retryable(exc: BaseException) -> bool:
    """Throttling, 5xx and connection failures are retried; everything else is permanent.

    A server error, lost answer (HTTPClientError: read timeout, connection closed) or connection
    error that may come after sending (not :data:`NEVER_SENT`) reaches this predicate only from
    a read: :func:`call` turns a write's into UnconfirmedWriteError, never retried.
    """
    if isinstance(exc, ConnectionError | HTTPClientError):
        return True
    return is_throttling(exc) or is_server_error(exc)


_FAULTS: ContextVar[list[str] | None] = ContextVar("firebreak_aws_faults", default=None)


@contextmanager
def recording_faults() -> Iterator[list[str]]:
    """Collect one line per AWS error met inside the block, retried or not, for the audit trail.

    A retried throttle leaves no trace in the result of the call that finally worked; an
    incident timeline must still show it (``tasks.actions.apply_plan`` records these).
    """
    faults: list[str] = []
    token = _FAULTS.set(faults)
    try:
        yield faults
    finally:
        _FAULTS.reset(token)


def note_fault(line: str) -> None:
    """Log an AWS fault and add it to the enclosing :func:`recording_faults` block, if any."""
    log.warning("%s", line)
    faults = _FAULTS.get()
    if faults is not None:
        faults.append(line)


def _note_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    operation = state.args[1] if len(state.args) > 1 else getattr(state.fn, "__name__", "call")
    cause = (error_code(exc) or type(exc).__name__) if exc else "error"
    note_fault(f"{operation}: {cause} on attempt {state.attempt_number}, retried")


def aws_retry(attempts: int = 5) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator: retry a function making AWS calls on retryable errors, with jittered backoff.

    Tests make the wait instant with ``fn.retry.wait = wait_none()`` (tenacity's own hook).
    """
    return retry(
        retry=retry_if_exception(is_retryable),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=0.5, max=10),
        before_sleep=_note_retry,
        reraise=True,
    )


def call(aws_client: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
    """Call ``aws_client.<operation>(**kwargs)`` under the retry policy.

    The single choke point for AWS calls made by actions, so every one is retried the same way.
    Raises ClientError (permanent or retries exhausted), BotoCoreError (no connection), or
    UnconfirmedWriteError (a write answered with a 5xx, not answered, or met by a connection
    error that may have come after sending).
    """
    result: dict[str, Any] = _retrying_call(aws_client, operation, kwargs)
    return result


@aws_retry()
def _retrying_call(aws_client: Any, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        result: dict[str, Any] = getattr(aws_client, operation)(**kwargs)
    except NEVER_SENT:
        raise
    except (HTTPClientError, ConnectionError) as e:
        if is_read_only(operation):
            raise
        raise UnconfirmedWriteError(operation, e) from e
    except ClientError as e:
        if is_read_only(operation) or not is_server_error(e):
            raise
        raise UnconfirmedWriteError(operation, e) from e
    return result


def request_id(response: dict[str, Any]) -> str:
    """The AWS request id of a response, for the audit trail."""
    return str(response.get("ResponseMetadata", {}).get("RequestId", ""))
