"""Test helpers: a self-made SNS signing certificate, and signing envelopes with it."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "alerts"
CERT_URL = (
    "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"
)


NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SUBSCRIPTION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def aws_string_to_sign(envelope: dict[str, Any]) -> bytes:
    """The string to sign, written from the AWS SNS docs independently of the code under test:
    each key present, in this order, as "key\nvalue\n"."""
    keys = NOTIFICATION_KEYS if envelope.get("Type") == "Notification" else SUBSCRIPTION_KEYS
    return "".join(f"{k}\n{envelope[k]}\n" for k in keys if k in envelope).encode()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


@dataclass(frozen=True)
class Signer:
    """An RSA key and a self-signed certificate standing in for SNS's."""

    key: rsa.RSAPrivateKey
    pem: bytes

    @classmethod
    def create(cls, *, valid_from: datetime | None = None, common_name: str = "sns.amazonaws.com") -> Signer:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        start = valid_from or datetime.now(UTC) - timedelta(days=1)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(1)
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=30))
            .sign(key, hashes.SHA256())
        )
        return cls(key=key, pem=cert.public_bytes(serialization.Encoding.PEM))

    def sign(
        self, envelope: dict[str, Any], *, version: str = "1", cert_url: str = CERT_URL
    ) -> dict[str, Any]:
        """Return ``envelope`` signed as SNS would sign it."""
        signed = dict(envelope, SignatureVersion=version, SigningCertURL=cert_url)
        data = aws_string_to_sign(signed)
        algorithm: hashes.HashAlgorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.key.sign(data, padding.PKCS1v15(), algorithm)
        signed["Signature"] = base64.b64encode(signature).decode()
        return signed
