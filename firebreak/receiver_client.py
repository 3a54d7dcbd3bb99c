"""The approver's side of the receiver's ``/approvals`` routes: list and answer without Prefect.

``firebreak pending --receiver URL`` and ``firebreak approve --receiver URL`` use these, so an
approver needs their own key and the receiver's address, not the Prefect API or its credential.
Every request is signed with the approver's key (flows/signed_reads.py for the list,
flows/signed_answers.py for an answer); the receiver checks it against the policy on its host.
"""

from __future__ import annotations

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from flows.pending import PendingStep
from flows.signed_reads import SCHEME, sign_read

TIMEOUT_SECONDS = 15.0


class ReceiverError(RuntimeError):
    """The receiver refused the request or could not be reached; the message says which and why."""


def connect(url: str) -> httpx.Client:
    """An HTTP client of the receiver at ``url`` (e.g. ``https://firebreak.example.com``)."""
    return httpx.Client(base_url=url.rstrip("/"), timeout=TIMEOUT_SECONDS)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)[:300]


def _refused(what: str, response: httpx.Response) -> str:
    return f"the receiver refused {what} (HTTP {response.status_code}): {_detail(response)}"


def _send(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    try:
        return client.send(request)
    except httpx.TransportError as e:
        raise ReceiverError(f"receiver {client.base_url} unreachable: {e}") from e


def waiting_steps(client: httpx.Client, *, person: str, key: Ed25519PrivateKey) -> list[PendingStep]:
    """What waits for a human, as the receiver lists it to ``person`` (signed with ``key``)."""
    headers = {"Authorization": f"{SCHEME} {sign_read(person, key)}"}
    response = _send(client, client.build_request("GET", "/approvals", headers=headers))
    if response.status_code != 200:
        raise ReceiverError(_refused("the list", response))
    try:
        return [PendingStep.model_validate(item) for item in response.json()]
    except (ValueError, ValidationError) as e:
        raise ReceiverError(f"the receiver answered something else than a list of steps: {e}") from e


def send_answer(client: httpx.Client, *, proof: str, reason: str) -> str:
    """Send a signed answer; the receiver's account of it, or ReceiverError saying why not."""
    request = client.build_request("POST", "/approvals", json={"proof": proof, "reason": reason})
    response = _send(client, request)
    if response.status_code != 200:
        raise ReceiverError(_refused("the answer", response))
    return _detail(response)
