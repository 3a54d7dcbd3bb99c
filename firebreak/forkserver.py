"""A warm interpreter that forks one flow-run process per run (the other half of engine_client).

``python -m firebreak.forkserver --socket PATH`` imports Prefect's engine and every flow module
prefect.yaml names and parses the AWS service models (tasks.aws.warm_service_models), once,
then listens on a Unix socket. For each request from
firebreak.engine_client it forks a child that takes the client's stdio, environment and working
directory and runs ``prefect.engine`` exactly as ``python -m prefect.engine`` would: one process
per run, as with the stock process worker (a crash or an out-of-memory kill costs one incident,
cancellation and crash reporting stay Prefect's), without the 3 to 4 s of imports per run.

Forking is only safe from a single-threaded process: the server refuses to start if importing
the flows left a thread running, and it never starts one itself (one ``select`` loop; children
are reaped in it and their exit codes sent back to their clients).

Start one per worker, with the worker's environment (``firebreak stack up`` does), and give the
worker ``FIREBREAK_ENGINE_SOCKET=PATH``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import os
import runpy
import select
import signal
import socket
import sys
import threading
import traceback
import warnings
from pathlib import Path
from typing import Any, NoReturn

import yaml

from firebreak.engine_protocol import ProtocolError, receive, send
from firebreak.run_admission import (
    REFUSED_EXIT,
    AllowedRuns,
    allowed_runs,
    environment_problem,
    refuse_run,
    run_problem,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUEST_TIMEOUT = 5.0  # seconds for a client to send its request once connected
ENGINE_MODULES = ("prefect.engine", "prefect.flow_engine", "prefect.flows", "prefect.deployments.steps")


class ForkUnsafeError(RuntimeError):
    """Something imported before the first fork started a thread; forking now could deadlock."""


def flow_modules(prefect_yaml: Path) -> list[str]:
    """The modules of every deployment's entrypoint (``flows/incident.py:f`` -> ``flows.incident``)."""
    document = yaml.safe_load(prefect_yaml.read_text())
    files = {d["entrypoint"].partition(":")[0] for d in document.get("deployments", [])}
    return sorted(f.removesuffix(".py").replace("/", ".") for f in files)


def preload(modules: list[str]) -> None:
    """Import Prefect's engine and ``modules``, and parse the AWS service models the runs use."""
    for module in [*ENGINE_MODULES, *modules]:
        importlib.import_module(module)
    from tasks.aws import warm_service_models

    warm_service_models()  # ~0.4 s of JSON parsing each run would otherwise repeat
    extra = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if extra:
        raise ForkUnsafeError(f"importing the flows started threads {extra}; cannot fork safely")


def request_problem(request: dict[str, Any], fds: list[int]) -> str | None:
    """Why ``request`` cannot be run, or None (checked before forking, not in the child)."""
    if len(fds) != 3:
        return f"request with {len(fds)} descriptors, not 3 (stdin, stdout, stderr)"
    env, cwd, argv = request.get("env"), request.get("cwd"), request.get("argv")
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        return "request without an environment of strings"
    if not isinstance(cwd, str) or not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        return "request without a working directory and a list of arguments"
    return None


def source_fingerprint(root: Path = REPO_ROOT) -> dict[str, int]:
    """Modification time (ns) of every imported module file under ``root``: Firebreak's code."""
    files = {getattr(m, "__file__", None) for m in list(sys.modules.values())}
    inside = [Path(f) for f in files if f and Path(f).is_relative_to(root)]
    return {str(f): f.stat().st_mtime_ns for f in inside if f.exists()}


class ForkServer:
    """Accepts requests on ``socket_path``; one forked engine per request.

    A request arriving after Firebreak's code changed on disk (a deploy without a restart) is
    refused, so that its client starts a fresh ``prefect.engine`` with the new code. A request
    whose environment changes what the host fixes (firebreak.run_admission) is refused with the
    reason, and its client ends the run with it instead of starting an engine.
    """

    def __init__(self, socket_path: Path, allowed: AllowedRuns) -> None:
        self.socket_path = socket_path
        self.allowed = allowed
        self.children: dict[int, socket.socket] = {}
        self.fingerprint = source_fingerprint()
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()  # a stale socket from a previous server
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(socket_path))
        os.chmod(socket_path, 0o600)  # whoever can connect can run code as this user
        self.listener.listen(64)

    def serve_forever(self) -> None:
        while True:
            readable, _, _ = select.select([self.listener], [], [], 0.05)
            if readable:
                connection, _ = self.listener.accept()
                self.start_engine(connection)
            self.reap()

    def start_engine(self, connection: socket.socket) -> None:
        connection.settimeout(REQUEST_TIMEOUT)  # one stuck client must not stall every other run
        try:
            request, fds = receive(connection, max_fds=3)
            connection.settimeout(None)
        except (ProtocolError, OSError, ValueError) as error:
            print(f"forkserver: bad request ({error}); refused", file=sys.stderr, flush=True)
            connection.close()  # the client, seeing no pid, checks the run and starts prefect.engine itself
            return
        problem = request_problem(request, fds)
        refusal = environment_problem(request["env"], os.environ) if problem is None else None
        if refusal is not None:  # the host's configuration: said to the client, never run around
            print(f"forkserver: {refusal}", file=sys.stderr, flush=True)
            for fd in fds:
                os.close(fd)
            with contextlib.suppress(OSError):
                send(connection, {"refused": refusal})
            connection.close()
            return
        if problem is None and source_fingerprint() != self.fingerprint:
            problem = "Firebreak's code changed since this server imported it (restart it)"
        if problem is not None:
            print(f"forkserver: {problem}; refused", file=sys.stderr, flush=True)
            for fd in fds:
                os.close(fd)
            connection.close()
            return
        pid = os.fork()
        if pid == 0:
            self._become_engine(connection, request, fds)
        for fd in fds:
            os.close(fd)
        run = request["env"].get("PREFECT__FLOW_RUN_ID", "?")
        print(f"forkserver: engine {pid} started for flow run {run}", file=sys.stderr, flush=True)
        with contextlib.suppress(OSError):  # the client died already: its engine sees that and ends
            send(connection, {"pid": pid})
        self.children[pid] = connection

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            print(f"forkserver: engine {pid} exited with {code}", file=sys.stderr, flush=True)
            connection = self.children.pop(pid, None)
            if connection is None:
                continue
            with contextlib.suppress(OSError):
                send(connection, {"exit": code})
            connection.close()

    def _become_engine(self, connection: socket.socket, request: dict[str, Any], fds: list[int]) -> NoReturn:
        """In the child: take the client's place and run ``prefect.engine`` as its ``__main__``."""
        code: int = 1
        try:
            self.listener.close()
            for other in self.children.values():
                other.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            sys.argv = [sys.argv[0], *request["argv"]]
            import prefect.context

            prefect.context.refresh_global_settings_context()  # the run's own environment
            threading.Thread(target=_die_with_client, args=(connection,), daemon=True).start()
            run_id = request["env"].get("PREFECT__FLOW_RUN_ID", "")
            refusal = run_problem(run_id, self.allowed)  # before the engine: nothing of the run ran
            if refusal is None:
                code = _run_engine()
            else:
                print(f"firebreak.forkserver: the worker's host refused this run: {refusal}", file=sys.stderr)
                code = REFUSED_EXIT
                with contextlib.suppress(Exception):  # the refusal stands even if it cannot be written
                    refuse_run(run_id, refusal)
        except BaseException:  # noqa: BLE001 - whatever happens, the child must not return into the server
            traceback.print_exc()
        finally:
            with contextlib.suppress(BaseException):
                atexit._run_exitfuncs()  # what a normal interpreter exit runs (Prefect flushes logs there)
            with contextlib.suppress(BaseException):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)


def _run_engine() -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "found in sys.modules": it was preloaded
        try:
            runpy.run_module("prefect.engine", run_name="__main__", alter_sys=True)
        except SystemExit as done:
            if done.code is None or isinstance(done.code, int):
                return done.code or 0
            print(done.code, file=sys.stderr)
            return 1
    return 0


def _die_with_client(connection: socket.socket) -> None:
    """The client never writes after its request: a read returning means it is gone."""
    with contextlib.suppress(OSError):
        connection.recv(1)
    os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m firebreak.forkserver",
        description="Import Prefect and the flows once; fork one flow-run process per run "
        "for firebreak.engine_client (set FIREBREAK_ENGINE_SOCKET to --socket for the worker).",
    )
    parser.add_argument("--socket", type=Path, required=True, help="Unix socket path to listen on.")
    parser.add_argument(
        "--prefect-yaml", type=Path, default=REPO_ROOT / "prefect.yaml",
        help="Whose deployments' flow modules to import before the first fork, and the only "
        "entrypoints and pull steps its runs may have.",
    )  # fmt: skip
    args = parser.parse_args(argv)
    preload(flow_modules(args.prefect_yaml))
    server = ForkServer(args.socket, allowed_runs(args.prefect_yaml, os.environ))
    print(f"forkserver: ready on {args.socket} (pid {os.getpid()})", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            args.socket.unlink()


if __name__ == "__main__":
    main()
