"""Drill test fixtures: the session's moto server (tests/conftest.py), re-seeded for every test.

A new server costs ~6 s before its first seed is done (moto loads backends lazily, and
``tasks.aws`` builds ~20 clients for the new endpoint), a re-seed after a reset ~0.3 s; so the
server lives for the session and each test starts from a fresh seed. Only fake credentials are
exported while it runs (``export_env=False``), so other packages' tests are not redirected.
"""

from __future__ import annotations

import pytest

from drills.sandbox import Sandbox
from drills.seed import seed_checkout
from tasks.catalog import Catalog


@pytest.fixture
def catalog(sandbox: Sandbox) -> Catalog:
    """A freshly seeded checkout service in ``sandbox``."""
    sandbox.reset()
    return seed_checkout(sandbox.endpoint_url)
