"""Which service, environment and region an alert is about, from what the sender said.

Each source has a rule: label keys to look in (in order; CloudWatch labels are the metric's
dimensions and, from EventBridge, the alarm's tags), then regular expressions with named groups
``service``/``environment``/``region`` matched against the alert name or a label. Fields the
parser already set (the generic format's explicit ones, CloudWatch's region) are kept. With a
``services`` allow-list, a service outside it is cleared: the alert is kept but unroutable.
``facts`` states each service's severity facts (revenue at risk, tier...), which the routed
alert carries: the operator says what an outage of a service costs, not the sender.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alerts.errors import RoutingConfigError
from alerts.models import Alert
from policies.severity import StatedFacts

_GROUPS = ("service", "environment", "region")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pattern(_Strict):
    """A regex with named groups, matched against the alert name or one label's value."""

    regex: str = Field(description="Python regex with groups named service, environment, region.")
    field: str = Field(default="name", description='"name" or "label:<key>".')

    @field_validator("regex")
    @classmethod
    def _compiles_with_groups(cls, value: str) -> str:
        try:
            groups = set(re.compile(value).groupindex)
        except re.error as e:
            raise ValueError(f"not a valid regex: {e}") from e
        if not groups & set(_GROUPS):
            raise ValueError("needs at least one named group: service, environment or region")
        return value

    def subject(self, alert: Alert) -> str | None:
        """The text this pattern is matched against."""
        if self.field == "name":
            return alert.name
        return alert.labels.get(self.field.removeprefix("label:"))


class SourceRouting(_Strict):
    """How one source's alerts are mapped."""

    service: list[str] = Field(default_factory=list, description="Label keys naming the service.")
    environment: list[str] = Field(default_factory=list, description="Label keys naming the environment.")
    region: list[str] = Field(default_factory=list, description="Label keys naming the region.")
    patterns: list[Pattern] = Field(default_factory=list)


_CLOUDWATCH = SourceRouting(
    service=["Service", "service"],
    environment=["Environment", "environment", "env"],
    region=["Region", "region"],
    patterns=[Pattern(regex=r"^(?P<service>[A-Za-z0-9_]+)-(?P<environment>[A-Za-z0-9_]+)-")],
)


def _default_sources() -> dict[str, SourceRouting]:
    labels = SourceRouting(service=["service"], environment=["env", "environment"], region=["region"])
    return {
        "alertmanager": labels,
        "generic": labels,
        "cloudwatch": _CLOUDWATCH,
        "eventbridge": _CLOUDWATCH,
        "pagerduty": SourceRouting(
            patterns=[
                Pattern(
                    regex=r"^(?P<service>[A-Za-z0-9_]+)-(?P<environment>[A-Za-z0-9_]+)$",
                    field="label:pagerduty_service",
                )
            ]
        ),
    }


class Routing(_Strict):
    """The routing file: per-source rules and an optional allow-list of known services."""

    sources: dict[str, SourceRouting] = Field(default_factory=_default_sources)
    services: list[str] | None = Field(default=None, description="Known services; None: any.")
    facts: dict[str, StatedFacts] = Field(
        default_factory=dict, description="Severity facts per service (docs/policies.md)."
    )

    @field_validator("sources")
    @classmethod
    def _over_defaults(cls, value: dict[str, SourceRouting]) -> dict[str, SourceRouting]:
        # A file that configures one source keeps the defaults of the others.
        return {**_default_sources(), **value}


def route(alert: Alert, routing: Routing) -> Alert:
    """Fill the alert's service/environment/region from its source's rule. Pure."""
    rule = routing.sources.get(alert.source, SourceRouting())
    found: dict[str, str] = {}
    for group in _GROUPS:
        keys: list[str] = getattr(rule, group)
        value = next((alert.labels[k] for k in keys if alert.labels.get(k)), None)
        if value:
            found[group] = value
    for pattern in rule.patterns:
        subject = pattern.subject(alert)
        match = re.search(pattern.regex, subject) if subject else None
        if match:
            for group, value in match.groupdict().items():
                if group in _GROUPS and value:
                    found.setdefault(group, value)
    update = {g: found[g] for g in _GROUPS if getattr(alert, g) is None and g in found}
    routed = alert.model_copy(update=update)
    if routing.services is not None and routed.service not in routing.services:
        routed = routed.model_copy(update={"service": None})
    stated = routing.facts.get(routed.service) if routed.service is not None else None
    return routed.model_copy(update={"facts": stated})


def load_routing(path: Path | None) -> Routing:
    """Read a routing file (YAML); None gives the defaults. Errors name the file and field."""
    if path is None:
        return Routing()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise RoutingConfigError(f"{path}: cannot read routing file: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise RoutingConfigError(f"{path}: not UTF-8 text (byte {e.start})") from e
    except yaml.YAMLError as e:
        raise RoutingConfigError(f"{path}: not valid YAML: {e}") from e
    try:
        return Routing.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise RoutingConfigError(f"{path}: {where}: {first['msg']}") from e
