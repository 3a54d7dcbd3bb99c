"""Prometheus Alertmanager webhooks (payload version 4), and Grafana's compatible webhook.

Alertmanager groups alerts; each alert in ``alerts`` becomes its own Alert, because each can
be a separate incident. Its ``fingerprint`` (a hash of the label set, the same on every
replica of an HA pair) identifies the condition; ``startsAt`` the occurrence, so both replicas
of an HA pair produce the same dedup key. Grafana's extra fields are ignored.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import Field

from alerts.models import Alert, AlertStatus
from alerts.payload import ParseResult, Payload, Timestamp, load_json, validate
from alerts.resolved import RESOLVED_AT

SOURCE = "alertmanager"


class _AmAlert(Payload):
    status: AlertStatus
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: Timestamp = Field(alias="startsAt")
    ends_at: Timestamp | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""


class Webhook(Payload):
    """The webhook body: ``version`` is "4" from Alertmanager, "1" from Grafana (same shape)."""

    version: Literal["4", "1"]
    group_key: str = Field(default="", alias="groupKey")
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    receiver: str = ""
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[dict[str, Any]]


def label_fingerprint(labels: dict[str, str]) -> str:
    """A stable hash of a label set, for senders that omit ``fingerprint`` (old Alertmanagers)."""
    return hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]


def parse_alertmanager(body: bytes | str) -> ParseResult:
    """One Alert per alert in the group; truncated alerts are reported as ignored."""
    webhook = validate(Webhook, load_json(body, SOURCE), SOURCE)
    alerts = [_alert(webhook, raw, i) for i, raw in enumerate(webhook.alerts)]
    ignored = []
    if webhook.truncated_alerts:
        ignored.append(
            f"Alertmanager truncated {webhook.truncated_alerts} alerts of group {webhook.group_key!r} "
            "(raise max_alerts in webhook_configs)"
        )
    return ParseResult(alerts=alerts, ignored=ignored)


def _alert(webhook: Webhook, raw: dict[str, Any], index: int) -> Alert:
    item = validate(_AmAlert, raw, SOURCE, f"alerts[{index}]")
    annotations = dict(item.annotations)
    if item.status is AlertStatus.RESOLVED and item.ends_at is not None:
        annotations[RESOLVED_AT] = item.ends_at.isoformat()
    return Alert(
        source=SOURCE,
        fingerprint=f"alertmanager:{item.fingerprint or label_fingerprint(item.labels)}",
        status=item.status,
        name=item.labels.get("alertname", "unnamed"),
        summary=item.annotations.get("summary") or item.annotations.get("description", ""),
        labels=item.labels,
        annotations=annotations,
        starts_at=item.starts_at,
        raw={"groupKey": webhook.group_key, "receiver": webhook.receiver, "alert": raw},
    )
