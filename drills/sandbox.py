"""The drill sandbox: a moto server on 127.0.0.1 standing in for production AWS.

A drill needs fake production that *other processes* can reach (the Prefect worker running the
flows), so moto runs in server mode rather than as an in-process mock. Every client reaches it
through ``tasks.aws``: ``AwsTarget(endpoint_url=sandbox.endpoint_url)`` in this process, or the
environment from :meth:`Sandbox.env` in another one.

Caveat: ThreadedMotoServer serves moto's in-process backends, the same ones ``@mock_aws``
resets. Do not use ``mock_aws`` in a process while a Sandbox is running in it.

``Sandbox(own_process=True)`` runs the same server (moto_gaps installed) as
``python -m drills.sandbox`` instead, so that a benchmark's own threads (a world simulator) and
moto answering the flows do not take turns on one interpreter lock.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from types import TracebackType

from moto.server import ThreadedMotoServer

from drills import moto_gaps
from drills import seed_names as n
from drills.prefect_server import free_port
from tasks.aws import AwsTarget

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# Dropped while the sandbox runs, so no profile or real key can be picked up by accident.
MASKED = ("AWS_PROFILE",)


class SandboxError(RuntimeError):
    """The sandbox is not running, or could not be started or reset."""


class Sandbox:
    """A moto server on a free port, with fake credentials set while it runs.

    >>> with Sandbox() as sandbox:
    ...     catalog = seed_checkout(sandbox.endpoint_url)

    ``export_env=True`` also exports the endpoint (see :meth:`env`) into ``os.environ`` so that
    subprocesses started meanwhile (a Prefect worker) inherit it; tests leave it off so that
    nothing outside the sandbox's own clients is redirected.
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, export_env: bool = False, own_process: bool = False
    ) -> None:
        self._host = host
        self._port = port
        self._export_env = export_env
        self._own_process = own_process
        self._process: subprocess.Popen[bytes] | None = None
        self._server: ThreadedMotoServer | None = None
        self._url: str | None = None
        self._saved_env: dict[str, str | None] = {}

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>``; raises SandboxError before start()."""
        if self._url is None:
            raise SandboxError("the sandbox is not running: call start() or use it as a context manager")
        return self._url

    def target(self, region: str = n.PRIMARY_REGION) -> AwsTarget:
        """An AwsTarget aimed at the sandbox in ``region``."""
        return AwsTarget(region=region, endpoint_url=self.endpoint_url)

    def env(self) -> dict[str, str]:
        """What another process must have in its environment to reach this sandbox.

        ``FIREBREAK_AWS_ENDPOINT_URL`` is what ``tasks.aws`` reads; ``AWS_ENDPOINT_URL`` also
        catches any client not built through ``tasks.aws``, so nothing can reach real AWS.
        """
        return {
            "FIREBREAK_AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": n.PRIMARY_REGION,
            **FAKE_CREDENTIALS,
        }

    @property
    def pid(self) -> int:
        """The process moto answers in (this one unless ``own_process``)."""
        return self._process.pid if self._process is not None else os.getpid()

    def start(self) -> Sandbox:
        if self._server is not None or self._process is not None:
            raise SandboxError("the sandbox is already running")
        if self._own_process:
            self._start_process()
        else:
            server = serve(self._host, self._port)
            host, port = server.get_host_and_port()
            self._server, self._url = server, f"http://{host}:{port}"
        exported = self.env() if self._export_env else dict(FAKE_CREDENTIALS)
        self._set_env(exported)
        return self

    def _start_process(self) -> None:
        port = self._port or free_port()
        command = [sys.executable, "-m", "drills.sandbox", "--host", self._host, "--port", str(port)]
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        self._url = f"http://{self._host}:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SandboxError(f"the sandbox process exited with {self._process.returncode}")
            try:
                with urllib.request.urlopen(f"{self._url}/moto-api/data.json", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise SandboxError(f"the sandbox process did not answer at {self._url} within 60 s")

    def stop(self) -> None:
        """Clear moto's state, stop the server and restore the environment. Idempotent."""
        if self._server is None and self._process is None:
            return
        try:
            self.reset()
        finally:
            if self._server is not None:
                self._server.stop()
            if self._process is not None:
                self._process.terminate()
                self._process.wait(timeout=15)
            self._server, self._process, self._url = None, None, None
            self._restore_env()

    def reset(self) -> None:
        """Forget every resource (POST /moto-api/reset), e.g. between drills."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status = response.status
        except OSError as e:
            raise SandboxError(f"could not reset the sandbox at {self.endpoint_url}: {e}") from e
        if status != 200:
            raise SandboxError(f"sandbox reset answered HTTP {status}")

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _set_env(self, values: dict[str, str]) -> None:
        for name in (*values, *MASKED):
            self._saved_env.setdefault(name, os.environ.get(name))
        for name in MASKED:
            os.environ.pop(name, None)
        os.environ.update(values)

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()


def serve(host: str, port: int) -> ThreadedMotoServer:
    """moto in server mode on ``host:port`` (0: a free port), its gaps filled, started."""
    # werkzeug logs every request at INFO: a ticking simulator would flood the drill's output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto_gaps.install()
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m drills.sandbox", description="The drill sandbox alone.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    # moto's backends are hundreds of thousands of long-lived objects and little garbage: with
    # the default thresholds every few thousand allocations start a collection that walks them
    # all, a pause of seconds for every request (and world tick) waiting on this process.
    gc.set_threshold(100_000, 50, 100)
    server = serve(args.host, args.port)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
