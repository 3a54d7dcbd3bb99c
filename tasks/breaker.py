"""``breaker.open.<store>`` / ``breaker.close.<store>``: stop (or resume) calling a failing dependency.

The catalog names, per dependency, the service's flag that makes it stop calling the
dependency and serve its degraded answer (``dependencies.NAME.breaker_flag``): opening the
breaker switches that flag on, closing it switches it off. The flag lives in the service's flag
store, so the state, the stores and their guarantees are those of tasks.flags
(``{"enabled": bool}``); the kinds are the breaker's own so that the policy can automate
opening (containment) apart from closing (part of recovery).
"""

from __future__ import annotations

from tasks.aws import AwsTarget
from tasks.catalog import Catalog, CatalogError, FlagStoreKind
from tasks.flags import flag_store, plan_flag_write
from tasks.plan import Plan


def breaker_kind(store: FlagStoreKind, open_: bool) -> str:
    """``breaker.open.ssm``, ``breaker.close.appconfig``..."""
    return f"breaker.{'open' if open_ else 'close'}.{store.value}"


def plan_breaker(
    *, catalog: Catalog, service: str, environment: str, dependency: str, open: bool, aws: AwsTarget
) -> Plan:
    """Plan opening (``open=True``) or closing the breaker of ``dependency``.

    Raises CatalogError when the service has no such dependency or the dependency no breaker flag.
    """
    dependencies = catalog.entry(service, environment).dependencies
    if dependency not in dependencies:
        known = ", ".join(sorted(dependencies)) or "none"
        raise CatalogError(f"{service}/{environment}: unknown dependency {dependency!r} (known: {known})")
    flag = dependencies[dependency].breaker_flag
    if flag is None:
        raise CatalogError(f"{service}/{environment}: dependency {dependency!r} has no breaker_flag")
    store = flag_store(catalog, service, environment, flag)
    verb = "Open" if open else "Close"
    return plan_flag_write(
        store=store,
        kind=breaker_kind(store.kind, open),
        service=service,
        environment=environment,
        flag=flag,
        enabled=open,
        what=f"{verb} the breaker of {service}/{environment} to {dependency!r} (flag {flag!r} "
        f"{'on' if open else 'off'})",
        aws=aws,
    )
