"""What the worker's host fixes for every run: the policy, the catalog and the AWS role.

The policy lists the approvers' public keys and decides what Firebreak may do; the catalog
names the resources it may touch; the role is what it acts as. Whoever chooses them controls
Firebreak, so they are never run parameters (a Prefect API holder creates runs with any
parameters): each flow process reads them from its own environment, which the host sets from
a root-owned file (docs/operations.md), and the fork server refuses a run whose environment
says otherwise (firebreak/forkserver.py). A run may carry only what cannot widen what
Firebreak may do (flows/settings.py RunSettings: timings, the records folder, drill marks).

====================== ======================================================
variable               meaning
====================== ======================================================
FIREBREAK_POLICY_FILE  the policy file (unset: the shipped policies/default.yaml)
FIREBREAK_CATALOG_FILE the service catalog file (required)
FIREBREAK_ROLE_ARN     the role assumed for every AWS call (unset: the host's own credentials)
====================== ======================================================
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

POLICY_ENV = "FIREBREAK_POLICY_FILE"
CATALOG_ENV = "FIREBREAK_CATALOG_FILE"
ROLE_ENV = "FIREBREAK_ROLE_ARN"
HOST_VARIABLES = {"policy_path": POLICY_ENV, "catalog_path": CATALOG_ENV, "role_arn": ROLE_ENV}


class HostConfigError(ValueError):
    """The host's configuration is missing or unreadable; the message names the variable."""


class HostConfig(BaseModel):
    """The policy, catalog and role of this host, as its environment names them."""

    model_config = ConfigDict(frozen=True)

    policy_file: Path | None = Field(description="None: the shipped default policy.")
    catalog_file: Path | None = Field(description="None: not set; a run that needs it fails.")
    role_arn: str | None = None

    def catalog(self) -> Path:
        """The catalog file; HostConfigError naming the variable when the host sets none."""
        if self.catalog_file is None:
            raise HostConfigError(
                f"{CATALOG_ENV} is not set: the worker's host names the service catalog (docs/operations.md)"
            )
        return self.catalog_file

    @property
    def policy_sha256(self) -> str | None:
        """The SHA-256 of the policy file's bytes (of the shipped file when none is set), None
        when it cannot be read: the run records it, so the policy a decision was made under can
        be identified later."""
        try:
            data = (
                files("policies").joinpath("default.yaml").read_bytes()
                if self.policy_file is None
                else self.policy_file.read_bytes()
            )
        except OSError:
            return None
        return hashlib.sha256(data).hexdigest()


def host_config(environ: Mapping[str, str] | None = None) -> HostConfig:
    """This host's configuration from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    catalog = env.get(CATALOG_ENV, "").strip()
    policy = env.get(POLICY_ENV, "").strip()
    role = env.get(ROLE_ENV, "").strip()
    return HostConfig(
        policy_file=Path(policy) if policy else None,
        catalog_file=Path(catalog) if catalog else None,
        role_arn=role or None,
    )


def host_environment(
    *, catalog: Path, policy: Path | None = None, role_arn: str | None = None
) -> dict[str, str]:
    """The environment variables that give a host this configuration: for the processes that
    drills, tests, benchmarks and ``firebreak stack up`` start as the flows' host."""
    env = {CATALOG_ENV: str(catalog)}
    if policy is not None:
        env[POLICY_ENV] = str(policy)
    if role_arn is not None:
        env[ROLE_ENV] = role_arn
    return env
