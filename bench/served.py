"""The incident-response deployment, served by ``prefect.serve`` in a subprocess.

This is Prefect's own long-running runner (no prefect.yaml, no work pool): it registers the
deployment ``incident-response/incident`` with the benchmark's RunSettings as the default
``settings`` parameter (the receiver sends only ``alert``), polls for scheduled runs every
PREFECT_RUNNER_POLL_FREQUENCY seconds and starts each in its own process, as production does.

The deployment is built from the entrypoint, not from the imported flow: ``incident_response
.serve()`` would cloudpickle the flow into a spawned process, and that copy cannot validate its
parameters (``Incident_ResponseModel is not fully defined; define Alert``: the postponed
annotations of flows/incident.py do not travel by value). From the entrypoint, each run is
``python -m prefect.engine`` importing flows/incident.py, exactly as a process worker runs it.

Run by :class:`ServedDeployment`; by hand: ``python -m bench.served SETTINGS_JSON``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx
from prefect import serve
from prefect.deployments.runner import RunnerDeployment

from bench.stack import REPO_ROOT
from flows.settings import RunSettings

ENTRYPOINT = "flows/incident.py:incident_response"
DEPLOYMENT_NAME = "incident"
DEPLOYMENT_PATH = f"/deployments/name/incident-response/{DEPLOYMENT_NAME}"


class ServeError(RuntimeError):
    """The serve process exited or did not register its deployment in time (its log says why)."""


class ServedDeployment:
    """``with ServedDeployment(settings, workdir, api_url=...) as served: served.deployment_id``."""

    def __init__(
        self,
        settings: RunSettings,
        workdir: Path,
        *,
        api_url: str,
        poll_seconds: int = 1,
        limit: int = 5,
        start_timeout: float = 120,
    ) -> None:
        self.settings = settings
        self.workdir = workdir
        self.api_url = api_url
        self.poll_seconds = poll_seconds
        self.limit = limit
        self.start_timeout = start_timeout
        self.deployment_id = ""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "serve.log"

    def start(self) -> ServedDeployment:
        settings_path = self.workdir / "settings.json"
        settings_path.write_text(self.settings.model_dump_json())
        env = {**os.environ, "PREFECT_RUNNER_POLL_FREQUENCY": str(self.poll_seconds)}
        command = [sys.executable, "-m", "bench.served", str(settings_path), "--limit", str(self.limit)]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.deployment_id = self._wait_for_deployment()
        return self

    def _wait_for_deployment(self) -> str:
        """The deployment id, once serve has registered it (its runner polls right after)."""
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServeError(f"serve exited with {self._process.returncode}; see {self.log_path}")
            response = httpx.get(f"{self.api_url}{DEPLOYMENT_PATH}", timeout=5)
            if response.status_code == 200:
                return str(response.json()["id"])
            time.sleep(0.5)
        self.stop()
        raise ServeError(f"deployment not registered after {self.start_timeout}s; see {self.log_path}")

    def stop(self) -> None:
        """SIGINT first (the runner cancels its runs and exits), then kill. Idempotent."""
        if self._process is None or self._process.poll() is not None:
            self._process = None
            return
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        self._process = None

    def __enter__(self) -> ServedDeployment:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def deployment(settings: RunSettings) -> RunnerDeployment:
    """``incident-response/incident`` from the entrypoint, with ``settings`` as the default."""
    return RunnerDeployment.from_entrypoint(
        ENTRYPOINT, name=DEPLOYMENT_NAME, parameters={"settings": settings.model_dump(mode="json")}
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("settings", type=Path, help="RunSettings JSON: the deployment's default settings.")
    parser.add_argument("--limit", type=int, default=5, help="Flow runs executed at once.")
    args = parser.parse_args(argv)
    settings = RunSettings.model_validate_json(args.settings.read_text())
    serve(deployment(settings), limit=args.limit, print_starting_message=False)


if __name__ == "__main__":
    main()
