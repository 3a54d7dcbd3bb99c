"""The worker that starts a run only through Firebreak's engine client (``python -m firebreak.worker``).

Prefect's process worker starts each flow run with the command its configuration resolves to:
the work pool's base job template, then the deployment's and the run's job variables. Anyone
who holds the Prefect API can set that command, and then the engine client, which makes the
host's run checks (firebreak.run_admission), never runs. :class:`FirebreakWorker` is Prefect's
ProcessWorker with one check first: before any process starts, a run whose resolved command is
not the host's engine-client command (firebreak.pool_command.engine_client_command, with this
worker's Python), or whose environment changes what the host fixes
(firebreak.run_admission.environment_problem against this worker's own environment: variables
such as ``LD_PRELOAD`` act before any Python code of the client), is marked Failed with the
reason and never started.

Start it as ``python -m firebreak.worker --pool firebreak`` (what ``firebreak stack up`` does);
it takes the pool, the worker's name, its concurrency limit and how far ahead it fetches runs,
and, like ``prefect worker start``, Prefect's settings (``PREFECT_API_URL``,
``PREFECT_WORKER_QUERY_SECONDS``, ``PREFECT_WORKER_HEARTBEAT_SECONDS``...) from its environment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio.abc
from prefect.client.schemas.objects import State
from prefect.exceptions import Abort
from prefect.settings import PREFECT_WORKER_HEARTBEAT_SECONDS
from prefect.states import Failed
from prefect.utilities.engine import propose_state
from prefect.utilities.processutils import setup_signal_handlers_worker
from prefect.workers.process import ProcessJobConfiguration, ProcessWorker, ProcessWorkerResult

from firebreak.pool_command import engine_client_command
from firebreak.run_admission import environment_problem

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun


class RunRefusedError(RuntimeError):
    """The worker's host refused to start a run (its message says why); the run is marked Failed."""


def launch_problem(
    command: str | None, env: Mapping[str, str | None], *, expected: str, host: Mapping[str, str]
) -> str | None:
    """Why a run resolved to ``command`` and ``env`` may not be started by this worker, or None. Pure.

    >>> launch_problem("sh evil.sh", {}, expected="python -m firebreak.engine_client", host={})
    "the run's command is 'sh evil.sh', not this host's 'python -m firebreak.engine_client': refused"
    """
    if command != expected:
        return f"the run's command is {command!r}, not this host's {expected!r}: refused"
    return environment_problem({k: v for k, v in env.items() if v is not None}, host)


class FirebreakWorker(ProcessWorker):
    """A process worker that starts only runs whose command is the engine client with this
    worker's Python (:attr:`expected_command`) and whose environment keeps what the host fixes.

    It polls ``process`` pools like Prefect's; its dispatch key differs, so that importing it does
    not replace ProcessWorker in Prefect's registry of worker types.
    """

    expected_command = engine_client_command(sys.executable)

    @classmethod
    def __dispatch_key__(cls) -> str:
        return "firebreak-process"

    async def run(
        self,
        flow_run: FlowRun,
        configuration: ProcessJobConfiguration,
        task_status: anyio.abc.TaskStatus[int] | None = None,
    ) -> ProcessWorkerResult:
        problem = launch_problem(
            configuration.command, configuration.env, expected=self.expected_command, host=os.environ
        )
        if problem is None:
            return await super().run(flow_run, configuration, task_status)
        self.get_flow_run_logger(flow_run).error(f"The worker's host refused this run: {problem}")
        refused: State[Any] = Failed(message=f"refused by the worker's host: {problem}")
        with contextlib.suppress(Abort):  # the run already ended (cancelled meanwhile): nothing started
            await propose_state(self.client, refused, flow_run_id=flow_run.id)
        # Prefect's own path for a run whose infrastructure did not start: it logs the error and
        # proposes Crashed, which the server refuses for a run already Failed.
        raise RunRefusedError(problem)


async def serve(args: argparse.Namespace) -> None:
    setup_signal_handlers_worker(os.getpid(), "the Firebreak worker", print)
    worker = FirebreakWorker(
        work_pool_name=args.pool,
        name=args.name,
        limit=args.limit,
        prefetch_seconds=args.prefetch_seconds,
        heartbeat_interval_seconds=int(PREFECT_WORKER_HEARTBEAT_SECONDS.value()),
        create_pool_if_not_found=False,
    )
    print(f"Firebreak worker: starting only runs whose command is {worker.expected_command!r}", flush=True)
    await worker.start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m firebreak.worker",
        description="Poll a process work pool and start each flow run as Prefect's process worker "
        "does, but only when its command is Firebreak's engine client with this Python "
        f"({engine_client_command(sys.executable)}) and its environment keeps what this host fixes; "
        "any other run is marked Failed with the reason, and nothing of it is started.",
    )
    parser.add_argument("--pool", required=True, help="The work pool to poll (it must exist).")
    parser.add_argument("--name", help="The worker's name in Prefect (default: a random one).")
    parser.add_argument("--limit", type=int, help="At most this many flow runs at once (default: no limit).")
    parser.add_argument(
        "--prefetch-seconds", type=float,
        help="Fetch runs scheduled up to this far ahead (default: PREFECT_WORKER_PREFETCH_SECONDS).",
    )  # fmt: skip
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):  # stopped with Ctrl-C or SIGINT: the runs were told
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
