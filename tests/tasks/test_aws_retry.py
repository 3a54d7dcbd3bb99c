"""tasks.aws.call's retry policy on connection errors: only what was never sent is sent again."""

from __future__ import annotations

import ssl

import pytest
from botocore.exceptions import EndpointConnectionError, SSLError

from tasks.aws import AwsTarget, UnconfirmedWriteError, call, client
from tests.faults import CONNECT_TIMEOUT, INJECTED_URL, break_tls_after_applying, inject_faults

NAME = "/checkout/flags/new-checkout"


def test_a_write_whose_tls_broke_after_sending_is_not_sent_again(aws: AwsTarget) -> None:
    ssm = client("ssm", aws)
    with (
        break_tls_after_applying(ssm, "ssm.PutParameter") as faults,
        pytest.raises(UnconfirmedWriteError) as err,
    ):
        call(ssm, "put_parameter", Name=NAME, Value="off", Type="String")
    assert faults.calls == 1  # sent once, never again
    assert "SSLError" in str(err.value) and "may have been applied" in str(err.value)
    assert ssm.get_parameter(Name=NAME)["Parameter"]["Value"] == "off"  # it was applied


@pytest.mark.parametrize(
    "never_sent", [CONNECT_TIMEOUT, EndpointConnectionError(endpoint_url=INJECTED_URL)], ids=type
)
def test_a_write_that_never_connected_is_sent_again(aws: AwsTarget, never_sent: Exception) -> None:
    ssm = client("ssm", aws)
    with inject_faults(ssm, "ssm.PutParameter", [never_sent]) as faults:
        call(ssm, "put_parameter", Name=NAME, Value="off", Type="String")
    assert faults.calls == 2
    assert ssm.get_parameter(Name=NAME)["Parameter"]["Value"] == "off"


def test_a_write_refused_in_the_tls_handshake_is_not_retried_blindly_either(aws: AwsTarget) -> None:
    """botocore raises the same SSLError for a failed handshake and a broken answer: a write
    cannot tell them apart, so neither is sent again."""
    ssm = client("ssm", aws)
    handshake = SSLError(
        endpoint_url=INJECTED_URL, error=ssl.SSLCertVerificationError("certificate verify failed")
    )
    with inject_faults(ssm, "ssm.PutParameter", [handshake]) as faults, pytest.raises(UnconfirmedWriteError):
        call(ssm, "put_parameter", Name=NAME, Value="off", Type="String")
    assert faults.calls == 1


def test_a_read_is_retried_after_an_ssl_error(aws: AwsTarget) -> None:
    ssm = client("ssm", aws)
    ssm.put_parameter(Name=NAME, Value="on", Type="String")
    with inject_faults(
        ssm, "ssm.GetParameter", [SSLError(endpoint_url=INJECTED_URL, error=ssl.SSLEOFError("eof"))]
    ) as faults:
        assert call(ssm, "get_parameter", Name=NAME)["Parameter"]["Value"] == "on"
    assert faults.calls == 2
