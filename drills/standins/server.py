"""What every vendor stand-in shares: a local HTTP server in a thread that reads each request's
JSON body and answers JSON. A stand-in subclass says only what its vendor would answer."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


@dataclass(frozen=True)
class Request:
    """One request as the stand-in sees it; ``body`` is {} when it is not a JSON object."""

    method: str
    path: str
    headers: Message
    body: dict[str, Any]


class JsonStandIn:
    """``with SomeStandIn() as s:`` serves on ``s.url`` until the block ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        """The status and JSON body the vendor would answer ``request`` with."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(stand_in: JsonStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                body = {}
            request = Request(self.command, self.path, self.headers, body if isinstance(body, dict) else {})
            status, answer = stand_in.answer(request)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
