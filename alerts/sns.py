"""CloudWatch alarms delivered by an SNS HTTP(S) subscription.

SNS wraps every message in an envelope whose ``Type`` says what it is: a
``SubscriptionConfirmation`` (the handshake: the receiver must fetch ``SubscribeURL`` once), a
``Notification`` (``Message`` is the CloudWatch alarm JSON) or an ``UnsubscribeConfirmation``
(kept, acted on by nobody). The signature over the envelope is checked by
:mod:`alerts.sns_signature` before any of this is trusted.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field

from alerts.cloudwatch import SOURCE, parse_alarm_message
from alerts.errors import AlertParseError
from alerts.payload import ParseResult, Payload, load_json, validate
from alerts.regions import region_from_arn

SNS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn")
_CERT_PATH = re.compile(r"/SimpleNotificationService-[0-9a-f]+\.pem")


class SnsEnvelope(Payload):
    """The fields SNS signs, by the names SNS gives them."""

    type: Literal["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"] = Field(alias="Type")
    message_id: str = Field(alias="MessageId")
    topic_arn: str = Field(alias="TopicArn")
    message: str = Field(alias="Message")
    timestamp: str = Field(alias="Timestamp")
    subject: str | None = Field(default=None, alias="Subject")
    token: str | None = Field(default=None, alias="Token")
    subscribe_url: str | None = Field(default=None, alias="SubscribeURL")
    signature_version: str = Field(default="", alias="SignatureVersion")
    signature: str = Field(default="", alias="Signature")
    signing_cert_url: str = Field(default="", alias="SigningCertURL")


def is_sns_url(url: str) -> bool:
    """True for an https URL on an SNS endpoint (``sns.<region>.amazonaws.com`` or ``.com.cn``).

    Only such URLs are ever fetched (certificates, subscription confirmations), so a forged
    envelope cannot make the receiver fetch an arbitrary URL.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "https" or port not in (None, 443) or parts.username or parts.password:
        return False
    for suffix in SNS_HOST_SUFFIXES:
        if host.endswith(suffix):
            labels = host[: -len(suffix)].split(".")
            return len(labels) == 2 and labels[0] == "sns" and labels[1].replace("-", "").isalnum()
    return False


def sns_host(topic_arn: str) -> str | None:
    """The SNS endpoint of the topic's region (``sns.eu-west-1.amazonaws.com``); None if the
    TopicArn names no region. China regions are on ``.amazonaws.com.cn``."""
    region = region_from_arn(topic_arn)
    if region is None:
        return None
    return f"sns.{region}.amazonaws.com" + (".cn" if region.startswith("cn-") else "")


def is_topic_sns_url(url: str, topic_arn: str) -> bool:
    """True for an https URL on the SNS endpoint of the topic's own region.

    A bare :func:`is_sns_url` also accepts hosts such as ``sns.s3.amazonaws.com`` (an S3
    bucket named "sns"), which anyone can put a certificate in.
    """
    return is_sns_url(url) and urlsplit(url).hostname == sns_host(topic_arn)


def is_signing_cert_url(url: str, topic_arn: str) -> bool:
    """True for ``https://sns.<topic's region>.amazonaws.com/SimpleNotificationService-<hex>.pem``,
    the only shape of SigningCertURL SNS uses, so the URLs a sender can make the receiver fetch
    are few and all SNS's own."""
    return is_topic_sns_url(url, topic_arn) and bool(_CERT_PATH.fullmatch(urlsplit(url).path))


def parse_envelope(body: bytes | str) -> SnsEnvelope:
    """Decode and validate the SNS envelope (not yet its signature)."""
    envelope = validate(SnsEnvelope, load_json(body, SOURCE), SOURCE)
    if envelope.type == "SubscriptionConfirmation" and not envelope.subscribe_url:
        raise AlertParseError(SOURCE, "SubscribeURL", "missing from a SubscriptionConfirmation")
    return envelope


def parse_sns(envelope: SnsEnvelope) -> ParseResult:
    """What a (verified) envelope asks of Firebreak."""
    if envelope.type == "SubscriptionConfirmation":
        url = envelope.subscribe_url or ""
        if not is_topic_sns_url(url, envelope.topic_arn):
            raise AlertParseError(
                SOURCE, "SubscribeURL", "not an https URL on the topic region's SNS endpoint"
            )
        return ParseResult(subscribe_url=url)
    if envelope.type == "UnsubscribeConfirmation":
        return ParseResult(ignored=[f"SNS unsubscribed this endpoint from {envelope.topic_arn}"])
    annotations = {"sns_message_id": envelope.message_id, "sns_topic_arn": envelope.topic_arn}
    return parse_alarm_message(load_json(envelope.message, SOURCE, "Message"), annotations)


def parse_cloudwatch(body: bytes | str) -> ParseResult:
    """Parse an SNS delivery without checking its signature (the CLI and tests use this)."""
    return parse_sns(parse_envelope(body))
