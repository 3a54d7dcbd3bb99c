"""Property tests: no input makes a parser raise anything but AlertParseError, and no request
makes the receiver answer 500."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from alerts.errors import AlertParseError
from alerts.sources import PARSERS, Source
from tests.alerts.fakes import Receiver, basic, bearer, receiver
from tests.alerts.signing import FIXTURES, Signer

FUZZ = settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
FIXTURE_DOCS = {path.name: json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json"))}


def _mutate(doc: Any, data: st.DataObject) -> Any:
    """Replace, drop or retype one node somewhere in ``doc``."""
    if isinstance(doc, dict) and doc and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(doc)))
        action = data.draw(st.sampled_from(["drop", "replace", "descend"]))
        copy = dict(doc)
        if action == "drop":
            del copy[key]
        elif action == "replace":
            copy[key] = data.draw(json_values)
        else:
            copy[key] = _mutate(doc[key], data)
        return copy
    if isinstance(doc, list) and doc and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(doc) - 1))
        return [*doc[:index], _mutate(doc[index], data), *doc[index + 1 :]]
    if isinstance(doc, str) and doc.startswith("{"):  # the JSON inside an SNS Message
        try:
            return json.dumps(_mutate(json.loads(doc), data))
        except ValueError:
            return doc
    return data.draw(json_values)


def _parse_or_parse_error(source: Source, body: bytes | str) -> None:
    with contextlib.suppress(AlertParseError):
        PARSERS[source](body)


@pytest.mark.parametrize("source", list(Source))
@FUZZ
@given(body=st.binary(max_size=300))
def test_parsers_survive_arbitrary_bytes(source: Source, body: bytes) -> None:
    _parse_or_parse_error(source, body)


@pytest.mark.parametrize("source", list(Source))
@FUZZ
@given(value=json_values)
def test_parsers_survive_arbitrary_json(source: Source, value: Any) -> None:
    _parse_or_parse_error(source, json.dumps(value))


@pytest.mark.parametrize("source", list(Source))
@FUZZ
@given(data=st.data())
def test_parsers_survive_mutated_fixtures(source: Source, data: st.DataObject) -> None:
    doc = FIXTURE_DOCS[data.draw(st.sampled_from(sorted(FIXTURE_DOCS)))]
    _parse_or_parse_error(source, json.dumps(_mutate(doc, data)))


@pytest.fixture(scope="module")
def rx(tmp_path_factory: pytest.TempPathFactory, signer: Signer) -> Receiver:
    return receiver(Path(tmp_path_factory.mktemp("fuzz")), signer.pem)


HEADERS = [{}, bearer(), basic(), {"X-PagerDuty-Signature": "v1=00"}, {"Authorization": "Basic ???"}]


@FUZZ
@given(
    source=st.sampled_from([*(s.value for s in Source), "nagios", "..", "%2e%2e"]),
    body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()),
    headers=st.sampled_from(HEADERS),
)
def test_receiver_never_answers_500_to_anything(
    rx: Receiver, source: str, body: bytes, headers: dict[str, str]
) -> None:
    response = rx.client.post(f"/alerts/{source}", content=body, headers=headers)
    assert response.status_code < 500 or response.status_code == 503


@FUZZ
@given(data=st.data())
def test_receiver_never_answers_500_to_mutated_authenticated_fixtures(
    rx: Receiver, data: st.DataObject, signer: Signer
) -> None:
    name = data.draw(st.sampled_from(sorted(FIXTURE_DOCS)))
    doc = _mutate(FIXTURE_DOCS[name], data)
    source = data.draw(st.sampled_from(["alertmanager", "generic", "eventbridge", "cloudwatch"]))
    if source == "cloudwatch" and isinstance(doc, dict):
        with contextlib.suppress(ValidationError):  # not an envelope: post it unsigned
            doc = signer.sign(doc)
    headers = basic() if source == "eventbridge" else bearer()
    response = rx.client.post(f"/alerts/{source}", content=json.dumps(doc), headers=headers)
    assert response.status_code in {200, 400, 401, 403}, response.text
