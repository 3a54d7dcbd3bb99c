"""Who may post alerts: one check per source, run before a payload is parsed or kept as valid.

- cloudwatch (SNS): the TopicArn allow-list (empty: everything refused), the SNS message
  signature, and the message's age;
- pagerduty: the HMAC signature of the raw body under a configured secret;
- alertmanager, eventbridge, generic: ``Authorization: Bearer <token>`` or Basic auth.

A source with nothing configured refuses every request: forgetting a setting must not open
the receiver. It refuses with the same status a configured source gives the same offer (401
with no credential, 403 with one), so the answers do not map which sources are configured.
Comparisons are constant-time. The messages here are for the receiver's log and the dead
letter; the sender gets only :data:`SENDER_DETAIL`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from datetime import datetime

from pydantic import SecretStr

from alerts.errors import BadCredentialsError, MissingCredentialsError
from alerts.pagerduty import SIGNATURE_HEADER, verify_pagerduty_signature
from alerts.settings import ReceiverSettings
from alerts.sns import parse_envelope
from alerts.sns_signature import CertificateCache, check_fresh, verify_sns_signature
from alerts.sources import Source

SENDER_DETAIL = {401: "authentication required", 403: "authentication failed"}
"""What a refused sender is told, by status: nothing about what is configured or expected."""

_KNOWN_SCHEMES = frozenset({"basic", "bearer", "digest", "negotiate", "token", "apikey", "aws4-hmac-sha256"})


def authenticate(
    source: Source,
    body: bytes,
    headers: Mapping[str, str],
    settings: ReceiverSettings,
    certs: CertificateCache,
    *,
    now: datetime,
) -> None:
    """Return if the request proves it comes from ``source``; raise an AuthError otherwise.

    For cloudwatch the envelope is parsed here (the signature is in the body), so a body that
    is not an SNS envelope raises AlertParseError; ``now`` is what its Timestamp must be near.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    if source is Source.CLOUDWATCH:
        envelope = parse_envelope(body)
        # The allow-list first: a foreign topic costs no certificate fetch.
        allowed = settings.topic_arns()
        if not allowed:
            raise BadCredentialsError("FIREBREAK_SNS_TOPIC_ARNS is empty: every SNS message is refused")
        if envelope.topic_arn not in allowed:
            raise BadCredentialsError(f"SNS topic {envelope.topic_arn} is not in FIREBREAK_SNS_TOPIC_ARNS")
        verify_sns_signature(envelope, certs)
        check_fresh(envelope, now)
    elif source is Source.PAGERDUTY:
        secrets = settings.pagerduty_secret_list()
        if not secrets and lowered.get(SIGNATURE_HEADER):
            raise BadCredentialsError("no PagerDuty secret configured (set FIREBREAK_PAGERDUTY_SECRETS)")
        verify_pagerduty_signature(body, lowered.get(SIGNATURE_HEADER), secrets)
    else:
        token: SecretStr | None = getattr(settings, f"{source}_token")
        basic: SecretStr | None = getattr(settings, f"{source}_basic")
        check_authorization(source, lowered.get("authorization"), token, basic)


def check_authorization(
    source: str, header: str | None, token: SecretStr | None, basic: SecretStr | None
) -> None:
    """Check an Authorization header against the configured bearer token and/or basic pair."""
    variable = f"FIREBREAK_{source.upper()}"
    if not header or not header.strip():
        raise MissingCredentialsError(f"{source} requires an Authorization header")
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme in ("bearer", "basic") and not value.strip():
        raise MissingCredentialsError(f"{source}: the Authorization header carries no credential")
    if token is None and basic is None:
        raise BadCredentialsError(
            f"no credentials configured for {source} (set {variable}_TOKEN or {variable}_BASIC)"
        )
    if scheme == "bearer" and token is not None:
        if _same(value.strip(), token):
            return
        raise BadCredentialsError(f"bearer token for {source} is wrong")
    if scheme == "basic" and basic is not None:
        try:
            pair = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as e:
            raise BadCredentialsError(f"basic credentials for {source} are not base64 user:password") from e
        if _same(pair, basic):
            return
        raise BadCredentialsError(f"basic credentials for {source} are wrong")
    accepted = " or ".join(n for n, s in (("Bearer", token), ("Basic", basic)) if s is not None)
    # Only a known scheme name is echoed: a bare "Authorization: <token>" has the token there.
    offered = repr(scheme) if scheme in _KNOWN_SCHEMES else "an unknown scheme" if scheme else "'empty'"
    raise BadCredentialsError(f"{source} accepts {accepted} authorization, not {offered}")


def _same(offered: str, expected: SecretStr) -> bool:
    return hmac.compare_digest(offered.encode(), expected.get_secret_value().encode())
