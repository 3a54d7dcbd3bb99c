"""The receiver's /approvals routes (issue 26 point 2) against a fake Prefect API: a signed
answer is checked against the receiver's policy and resumes the run; a forged, replayed, stale
or out-of-date one changes nothing and says why; the list of waiting steps is answered only to
a request signed by a person the policy lists. End to end with a real paused incident:
tests/flows/test_receiver_approvals.py."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from alerts.approval_routes import approvals_router
from alerts.prefect_http import PrefectHttp
from alerts.receiver import _read_capped
from flows.identity import Channel
from flows.signed_answers import sign_answer
from flows.signed_reads import SCHEME, sign_read
from tests.alerts.fakes import settings
from tests.flows.conftest import default_policy_data
from tests.people import key_of, with_people

RUN = "6f1c0c4e-8d7a-4b9e-9a51-0d2b6c1e7f10"
PLAN = "0123456789abcdef"
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


@dataclass
class FakePrefect:
    """A paused run with an approval form; records inputs and resumes as Prefect does."""

    paused: bool = True
    plan_hash: str = PLAN
    inputs: dict[str, str] = field(default_factory=dict)
    resumed: list[dict[str, Any]] = field(default_factory=list)

    def run(self) -> dict[str, Any]:
        keyset = {"schema": "approve-x-schema", "description": "approve-x-description", "response": "r"}
        state = {
            "type": "PAUSED" if self.paused else "RUNNING",
            "state_details": {
                "run_input_keyset": keyset if self.paused else None,
                "pause_timeout": (NOW + timedelta(minutes=10)).isoformat(),
            },
        }
        return {"id": RUN, "name": "checkout-prod", "state": state}

    def handle(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path.removeprefix("/api"), request.method
        if (method, path) == ("GET", f"/flow_runs/{RUN}"):
            return httpx.Response(200, json=self.run())
        if (method, path) == ("POST", "/flow_runs/filter"):
            return httpx.Response(200, json=[self.run()] if self.paused else [])
        if (method, path) == ("GET", f"/flow_runs/{RUN}/input/approve-x-schema"):
            props = {
                "approve": {}, "plan_hash": {"default": self.plan_hash}, "identity": {"default": "verified"}
            }
            return httpx.Response(200, text=json.dumps({"properties": props}))
        if (method, path) == ("GET", f"/flow_runs/{RUN}/input/approve-x-description"):
            return httpx.Response(200, text=json.dumps("### approve `rollback.ecs`?"))
        if (method, path) == ("POST", f"/flow_runs/{RUN}/input"):
            body = json.loads(request.content)
            if body["key"] in self.inputs:
                return httpx.Response(409)
            self.inputs[body["key"]] = body["value"]
            return httpx.Response(201)
        if (method, path) == ("POST", f"/flow_runs/{RUN}/resume"):
            self.resumed.append(json.loads(request.content)["run_input"])
            return httpx.Response(201, json={"status": "ACCEPT"})
        return httpx.Response(404)


@pytest.fixture
def prefect() -> FakePrefect:
    return FakePrefect()


@pytest.fixture
def receiver(tmp_path: Path, prefect: FakePrefect) -> TestClient:
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(with_people(default_policy_data())))
    config = settings(tmp_path, policy_file=policy)
    http = PrefectHttp("http://prefect/api", transport=httpx.MockTransport(prefect.handle), retry_delays=())
    app = FastAPI()
    app.include_router(approvals_router(config, read_body=_read_capped, http=http, clock=lambda: NOW))
    return TestClient(app)


def _proof(who: str = "alice", *, key: str | None = None, plan: str = PLAN, **changes: Any) -> str:
    values: dict[str, Any] = {"channel": Channel.CLI, "now": NOW, "approve": True, **changes}
    return sign_answer(approver=who, flow_run_id=RUN, plan_hash=plan, key=key_of(key or who), **values)


def test_a_signed_answer_is_checked_and_resumes_the_run(receiver: TestClient, prefect: FakePrefect) -> None:
    token = _proof()
    response = receiver.post("/approvals", json={"proof": token, "reason": "1.5.0 is bad"})
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "sent"
    (run_input,) = prefect.resumed
    assert run_input == {
        "approve": True, "approver": "alice", "reason": "1.5.0 is bad", "plan_hash": PLAN, "proof": token
    }
    assert len(prefect.inputs) == 1  # recorded under the proof's id


def test_the_same_proof_sent_again_changes_nothing(receiver: TestClient, prefect: FakePrefect) -> None:
    token = _proof()
    assert receiver.post("/approvals", json={"proof": token}).status_code == 200
    again = receiver.post("/approvals", json={"proof": token})
    assert (again.status_code, again.json()["outcome"]) == (409, "replayed")
    assert len(prefect.resumed) == 1


@pytest.mark.parametrize(
    ("proof", "said"),
    [
        (lambda: _proof("alice", key="mallory"), "the cli signature does not verify"),
        (lambda: _proof("mallory"), "mallory is not listed under the policy's people"),
        (lambda: _proof(now=NOW - timedelta(minutes=6)), "stale"),
        (lambda: _proof(channel=Channel.FORM), "a form proof"),
    ],
    ids=["another-key", "unknown-person", "stale", "form-proof"],
)
def test_an_answer_that_proves_nobody_is_403_and_resumes_nothing(
    receiver: TestClient, prefect: FakePrefect, proof: Any, said: str
) -> None:
    response = receiver.post("/approvals", json={"proof": proof()})
    assert (response.status_code, response.json()["outcome"]) == (403, "refused")
    assert said in response.json()["detail"]
    assert prefect.resumed == [] and prefect.inputs == {}


def test_an_answer_for_another_plan_or_a_run_not_waiting_ends(
    receiver: TestClient, prefect: FakePrefect
) -> None:
    changed = receiver.post("/approvals", json={"proof": _proof(plan="f" * 16)})
    assert changed.status_code == 409 and "the plan changed" in changed.json()["detail"]
    prefect.paused = False
    gone = receiver.post("/approvals", json={"proof": _proof()})
    assert gone.status_code == 409 and "no longer waiting" in gone.json()["detail"]
    assert prefect.resumed == []


def test_garbage_is_400(receiver: TestClient) -> None:
    assert receiver.post("/approvals", json={"proof": "not-a-proof"}).status_code == 400
    assert receiver.post("/approvals", content=b"{").status_code == 400


def test_the_list_is_answered_only_to_a_person_the_policy_lists(receiver: TestClient) -> None:
    assert receiver.get("/approvals").status_code == 401
    mallory = {"Authorization": f"{SCHEME} {sign_read('mallory', key_of('mallory'), NOW)}"}
    assert receiver.get("/approvals", headers=mallory).status_code == 403
    forged = {"Authorization": f"{SCHEME} {sign_read('alice', key_of('mallory'), NOW)}"}
    assert receiver.get("/approvals", headers=forged).status_code == 403
    old = NOW - timedelta(minutes=6)
    stale = {"Authorization": f"{SCHEME} {sign_read('alice', key_of('alice'), old)}"}
    assert receiver.get("/approvals", headers=stale).status_code == 403
    alice = {"Authorization": f"{SCHEME} {sign_read('alice', key_of('alice'), NOW)}"}
    response = receiver.get("/approvals", headers=alice)
    assert response.status_code == 200
    (step,) = response.json()
    assert (step["flow_run_id"], step["kind"], step["plan_hash"], step["identity"]) == (
        RUN, "approval", PLAN, "verified"
    )
    assert step["description"].startswith("### approve")
