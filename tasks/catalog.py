"""The service catalog: every AWS resource an action may touch, described once.

An action is never handed an ARN or a name from an alert; it looks the service up here. A
resource that is not in the catalog cannot be acted on, which is the first blast-radius
guardrail. The catalog is YAML validated by pydantic; an error names the file and the field.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class CatalogError(ValueError):
    """The catalog file is missing, unreadable or invalid, or a lookup names an unknown entry."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Comparison(StrEnum):
    """How a metric compares with its healthy threshold when it is healthy."""

    BELOW = "below"  # healthy while value < threshold (error rate, latency)
    ABOVE = "above"  # healthy while value > threshold (throughput, success rate)


class MetricRole(StrEnum):
    """What a key metric tells the flows."""

    SIGNAL = "signal"  # health: confirms alerts, watched during bake time
    TRAFFIC = "traffic"  # request count: shows a drained region's traffic falling
    SATURATION = "saturation"  # CPU/memory/latency: healthy_threshold is the saturation threshold


class MetricSpec(_Strict):
    """A key metric: the signal the flow confirms alerts with and watches during bake time."""

    name: str = Field(description="Short name used in evidence and hypotheses, e.g. error_rate.")
    namespace: str
    metric_name: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    statistic: str = "Average"
    period_seconds: int = Field(default=60, ge=1)
    healthy_threshold: float
    healthy_when: Comparison = Comparison.BELOW
    role: MetricRole = Field(
        default=MetricRole.SIGNAL,
        description="signal (default); traffic: the region's request count, at most one per region; "
        "saturation: CPU/memory/latency, healthy_threshold being the saturation threshold.",
    )

    def is_healthy(self, value: float) -> bool:
        """True when ``value`` is on the healthy side of the threshold."""
        if self.healthy_when is Comparison.BELOW:
            return value < self.healthy_threshold
        return value > self.healthy_threshold


class EcsService(_Strict):
    cluster: str
    service: str


class LambdaAlias(_Strict):
    function: str
    alias: str


class AlbListener(_Strict):
    """A weighted listener, by ARN, or by name where AWS has not generated the ARNs yet:
    ``load_balancer`` + ``port`` + ``target_groups`` (``tasks.catalog_resolve`` fills the ARNs)."""

    listener_arn: str = Field(default="", description="Empty until resolved from the names.")
    target_group_arns: list[str] = Field(default_factory=list, description="Empty until resolved.")
    load_balancer: str | None = Field(default=None, description="Load balancer name (instead of the ARN).")
    port: int | None = Field(default=None, ge=1, le=65535, description="The listener's port.")
    target_groups: list[str] = Field(default_factory=list, description="Target group names, in order.")

    @model_validator(mode="after")
    def _ids_or_names(self) -> AlbListener:
        if self.listener_arn and not self.target_group_arns:
            raise ValueError("listener_arn needs target_group_arns (at least one)")
        named = self.load_balancer is not None or self.port is not None or bool(self.target_groups)
        if named and not (self.load_balancer and self.port and self.target_groups):
            raise ValueError("name the listener with load_balancer, port and target_groups (all three)")
        if not self.listener_arn and not named:
            raise ValueError(
                "give listener_arn and target_group_arns, or load_balancer, port and target_groups"
            )
        return self

    @property
    def resolved(self) -> bool:
        return bool(self.listener_arn)


class Capacity(_Strict):
    """How far Firebreak may scale a region's ECS service or ASG out: by ``step`` at a time,
    never above ``max`` (and never down to zero)."""

    max: int = Field(ge=1, description="The most tasks (ECS) or instances (ASG) Firebreak may ask for.")
    step: int = Field(default=1, ge=1, description="How many to add per scale-out.")


class ApiGatewayStage(_Strict):
    """A REST API stage whose throttling Firebreak may lower to an emergency level."""

    rest_api: str = Field(description="The REST API's id, or its name (resolved to the id).")
    stage: str
    emergency_rate: float = Field(gt=0, description="Requests per second under emergency throttling.")
    emergency_burst: int = Field(ge=1, description="Burst limit under emergency throttling.")


class RegionResources(_Strict):
    """What a service runs in one region (or cell)."""

    ecs: EcsService | None = None
    lambda_alias: LambdaAlias | None = None
    alb: AlbListener | None = None
    asg_name: str | None = None
    capacity: Capacity | None = Field(default=None, description="Scale-out cap for ecs or asg_name.")
    api_gateway: ApiGatewayStage | None = None
    log_groups: list[str] = Field(default_factory=list)
    alarms: list[str] = Field(default_factory=list)
    metrics: list[MetricSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_traffic_metric(self) -> RegionResources:
        if len([m for m in self.metrics if m.role is MetricRole.TRAFFIC]) > 1:
            raise ValueError("metrics: at most one metric may have role: traffic")
        return self

    def traffic_metric(self) -> MetricSpec | None:
        """The metric that counts the region's requests, if the catalog names one."""
        return next((m for m in self.metrics if m.role is MetricRole.TRAFFIC), None)


class ServiceMetric(MetricSpec):
    """A service-level signal (what users see across regions), read in one region."""

    region: str | None = Field(default=None, description="Where it is published; default primary_region.")


class Route53Weighted(_Strict):
    """A weighted record set: one record per region, told apart by set identifier."""

    zone_id: str = Field(default="", description="Empty until resolved from zone_name.")
    zone_name: str | None = Field(default=None, description="The hosted zone's name (instead of its id).")
    record_name: str
    record_type: str = "CNAME"
    set_identifiers: dict[str, str] = Field(description="region -> SetIdentifier", min_length=2)

    @model_validator(mode="after")
    def _id_or_name(self) -> Route53Weighted:
        if not self.zone_id and not self.zone_name:
            raise ValueError("give zone_id or zone_name")
        return self

    @property
    def resolved(self) -> bool:
        return bool(self.zone_id)


class FlagStoreKind(StrEnum):
    SSM = "ssm"
    APPCONFIG = "appconfig"


class FlagStore(_Strict):
    """Where the service's feature flags live. ``flags`` maps flag name -> parameter name
    (SSM) or flag key (AppConfig). An SSM parameter means "on" when its value is the flag's
    ``on_values`` entry (default ``on``); AppConfig flags are read from their ``enabled`` boolean."""

    kind: FlagStoreKind = FlagStoreKind.SSM
    region: str
    flags: dict[str, str] = Field(min_length=1)
    on_values: dict[str, str] = Field(
        default_factory=dict, description="SSM only: flag name -> the value that means on (default 'on')."
    )
    appconfig_application: str | None = None
    appconfig_profile: str | None = None
    appconfig_environment: str | None = None

    @model_validator(mode="after")
    def _appconfig_needs_ids(self) -> FlagStore:
        if self.kind is FlagStoreKind.APPCONFIG and not (
            self.appconfig_application and self.appconfig_profile and self.appconfig_environment
        ):
            raise ValueError(
                "appconfig flag store needs appconfig_application, appconfig_profile "
                "and appconfig_environment"
            )
        unknown = set(self.on_values) - set(self.flags)
        if unknown:
            raise ValueError(f"on_values names unknown flags {sorted(unknown)}")
        if self.on_values and self.kind is not FlagStoreKind.SSM:
            raise ValueError("on_values applies to ssm flags only (appconfig flags are booleans)")
        return self

    def on_value(self, flag: str) -> str:
        """The SSM value that means ``flag`` is on."""
        return self.on_values.get(flag, "on")


class TrafficMechanism(StrEnum):
    """How the service's traffic is moved between regions or versions."""

    ROUTE53 = "route53"
    ALB = "alb"
    LAMBDA = "lambda"


class Dependency(_Strict):
    """Something the service calls, how to tell it is down, and the flag that stops the calls
    (the service then serves its degraded answer: cached or default content)."""

    metric: MetricSpec | None = Field(default=None, description="The dependency's health metric.")
    alarm: str | None = Field(default=None, description="A CloudWatch alarm on the dependency's health.")
    breaker_flag: str | None = Field(
        default=None, description="A flag of this service's flag store; on = stop calling the dependency."
    )
    log_patterns: list[str] = Field(
        default_factory=list, description="Text in the service's log lines that names the dependency."
    )


class StatusPageComponents(_Strict):
    """How the service appears on the public status page (Atlassian Statuspage)."""

    name: str = Field(min_length=1, description="The service's name as customers know it.")
    components: list[str] = Field(min_length=1, description="Statuspage component ids it affects.")


class ServiceEnvironment(_Strict):
    """One service in one environment (prod, staging...)."""

    primary_region: str
    regions: dict[str, RegionResources] = Field(min_length=1)
    route53: Route53Weighted | None = None
    flags: FlagStore | None = None
    sns_topic_arn: str | None = Field(default=None, description="Internal status updates.")
    evidence_bucket: str | None = Field(default=None, description="Versioned S3 bucket.")
    service_metric: ServiceMetric | None = Field(
        default=None, description="Service-level signal that must be healthy after a traffic shift."
    )
    traffic: TrafficMechanism | None = Field(
        default=None, description="How shift_traffic moves traffic; default route53 when route53 is given."
    )
    dependencies: dict[str, Dependency] = Field(default_factory=dict)
    outage_threshold: float | None = Field(
        default=None,
        description="The key metric's value beyond which the service is down for users (maintenance page).",
    )
    status_page: StatusPageComponents | None = Field(
        default=None, description="Public status page components; none: nothing is posted there."
    )
    slack_channel: str | None = Field(
        default=None, description="Slack channel id where approval requests are posted (docs/approvals.md)."
    )

    @property
    def traffic_mechanism(self) -> TrafficMechanism | None:
        """The catalog's ``traffic:``, else Route 53 when weighted records are given."""
        if self.traffic is not None:
            return self.traffic
        return TrafficMechanism.ROUTE53 if self.route53 is not None else None

    @model_validator(mode="after")
    def _regions_consistent(self) -> ServiceEnvironment:
        if self.primary_region not in self.regions:
            raise ValueError(f"primary_region {self.primary_region!r} is not one of regions")
        if self.route53 is not None:
            unknown = set(self.route53.set_identifiers) - set(self.regions)
            if unknown:
                raise ValueError(f"route53.set_identifiers names unknown regions {sorted(unknown)}")
        metric = self.service_metric
        where = self.regions.get(metric.region or self.primary_region) if metric else None
        if metric and where and metric.name in {m.name for m in where.metrics}:
            raise ValueError(f"service_metric.name {metric.name!r} is also a metric name of its region")
        if self.traffic is TrafficMechanism.ROUTE53 and self.route53 is None:
            raise ValueError("traffic: route53 needs route53 weighted records")
        for name, dependency in self.dependencies.items():
            flag = dependency.breaker_flag
            if flag is not None and (self.flags is None or flag not in self.flags.flags):
                raise ValueError(f"dependencies.{name}.breaker_flag {flag!r} is not a flag of flags")
        return self

    def region(self, name: str) -> RegionResources:
        try:
            return self.regions[name]
        except KeyError:
            raise CatalogError(f"region {name!r} is not in the catalog") from None


class Catalog(_Strict):
    """services -> environment -> resources."""

    services: dict[str, dict[str, ServiceEnvironment]]

    def entry(self, service: str, environment: str) -> ServiceEnvironment:
        """The resources of ``service`` in ``environment``, or a CatalogError naming what is missing."""
        envs = self.services.get(service)
        if envs is None:
            known = ", ".join(sorted(self.services)) or "none"
            raise CatalogError(f"unknown service {service!r} (catalog has: {known})")
        try:
            return envs[environment]
        except KeyError:
            raise CatalogError(
                f"service {service!r} has no environment {environment!r} "
                f"(catalog has: {', '.join(sorted(envs))})"
            ) from None


# libyaml's safe loader when PyYAML was built with it: every flow run loads the catalog, and
# for 1,000 services (4 MB) it takes 2.2 s against 7.3 s for the pure-Python one (bench/).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_catalog(path: Path) -> Catalog:
    """Read and validate a catalog file; errors name the file and the field path."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # a safe loader
    except OSError as e:
        raise CatalogError(f"{path}: cannot read catalog: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise CatalogError(f"{path}: not UTF-8 text (byte {e.start})") from e
    except yaml.YAMLError as e:
        raise CatalogError(f"{path}: not valid YAML: {e}") from e
    try:
        return Catalog.model_validate(data)
    except ValidationError as e:
        raise CatalogError(f"{path}: {_first_errors(e)}") from e


def _first_errors(error: ValidationError) -> str:
    parts = []
    for err in error.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
