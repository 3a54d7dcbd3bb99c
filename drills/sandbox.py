"""The drill sandbox: a moto server on 127.0.0.1 standing in for production AWS.

A drill needs fake production that *other processes* can reach (the Prefect worker running the
flows), so moto runs in server mode rather than as an in-process mock. Every client reaches it
through ``tasks.aws``: ``AwsTarget(endpoint_url=sandbox.endpoint_url)`` in this process, or the
environment from :meth:`Sandbox.env` in another one.

Caveat: ThreadedMotoServer serves moto's in-process backends, the same ones ``@mock_aws``
resets. Do not use ``mock_aws`` in a process while a Sandbox is running in it.
"""

from __future__ import annotations

import logging
import os
import urllib.request
from types import TracebackType

from moto.server import ThreadedMotoServer

from drills import moto_gaps
from drills import seed_names as n
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

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, export_env: bool = False) -> None:
        self._host = host
        self._port = port
        self._export_env = export_env
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

    def start(self) -> Sandbox:
        if self._server is not None:
            raise SandboxError("the sandbox is already running")
        # werkzeug logs every request at INFO: a ticking simulator would flood the drill's output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        moto_gaps.install()
        server = ThreadedMotoServer(ip_address=self._host, port=self._port, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server, self._url = server, f"http://{host}:{port}"
        exported = self.env() if self._export_env else dict(FAKE_CREDENTIALS)
        self._set_env(exported)
        return self

    def stop(self) -> None:
        """Clear moto's state, stop the server and restore the environment. Idempotent."""
        if self._server is None:
            return
        try:
            self.reset()
        finally:
            self._server.stop()
            self._server, self._url = None, None
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
