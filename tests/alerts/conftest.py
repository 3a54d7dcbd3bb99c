from __future__ import annotations

import pytest

from tests.alerts.signing import Signer


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer.create()
