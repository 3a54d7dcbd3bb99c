"""Proof that an SNS delivery comes from SNS: the message signature.

SNS signs a canonical string built from the envelope (which keys, in which order, depends on
the message type) with the key of a certificate it publishes at ``SigningCertURL``.
SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA. The certificate is only fetched from an
https URL on an SNS host, so a forged envelope cannot point the receiver at its own key.

A valid signature proves SNS sent the message, not that it is *your* topic: anyone can sign
through their own topic. The receiver therefore also checks ``TopicArn`` against an allow-list.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from alerts.errors import BadCredentialsError, FetchError, MissingCredentialsError
from alerts.sns import SnsEnvelope, is_sns_url

CertFetcher = Callable[[str], bytes]
"""Fetches a PEM certificate by URL, raising FetchError. Injected so tests never touch the network."""

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}


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
    """Fetch each signing certificate once; SNS rotates them rarely. Bounded, per process,
    thread-safe (the receiver verifies from a thread pool)."""

    def __init__(self, fetch: CertFetcher, *, size: int = 8) -> None:
        self._fetch = fetch
        self._size = size
        self._certs: OrderedDict[str, x509.Certificate] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, url: str) -> x509.Certificate:
        """The certificate at ``url``; raises BadCredentialsError if it cannot be had."""
        with self._lock:
            cached = self._certs.get(url)
            if cached is not None:
                self._certs.move_to_end(url)
                return cached
        try:
            cert = x509.load_pem_x509_certificate(self._fetch(url))
        except ValueError as e:
            raise BadCredentialsError(f"SNS SigningCertURL {url} is not a PEM certificate") from e
        except FetchError as e:
            raise BadCredentialsError(f"SNS SigningCertURL {url} could not be fetched: {e}") from e
        with self._lock:
            self._certs[url] = cert
            if len(self._certs) > self._size:
                self._certs.popitem(last=False)
        return cert


def verify_sns_signature(
    envelope: SnsEnvelope, certs: CertificateCache, *, now: datetime | None = None
) -> None:
    """Raise unless the envelope carries a valid SNS signature (401 if absent, 403 if wrong)."""
    if not envelope.signature or not envelope.signing_cert_url:
        raise MissingCredentialsError("SNS message has no Signature/SigningCertURL")
    algorithm = _HASHES.get(envelope.signature_version)
    if algorithm is None:
        raise BadCredentialsError(f"SNS SignatureVersion {envelope.signature_version!r} is not 1 or 2")
    if not is_sns_url(envelope.signing_cert_url):
        raise BadCredentialsError(
            f"SNS SigningCertURL {envelope.signing_cert_url!r} is not an https URL on an SNS host"
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
