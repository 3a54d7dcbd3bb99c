"""What the worker's host lets a flow run bring: checked by the fork server before it forks.

A process worker builds each run's environment from its own, the work pool's base job
template and the run's job variables, and the last two can be changed by anyone who holds the
Prefect API. The fork server was started by the host with the host's configuration
(flows/host_config.py), so it compares the run's environment with its own before forking and
refuses a run that names another policy, catalog or role, or that changes how Python starts,
saying which variable differs. (The stock ``python -m prefect.engine`` path, when no fork server
answers, has no such check: docs/security.md.)
"""

from __future__ import annotations

from collections.abc import Mapping

from flows.host_config import CATALOG_ENV, POLICY_ENV, ROLE_ENV

# Must be exactly the host's, set or unset: each one decides what Firebreak may do or what code runs.
FIXED = (
    POLICY_ENV,
    CATALOG_ENV,
    ROLE_ENV,
    "FIREBREAK_AWS_ENDPOINT_URL",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
)
# Must be the host's where the host sets them: where the run's engine reads its flow and records.
FIXED_WHERE_SET = (
    "PREFECT_API_URL",
    "PREFECT_API_AUTH_STRING",
    "FIREBREAK_HOME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


def environment_problem(run: Mapping[str, str], host: Mapping[str, str]) -> str | None:
    """Why the run's environment may not start here, or None when it keeps what the host fixes.

    >>> environment_problem({"FIREBREAK_POLICY_FILE": "/tmp/mine.yaml"}, {})
    'the run sets FIREBREAK_POLICY_FILE, which this host fixes (unset here): refused'
    """
    for name in (*FIXED, *(n for n in FIXED_WHERE_SET if n in host)):
        if run.get(name) != host.get(name):
            here = "unset here" if name not in host else "set otherwise here"
            verb = "sets" if name in run else "unsets"
            return f"the run {verb} {name}, which this host fixes ({here}): refused"
    return None
