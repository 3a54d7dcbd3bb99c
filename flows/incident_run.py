"""What every stage of one incident needs to know, built once at the start of the flow run."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC

from alerts.models import Alert
from flows.host_config import host_config
from flows.settings import RunSettings
from flows.timeline import Stage, Timeline
from policies import Mode, Policy, Severity
from tasks.aws import AwsTarget
from tasks.catalog import Catalog, ServiceEnvironment


@dataclass
class IncidentRun:
    """The incident's identity, configuration and audit log (not a Prefect parameter)."""

    incident_id: str
    alert: Alert
    settings: RunSettings
    catalog: Catalog
    entry: ServiceEnvironment
    policy: Policy
    timeline: Timeline
    severity: Severity
    requester: str = "firebreak"

    @classmethod
    def begin(
        cls,
        alert: Alert,
        settings: RunSettings,
        timeline: Timeline,
        *,
        stage: Stage,
        severity: Severity = Severity.SEV_3,
        requester: str = "firebreak",
    ) -> IncidentRun:
        """The run for a routable ``alert``, with the settings' policy and catalog. An invalid
        policy is recorded in the timeline at ``stage``: it denies every mutating action."""
        policy, policy_error = settings.load_policy()
        host = host_config()
        timeline.add(
            stage,
            "host-config",
            f"policy {host.policy_file or 'shipped default'} (sha256 {host.policy_sha256}), "
            f"catalog {host.catalog_file}, role {host.role_arn or 'the host credentials'}",
            policy_file=str(host.policy_file) if host.policy_file else None,
            policy_sha256=host.policy_sha256,
            catalog_file=str(host.catalog_file) if host.catalog_file else None,
            role_arn=host.role_arn,
        )
        if policy_error:
            timeline.add(stage, "policy-invalid", f"{policy_error}; every action will be denied")
        catalog = settings.catalog()
        return cls(
            incident_id=timeline.incident_id,
            alert=alert,
            settings=settings,
            catalog=catalog,
            entry=catalog.entry(alert.service or "", alert.environment or ""),
            policy=policy,
            timeline=timeline,
            severity=severity,
            requester=requester,
        )

    @property
    def service(self) -> str:
        assert self.alert.service is not None
        return self.alert.service

    @property
    def environment(self) -> str:
        assert self.alert.environment is not None
        return self.alert.environment

    @property
    def mode(self) -> Mode:
        """act or shadow, as the policy says for this environment."""
        return self.policy.mode_for(self.environment)

    @property
    def region(self) -> str:
        return self.alert.region or self.entry.primary_region

    def aws(self, region: str | None = None) -> AwsTarget:
        return self.settings.aws(region or self.region)


ID_HASH_HEX = 32  # 128 bits: finding two alerts with one id is out of reach


def incident_id_for(alert: Alert) -> str:
    """A readable, stable id: the same alert occurrence always gets the same incident id
    (``INC-<onset UTC>-<128 bits of the hash of its dedup key>``). Ids made before this had
    24 bits (6 hex digits); their records stay readable, because every reader takes the id as
    an opaque name."""
    digest = hashlib.sha256(alert.dedup_key.encode()).hexdigest()[:ID_HASH_HEX]
    return f"INC-{alert.starts_at.astimezone(UTC):%Y%m%d-%H%M}-{digest}"
