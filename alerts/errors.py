"""The exceptions of alert intake, one family per way a payload can be refused.

The receiver maps each family to an HTTP status, so a sender learns exactly why its payload
was refused and never sees a 500; the dead-letter store keeps the message as the reason.
"""

from __future__ import annotations


class AlertError(Exception):
    """Base of every alert-intake error."""


class AlertParseError(AlertError, ValueError):
    """A payload is not valid for its source; the message names the field.

    >>> str(AlertParseError("alertmanager", "alerts[0].startsAt", "not a timestamp"))
    'alertmanager payload: alerts[0].startsAt: not a timestamp'
    """

    def __init__(self, source: str, field: str, problem: str) -> None:
        super().__init__(f"{source} payload: {field}: {problem}")
        self.source = source
        self.field = field
        self.problem = problem


class UnknownSourceError(AlertError, ValueError):
    """The URL or the CLI named a source Firebreak has no parser for."""


class AuthError(AlertError):
    """The sender did not prove who it is. ``status_code`` is 401 (no credentials) or 403."""

    status_code = 401


class MissingCredentialsError(AuthError):
    """No credentials were sent, or none are configured for the source (fail closed)."""

    status_code = 401


class BadCredentialsError(AuthError):
    """Credentials or a signature were sent and are wrong."""

    status_code = 403


class RoutingConfigError(AlertError, ValueError):
    """The routing file is missing, unreadable or invalid; the message names file and field."""


class DeadLetterError(AlertError):
    """A dead letter could not be written or read."""


class StarterError(AlertError):
    """Starting an incident or recording a resolution failed. Retryable: the sender should retry."""


class PrefectUnavailableError(StarterError):
    """The Prefect API could not be reached or answered 5xx."""


class PrefectRejectedError(StarterError):
    """The Prefect API refused the request (4xx), e.g. the deployment does not exist."""


class FetchError(AlertError):
    """An SNS URL (signing certificate, subscription confirmation) could not be fetched."""
