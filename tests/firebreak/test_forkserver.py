"""The warm engine: firebreak.forkserver forks, firebreak.engine_client stands for the run.

Real processes throughout: the fork server as ``python -m firebreak.forkserver`` and the client
as the worker would start it. The engine forked is Prefect's own ``prefect.engine``; it is kept
waiting by a Prefect API that accepts connections and never answers, so that a test can signal
the client while its engine runs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from drills.prefect_server import free_port
from firebreak.engine_protocol import SOCKET_ENV

REPO = Path(__file__).resolve().parents[2]


class ForkServerProcess:
    def __init__(self, tmp_path: Path) -> None:
        self.socket = tmp_path / "engine.sock"
        self.log = tmp_path / "forkserver.log"
        empty = tmp_path / "prefect.yaml"
        empty.write_text("deployments: []\n")  # only Prefect's engine preloaded: a faster start
        command = [sys.executable, "-m", "firebreak.forkserver", "--socket", str(self.socket)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*command, "--prefect-yaml", str(empty)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for(self.socket.exists, "the fork server's socket")

    def children(self) -> list[int]:
        return [pid for pid in pids() if parent_of(pid) == self.process.pid]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=20)


@pytest.fixture
def forkserver(tmp_path: Path) -> Iterator[ForkServerProcess]:
    server = ForkServerProcess(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def silent_api() -> Iterator[str]:
    """A Prefect API URL whose server accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", free_port()))
    listener.listen(16)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/api"
    listener.close()


def pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1])


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition: object, what: str, timeout: float = 60) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {timeout}s")


def client(env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "firebreak.engine_client"]
    full_env = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api", **env}
    return subprocess.Popen(command, cwd=REPO, env=full_env, stderr=subprocess.PIPE, text=True)


def test_the_forked_engine_writes_to_the_clients_stderr_and_its_exit_code_is_the_clients(
    forkserver: ForkServerProcess,
) -> None:
    done = client({SOCKET_ENV: str(forkserver.socket), "PREFECT__FLOW_RUN_ID": "not-a-uuid"})
    _, stderr = done.communicate(timeout=60)

    assert done.returncode == 1
    assert "Invalid flow run id" in stderr  # prefect.engine's own message, through our stderr
    assert "firebreak.engine_client" not in stderr  # no fallback: the fork server ran it
    log = forkserver.log.read_text()
    assert "started for flow run not-a-uuid" in log and "exited with 1" in log


def test_without_a_fork_server_the_client_becomes_prefect_engine(tmp_path: Path) -> None:
    done = client({SOCKET_ENV: str(tmp_path / "absent.sock"), "PREFECT__FLOW_RUN_ID": "not-a-uuid"})
    _, stderr = done.communicate(timeout=60)

    assert done.returncode == 1
    assert "no fork server at" in stderr and "Invalid flow run id" in stderr


def test_a_sigkilled_client_takes_its_engine_with_it(forkserver: ForkServerProcess, silent_api: str) -> None:
    run = client({SOCKET_ENV: str(forkserver.socket), "PREFECT__FLOW_RUN_ID": str(uuid4()),
                  "PREFECT_API_URL": silent_api})  # fmt: skip
    wait_for(forkserver.children, "forked engine")
    (engine,) = forkserver.children()

    run.kill()
    run.wait(timeout=10)

    wait_for(lambda: not alive(engine), f"end of engine {engine} after its client was killed", timeout=20)
    assert f"engine {engine} exited with -9" in forkserver.log.read_text()


def test_sigterm_to_the_client_reaches_the_engine_and_the_client_exits_as_it_did(
    forkserver: ForkServerProcess, silent_api: str
) -> None:
    run = client({SOCKET_ENV: str(forkserver.socket), "PREFECT__FLOW_RUN_ID": str(uuid4()),
                  "PREFECT_API_URL": silent_api})  # fmt: skip
    wait_for(forkserver.children, "forked engine")
    (engine,) = forkserver.children()
    time.sleep(1)  # let the engine install its own signal handlers, as a worker's cancel would find it

    run.send_signal(signal.SIGTERM)
    run.wait(timeout=30)

    assert not alive(engine)
    line = next(x for x in forkserver.log.read_text().splitlines() if f"engine {engine} exited" in x)
    assert run.returncode == int(line.rpartition(" ")[2])  # the engine's own outcome, relayed
    assert run.returncode != 0


def test_after_the_code_changed_on_disk_runs_start_a_fresh_engine_instead(
    forkserver: ForkServerProcess, tmp_path: Path
) -> None:
    imported = REPO / "firebreak" / "engine_protocol.py"  # imported by the server, unchanged in content
    os.utime(imported)  # a deploy touched it

    done = client({SOCKET_ENV: str(forkserver.socket), "PREFECT__FLOW_RUN_ID": "not-a-uuid"})
    _, stderr = done.communicate(timeout=60)

    assert "fork server refused" in stderr and "Invalid flow run id" in stderr  # ran, fresh
    assert "code changed" in forkserver.log.read_text()
    assert "started for flow run" not in forkserver.log.read_text()


NOBODY = 65534


def test_a_listener_of_another_user_is_not_sent_the_runs_environment(tmp_path: Path) -> None:
    """Whoever can create the socket path first must not receive the worker's environment
    (API keys, role credentials): the client checks the listener's uid (SO_PEERCRED) and falls
    back to ``prefect.engine`` instead. The listener is bound here, then listens as nobody."""
    path = tmp_path / "engine.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    report_read, report_write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the listener, as another user
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            listener.listen(1)
            listener.settimeout(60)
            conn, _ = listener.accept()
            conn.settimeout(60)
            got = conn.recv(1 << 20)
            conn.close()
            os.write(report_write, str(len(got)).encode())
        finally:
            os._exit(0)
    listener.close()
    os.close(report_write)
    try:
        done = client({SOCKET_ENV: str(path), "PREFECT__FLOW_RUN_ID": "not-a-uuid", "CANARY": "secret"})
        _, stderr = done.communicate(timeout=60)
        received = os.read(report_read, 64).decode()
    finally:
        os.waitpid(child, 0)
        os.close(report_read)

    assert received == "0"  # the listener got nothing at all
    assert f"runs as uid {NOBODY}" in stderr and "Invalid flow run id" in stderr  # fell back
    assert done.returncode == 1


def test_a_run_naming_another_policy_is_refused_and_no_engine_starts(forkserver: ForkServerProcess) -> None:
    # Issue 26 point 1: a run's job variables may not choose the policy the host fixes.
    env = {SOCKET_ENV: str(forkserver.socket), "PREFECT__FLOW_RUN_ID": "not-a-uuid"}
    done = client({**env, "FIREBREAK_POLICY_FILE": "/home/mallory/policy.yaml"})
    _, stderr = done.communicate(timeout=60)

    assert done.returncode == 2
    assert "the worker's host refused this run: the run sets FIREBREAK_POLICY_FILE" in stderr
    assert "Invalid flow run id" not in stderr  # neither forked nor started by the client itself
    assert "started for flow run" not in forkserver.log.read_text()


def test_without_a_fork_server_the_client_itself_refuses_a_run_naming_another_policy(tmp_path: Path) -> None:
    # Issue 26 point 1: the host's checks hold when no fork server answers too. The host's
    # environment is the worker's, this client's parent (here: the test process).
    env = {SOCKET_ENV: str(tmp_path / "absent.sock"), "PREFECT__FLOW_RUN_ID": "not-a-uuid"}
    done = client({**env, "FIREBREAK_POLICY_FILE": "/home/mallory/policy.yaml"})
    _, stderr = done.communicate(timeout=60)

    assert done.returncode == 2, stderr
    assert "the worker's host refused this run: the run sets FIREBREAK_POLICY_FILE" in stderr
    assert "Invalid flow run id" not in stderr  # prefect.engine never started
