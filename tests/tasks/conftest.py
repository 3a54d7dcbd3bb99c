"""moto with the sandbox's gap fills: CloudTrail records every seeded and applied write (so a
rollback finds what ran before, as on AWS) and Auto Scaling has instance refreshes."""

from __future__ import annotations

import pytest

from drills import moto_gaps


@pytest.fixture(autouse=True, scope="session")
def moto_gap_fills() -> None:
    moto_gaps.install()
