"""The flow-run command a worker starts: the run executes in a process forked from a warm server.

A process worker starts every flow run as ``python -m prefect.engine``, a new interpreter that
imports Prefect and Firebreak again (3 to 4 s of CPU on this project's 2-core machine, per run).
With ``command: <python> -m firebreak.engine_client`` in the work pool's job template (what
``firebreak stack up`` sets), the worker starts this small program instead. It hands its
environment, working directory and stdio to the fork server named by ``FIREBREAK_ENGINE_SOCKET``
(firebreak.forkserver, already imported), which forks one process that runs ``prefect.engine``.
This process then stands for the run towards the worker:

- it exits with the engine's exit code, or is killed by the same signal, so the worker reports
  the run exactly as it would report ``python -m prefect.engine``;
- SIGTERM and SIGINT (the worker cancelling the run) are passed on to the engine;
- if this process is killed outright (SIGKILL), the engine sees its connection close and kills
  itself, so no run goes on without the process the worker tracks.

Without a socket, or when the fork server does not answer or cannot take the request, it becomes
``python -m prefect.engine`` itself (exec), after making the host's checks itself
(firebreak.run_admission: the run's environment against the one the worker, this process's
parent, was started with; the run's deployment against the ``prefect.yaml`` beside Firebreak's
code). When the fork server or those checks refuse the run (another policy, catalog or role, an
entrypoint, pull steps or job variables the host does not allow), it exits 2 with the reason
instead, and never starts the engine; a run refused for its deployment is also marked Failed
with the reason. The path through a fork server imports the standard library only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import sys
import time
from typing import NoReturn

from firebreak.engine_protocol import SOCKET_ENV, ProtocolError, receive, send

_FORWARDED = (signal.SIGTERM, signal.SIGINT)
REFUSED_EXIT = 2  # the host refused the run (the fork server or admission_problem: firebreak.run_admission)


def say(message: str) -> None:
    print(f"firebreak.engine_client: {message}", file=sys.stderr, flush=True)


def refuse(reason: str) -> NoReturn:
    """End the run with the host's reason, never starting the engine."""
    say(f"the worker's host refused this run: {reason}")
    sys.exit(REFUSED_EXIT)


def admission_problem() -> str | None:
    """Why the host refuses this run, checked here because no fork server did, or None."""
    from firebreak.run_admission import (
        HOST_PREFECT_YAML,
        allowed_runs,
        environment_problem,
        refuse_run,
        run_problem,
        started_environment,
    )

    worker = os.getppid()
    try:
        host = started_environment(worker)
    except OSError as error:
        return f"cannot read the worker's environment (process {worker}) to check the run ({error})"
    problem = environment_problem(os.environ, host)
    if problem is not None:
        return problem
    run_id = os.environ.get("PREFECT__FLOW_RUN_ID", "")
    problem = run_problem(run_id, allowed_runs(HOST_PREFECT_YAML, host))
    if problem is not None:
        with contextlib.suppress(Exception):  # the refusal stands even if it cannot be written
            refuse_run(run_id, problem)
    return problem


def exec_engine() -> NoReturn:
    """After the host's checks (:func:`admission_problem`), become the ordinary flow-run process,
    exactly what the worker would have started."""
    problem = admission_problem()
    if problem is not None:
        refuse(problem)
    os.execv(sys.executable, [sys.executable, "-m", "prefect.engine", *sys.argv[1:]])


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process listening on ``sock``'s other end (Linux ``SO_PEERCRED``), or
    None where the platform cannot say."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    return int(uid)


def connect(path: str) -> socket.socket | None:
    """A connection to the fork server at ``path``, or None. The run's environment (the
    worker's credentials among it) goes only to a listener running as this process's own user:
    anyone else who created the socket first gets nothing."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as error:
        say(f"no fork server at {path} ({error}); starting prefect.engine")
        sock.close()
        return None
    uid = peer_uid(sock)
    if uid != os.getuid():
        who = "an unknown user" if uid is None else f"uid {uid}"
        say(f"the fork server at {path} runs as {who}, not uid {os.getuid()}; not sending it this "
            "run's environment; starting prefect.engine")  # fmt: skip
        sock.close()
        return None
    return sock


def exit_like(code: int) -> NoReturn:
    """Exit with ``code``, or die of signal ``-code`` as the engine did."""
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        time.sleep(5)  # a stopped or ignored signal would leave us here; say so rather than hang
        code = 1
    sys.exit(code)


def wait_for_exit(sock: socket.socket, pid: int) -> int:
    try:
        message, _ = receive(sock)
        return int(message["exit"])
    except (ProtocolError, OSError, KeyError, ValueError) as error:
        # The fork server is gone: its child (the run) may still be working; wait for it.
        say(f"lost the fork server ({error}); waiting for pid {pid}")
        while os.path.exists(f"/proc/{pid}"):
            time.sleep(0.5)
        return 1  # its exit code went with the fork server


def main() -> NoReturn:
    path = os.environ.get(SOCKET_ENV)
    sock = connect(path) if path else None
    if sock is None:
        exec_engine()
    request = {"env": dict(os.environ), "cwd": os.getcwd(), "argv": sys.argv[1:]}
    try:
        send(sock, request, fds=[0, 1, 2])
        answer, _ = receive(sock)
        if "refused" in answer:  # the host's rule, not a failure: never run around it
            refuse(str(answer["refused"]))
        pid = int(answer["pid"])
    except (ProtocolError, OSError, KeyError, ValueError) as error:
        say(f"fork server refused ({error}); starting prefect.engine")
        exec_engine()
    for forwarded in _FORWARDED:
        signal.signal(forwarded, lambda number, _frame: os.kill(pid, number))
    exit_like(wait_for_exit(sock, pid))


if __name__ == "__main__":
    main()
