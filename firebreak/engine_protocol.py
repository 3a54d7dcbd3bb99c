"""The few messages between a flow-run command (firebreak.engine_client) and a fork server.

Standard library only: the client imports this module in a fresh interpreter whose whole point
is to start fast. A message is a 4-byte big-endian length and that many bytes of JSON; the
request also carries the client's stdin, stdout and stderr as file descriptors (SCM_RIGHTS), so
the forked engine writes where a ``python -m prefect.engine`` started by the worker would.

    client -> server  {"env": {...}, "cwd": "...", "argv": [...]}  + fds 0, 1, 2
    server -> client  {"pid": N}        the forked engine process
    server -> client  {"refused": WHY}  the run changes what the host fixes; no engine starts
    server -> client  {"exit": CODE}    its exit code once it ended (negative: killed by signal -CODE)
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

SOCKET_ENV = "FIREBREAK_ENGINE_SOCKET"
_HEADER = struct.Struct(">I")
_MAX_MESSAGE = 4 * 1024 * 1024


class ProtocolError(RuntimeError):
    """The other side closed the connection or sent something that is not a message."""


def send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    body = json.dumps(message).encode()
    data = _HEADER.pack(len(body)) + body
    if fds:
        sent = socket.send_fds(sock, [data], fds)
        data = data[sent:]
    if data:
        sock.sendall(data)


def receive(sock: socket.socket, max_fds: int = 0) -> tuple[dict[str, Any], list[int]]:
    """One message and the descriptors sent with it (the caller owns and closes them)."""
    header, fds, _flags, _addr = socket.recv_fds(sock, _HEADER.size, max_fds)
    header += _read_exactly(sock, _HEADER.size - len(header)) if header else b""
    if len(header) != _HEADER.size:
        raise ProtocolError("connection closed before a message")
    (length,) = _HEADER.unpack(header)
    if length > _MAX_MESSAGE:
        raise ProtocolError(f"message of {length} bytes is over the {_MAX_MESSAGE} limit")
    message = json.loads(_read_exactly(sock, length))
    if not isinstance(message, dict):
        raise ProtocolError(f"expected a JSON object, got {type(message).__name__}")
    return message, list(fds)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            raise ProtocolError("connection closed in the middle of a message")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
