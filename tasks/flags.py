"""``flags.disable.<store>`` / ``flags.enable.<store>``: turn a feature flag off or back on.

State shape for every store: ``{"enabled": bool}``. The store (SSM Parameter Store or AppConfig)
comes from the catalog's ``flags.kind``; each store is a :class:`FlagBackend` in its own module,
and this module only plans. Disable and enable are each other's inverse.
"""

from __future__ import annotations

from typing import Protocol

from tasks.aws import AwsTarget
from tasks.catalog import Catalog, CatalogError, FlagStore, FlagStoreKind
from tasks.flags_appconfig import AppConfigFlag
from tasks.flags_ssm import SsmFlag
from tasks.plan import JsonDict, Plan
from tasks.steps import StateStore


class FlagBackend(StateStore, Protocol):
    """A flag store: a StateStore that can also name where a catalogued flag lives."""

    def locate(self, store: FlagStore, flag: str) -> tuple[JsonDict, str]:
        """Plan params and the target string for ``flag``."""
        ...


BACKENDS: dict[FlagStoreKind, FlagBackend] = {
    FlagStoreKind.SSM: SsmFlag(),
    FlagStoreKind.APPCONFIG: AppConfigFlag(),
}


def flag_kind(store: FlagStoreKind, enabled: bool) -> str:
    """``flags.enable.ssm``, ``flags.disable.appconfig``..."""
    return f"flags.{'enable' if enabled else 'disable'}.{store.value}"


def plan_flag_change(
    *, catalog: Catalog, service: str, environment: str, flag: str, enabled: bool, aws: AwsTarget
) -> Plan:
    """Plan turning ``flag`` of ``service`` on (``enabled=True``) or off.

    The plan's AWS region is the flag store's region from the catalog, whatever ``aws.region`` is.
    """
    store = flag_store(catalog, service, environment, flag)
    return plan_flag_write(
        store=store,
        kind=flag_kind(store.kind, enabled),
        service=service,
        environment=environment,
        flag=flag,
        enabled=enabled,
        what=f"{'Enable' if enabled else 'Disable'} flag {flag!r} of {service}/{environment}",
        aws=aws,
    )


def flag_store(catalog: Catalog, service: str, environment: str, flag: str) -> FlagStore:
    """The service's flag store, after checking that it has ``flag`` (CatalogError otherwise)."""
    store = catalog.entry(service, environment).flags
    if store is None:
        raise CatalogError(f"{service}/{environment} has no flag store in the catalog")
    if flag not in store.flags:
        raise CatalogError(
            f"{service}/{environment}: unknown flag {flag!r} (known: {', '.join(sorted(store.flags))})"
        )
    return store


def plan_flag_write(
    *,
    store: FlagStore,
    kind: str,
    service: str,
    environment: str,
    flag: str,
    enabled: bool,
    what: str,
    aws: AwsTarget,
) -> Plan:
    """Plan setting ``flag`` to ``enabled`` under action ``kind`` (a flag or a breaker kind);
    ``what`` starts the summary."""
    backend = BACKENDS[store.kind]
    target = aws.in_region(store.region)
    params, resource = backend.locate(store, flag)
    before = backend.read(kind, target, params)
    return Plan(
        kind=kind,
        service=service,
        environment=environment,
        aws=target,
        targets=[resource],
        before=before,
        after={"enabled": enabled},
        # A flag gates a feature, not a share of traffic: whoever uses the feature is touched.
        blast_radius=1.0 if before != {"enabled": enabled} else 0.0,
        summary=f"{what} ({resource})",
        params=params,
    )
