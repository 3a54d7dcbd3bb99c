"""Proof that an SNS delivery comes from SNS: the message signature.

SNS signs a canonical string built from the envelope (which keys, in which order, depends on
the message type) with the key of a certificate it publishes at ``SigningCertURL``.
SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA. The certificate is only fetched from an
https URL on an SNS host, so a forged envelope cannot point the receiver at its own key.

The certificate must come from ``https://sns.<the TopicArn's region>.amazonaws.com/
SimpleNotificationService-<hex>.pem`` and be issued to ``sns.amazonaws.com``. Certificates are
cached (bounded), and a URL whose fetch failed is not fetched again for a minute, so a flood
of envelopes cannot turn into a flood of outbound requests.

A valid signature proves SNS sent the message, not that it is *your* topic: anyone can sign
through their own topic. The receiver therefore also checks ``TopicArn`` against an
allow-list, and :func:`check_fresh` refuses a message more than an hour from the receiver's
clock, so a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from alerts.errors import BadCredentialsError, FetchError, MissingCredentialsError
from alerts.sns import SnsEnvelope, is_signing_cert_url

CertFetcher = Callable[[str], bytes]
"""Fetches a PEM certificate by URL, raising FetchError. Injected so tests never touch the network."""

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}

SNS_CERT_SUBJECTS = frozenset({"sns.amazonaws.com", "sns.amazonaws.com.cn"})
"""Common names of SNS signing certificates. ``sns.amazonaws.com`` is what SNS's published
certificates carry (seen in AWS SDK test fixtures); the ``.cn`` name is unverified."""

MAX_MESSAGE_AGE = timedelta(hours=1)


def canonical_string(envelope: SnsEnvelope) -> bytes:
    """The bytes SNS signed: ``Key\\nValue\\n`` for the type's keys, in AWS's documented order."""
    if envelope.type == "Notification":
        pairs = [
            ("Message", envelope.message),
            ("MessageId", envelope.message_id),
            ("Subject", envelope.subject),
            ("Timestamp", envelope.timestamp),
            ("TopicArn", envelope.topic_arn),
            ("Type", envelope.type),
        ]
    else:
        pairs = [
            ("Message", envelope.message),
            ("MessageId", envelope.message_id),
            ("SubscribeURL", envelope.subscribe_url),
            ("Timestamp", envelope.timestamp),
            ("Token", envelope.token),
            ("TopicArn", envelope.topic_arn),
            ("Type", envelope.type),
        ]
    return "".join(f"{key}\n{value}\n" for key, value in pairs if value is not None).encode()


class CertificateCache:
    """Fetch each signing certificate once; SNS rotates them rarely. Bounded (``size``
    certificates, least recently used dropped), per process, thread-safe (the receiver verifies
    from a thread pool). A failed fetch is remembered for :attr:`FAILURE_MEMORY_SECONDS` on
    the ``monotonic`` clock, during which the URL is refused without a fetch."""

    FAILURE_MEMORY_SECONDS = 60.0

    def __init__(
        self, fetch: CertFetcher, *, size: int = 8, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._fetch = fetch
        self._size = size
        self._monotonic = monotonic
        self._certs: OrderedDict[str, x509.Certificate] = OrderedDict()
        self._failures: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self) -> list[str]:
        """The URLs held, least recently used first."""
        with self._lock:
            return list(self._certs)

    def get(self, url: str) -> x509.Certificate:
        """The certificate at ``url``; raises BadCredentialsError if it cannot be had."""
        with self._lock:
            cached = self._certs.get(url)
            if cached is not None:
                self._certs.move_to_end(url)
                return cached
            failed = self._failures.get(url)
            if failed is not None and failed[0] > self._monotonic():
                raise BadCredentialsError(failed[1])
        try:
            cert = _sns_certificate(url, self._fetched(url))
        except BadCredentialsError as e:
            self._remember_failure(url, str(e))
            raise
        with self._lock:
            self._failures.pop(url, None)
            self._certs[url] = cert
            if len(self._certs) > self._size:
                self._certs.popitem(last=False)
        return cert

    def _fetched(self, url: str) -> bytes:
        try:
            return self._fetch(url)
        except FetchError as e:
            raise BadCredentialsError(f"SNS SigningCertURL {url} could not be fetched: {e}") from e

    def _remember_failure(self, url: str, message: str) -> None:
        with self._lock:
            self._failures[url] = (self._monotonic() + self.FAILURE_MEMORY_SECONDS, message)
            self._failures.move_to_end(url)
            if len(self._failures) > self._size:
                self._failures.popitem(last=False)


def _sns_certificate(url: str, pem: bytes) -> x509.Certificate:
    """Parse and check the fetched certificate: PEM, and issued to SNS."""
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError as e:
        raise BadCredentialsError(f"SNS SigningCertURL {url} is not a PEM certificate") from e
    names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if not names or names[0] not in SNS_CERT_SUBJECTS:
        raise BadCredentialsError(
            f"SNS signing certificate's subject {cert.subject.rfc4514_string()} is not SNS"
        )
    return cert


def check_fresh(envelope: SnsEnvelope, now: datetime) -> None:
    """Raise unless the (verified) message's Timestamp is within :data:`MAX_MESSAGE_AGE` of ``now``."""
    try:
        sent = datetime.fromisoformat(envelope.timestamp)
    except ValueError as e:
        raise BadCredentialsError(f"SNS Timestamp {envelope.timestamp!r} is not a timestamp") from e
    if sent.tzinfo is None:
        raise BadCredentialsError(f"SNS Timestamp {envelope.timestamp!r} has no time zone")
    if abs(now - sent) > MAX_MESSAGE_AGE:
        raise BadCredentialsError(
            f"SNS message timestamped {envelope.timestamp} is older than {MAX_MESSAGE_AGE} "
            f"(or that far ahead) at {now.isoformat()}"
        )


def verify_sns_signature(
    envelope: SnsEnvelope, certs: CertificateCache, *, now: datetime | None = None
) -> None:
    """Raise unless the envelope carries a valid SNS signature (401 if absent, 403 if wrong)."""
    if not envelope.signature or not envelope.signing_cert_url:
        raise MissingCredentialsError("SNS message has no Signature/SigningCertURL")
    algorithm = _HASHES.get(envelope.signature_version)
    if algorithm is None:
        raise BadCredentialsError(f"SNS SignatureVersion {envelope.signature_version!r} is not 1 or 2")
    if not is_signing_cert_url(envelope.signing_cert_url, envelope.topic_arn):
        raise BadCredentialsError(
            f"SNS SigningCertURL {envelope.signing_cert_url!r} is not an SNS certificate of the "
            "TopicArn's region"
        )
    try:
        signature = base64.b64decode(envelope.signature, validate=True)
    except (binascii.Error, ValueError) as e:
        raise BadCredentialsError("SNS Signature is not base64") from e
    cert = certs.get(envelope.signing_cert_url)
    moment = now or datetime.now(UTC)
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        raise BadCredentialsError(f"SNS signing certificate {envelope.signing_cert_url} is not valid now")
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise BadCredentialsError("SNS signing certificate does not hold an RSA key")
    try:
        key.verify(signature, canonical_string(envelope), padding.PKCS1v15(), algorithm())
    except InvalidSignature as e:
        raise BadCredentialsError("SNS signature does not match the message") from e
