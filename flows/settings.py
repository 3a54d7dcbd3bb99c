"""Run settings of the incident flows: serialisable, so they are plain flow parameters.

Defaults suit production (bake times in minutes); drills pass compressed values.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from policies import Policy, default_policy, load_policy_or_deny
from tasks.aws import AwsTarget
from tasks.catalog import Catalog, load_catalog
from tasks.catalog_resolve import resolve_catalog


class RunSettings(BaseModel):
    """Where the catalog and policy live, and how long to wait for things."""

    model_config = ConfigDict(frozen=True)

    catalog_path: str = Field(description="Service catalog YAML (see docs/catalog.md).")
    policy_path: str | None = Field(default=None, description="Policy YAML; None = shipped default.")
    output_dir: str = Field(default=".firebreak/incidents", description="Durable timeline records.")
    role_arn: str | None = Field(default=None, description="Role assumed for every AWS call.")
    confirm_window_seconds: int = Field(default=300, ge=1, description="Window read to confirm.")
    confirm_attempts: int = Field(default=3, ge=1, description="Reads before 'not confirmed'.")
    bake_seconds: int = Field(default=300, ge=1, description="How long a fix must hold.")
    healthy_checks: int = Field(default=3, ge=1, description="Consecutive healthy reads = recovered.")
    watch_interval_seconds: float = Field(default=15.0, gt=0)
    approval_poll_seconds: int = Field(default=2, ge=1)
    max_mitigations: int = Field(default=3, ge=1)
    recovery_steps: int = Field(default=2, ge=1, description="Steps to return shifted traffic.")
    drill: bool = Field(
        default=False, description="A drill run: its records are marked so they never rank real incidents."
    )
    drill_speed: float | None = Field(
        default=None, gt=0, description="A drill's clock (drills.clock: drill seconds per wall second); "
        "its report, postmortem and chart are in drill time.",
    )  # fmt: skip

    def catalog(self) -> Catalog:
        """The catalog, with any names given for AWS-generated ids resolved (no AWS call when
        it holds ids already; tasks.catalog_resolve)."""
        return resolve_catalog(load_catalog(Path(self.catalog_path)), self.aws)

    def load_policy(self) -> tuple[Policy, str | None]:
        """The policy, or a deny-all policy plus the error when the file is invalid (never a
        silent permissive fallback)."""
        if self.policy_path is None:
            return default_policy(), None
        return load_policy_or_deny(Path(self.policy_path))

    def aws(self, region: str) -> AwsTarget:
        return AwsTarget(region=region, role_arn=self.role_arn)

    def incident_dir(self, incident_id: str) -> Path:
        return Path(self.output_dir) / incident_id
