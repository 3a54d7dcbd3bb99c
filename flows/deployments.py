"""What prefect.yaml's deployments expect to find on the Prefect server before ``prefect deploy``.

Every deployment's ``settings`` parameter defaults to the Prefect Variable
``firebreak_run_settings`` (prefect.yaml reads it at deploy time), so a server holds exactly one
environment's RunSettings: timings and the records folder. The policy, the catalog and the role
are not among them: each worker's host fixes those (flows/host_config.py). Writing it through
:func:`publish_run_settings` validates it first: a typo in a field name, or a field the host
fixes, fails here, naming the field, rather than as an odd default in the UI.
Redeploy after changing it (``prefect --no-prompt deploy --all``); existing deployments keep
the settings they were deployed with.
"""

from __future__ import annotations

from prefect.variables import Variable

from flows.settings import RunSettings

WORK_POOL = "firebreak"
RUN_SETTINGS_VARIABLE = "firebreak_run_settings"


def publish_run_settings(settings: RunSettings) -> None:
    """Store ``settings`` as the default RunSettings of the next ``prefect deploy``.

    >>> publish_run_settings(RunSettings(bake_seconds=600))
    """
    value = settings.model_dump(mode="json", exclude_defaults=True)
    Variable.set(RUN_SETTINGS_VARIABLE, value, overwrite=True)
