"""Run settings of the incident flows: serialisable, so they are plain flow parameters.

Defaults suit production (bake times in minutes); drills pass compressed values. The policy,
the catalog and the AWS role are not among them: the worker's host fixes those
(flows/host_config.py), and a run that names one is refused, saying which variable sets it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flows.host_config import HOST_VARIABLES, host_config
from policies import Policy, default_policy, load_policy_or_deny
from tasks.aws import AwsTarget
from tasks.catalog import Catalog, load_catalog
from tasks.catalog_resolve import resolve_catalog


class RunSettings(BaseModel):
    """How long to wait for things and where records go; what a run may choose."""

    model_config = ConfigDict(frozen=True)

    output_dir: str = Field(default=".firebreak/incidents", description="Durable timeline records.")
    confirm_window_seconds: int = Field(default=300, ge=1, description="Window read to confirm.")
    confirm_attempts: int = Field(default=3, ge=1, description="Reads before 'not confirmed'.")
    bake_seconds: int = Field(default=300, ge=1, description="How long a fix must hold.")
    healthy_checks: int = Field(default=3, ge=1, description="Consecutive healthy reads = recovered.")
    watch_interval_seconds: float = Field(default=15.0, gt=0)
    approval_poll_seconds: int = Field(default=2, ge=1)
    max_mitigations: int = Field(
        default=3, ge=1, le=3, description="Candidates planned per region; a run may ask fewer, never more."
    )
    recovery_steps: int = Field(default=2, ge=1, description="Steps to return shifted traffic.")
    drill: bool = Field(
        default=False, description="A drill run: its records are marked so they never rank real incidents."
    )
    drill_speed: float | None = Field(
        default=None, gt=0, description="A drill's clock (drills.clock: drill seconds per wall second); "
        "its report, postmortem and chart are in drill time.",
    )  # fmt: skip

    @model_validator(mode="before")
    @classmethod
    def _nothing_the_host_fixes(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for field, variable in HOST_VARIABLES.items():
                if field in data:
                    raise ValueError(
                        f"{field} is not a run parameter: the worker's host fixes it ({variable}); "
                        "remove it from the run's or the deployment's settings"
                    )
        return data

    def catalog(self) -> Catalog:
        """The host's catalog, with any names given for AWS-generated ids resolved (no AWS call
        when it holds ids already; tasks.catalog_resolve)."""
        return resolve_catalog(load_catalog(host_config().catalog()), self.aws)

    def load_policy(self) -> tuple[Policy, str | None]:
        """The host's policy, or a deny-all policy plus the error when the file is invalid
        (never a silent permissive fallback)."""
        policy_file = host_config().policy_file
        if policy_file is None:
            return default_policy(), None
        return load_policy_or_deny(policy_file)

    def aws(self, region: str) -> AwsTarget:
        """Where to act in ``region``, as the host's role."""
        return AwsTarget(region=region, role_arn=host_config().role_arn)

    def incident_dir(self, incident_id: str) -> Path:
        return Path(self.output_dir) / incident_id
