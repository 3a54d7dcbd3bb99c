"""Shared fixtures for drill tests: one moto server per module, re-seeded for every test.

Seeding costs ~6 s the first time in a process (moto loads its backends lazily) and ~0.3 s
after a reset, so the server is module-scoped and each test starts from a fresh seed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drills.sandbox import Sandbox
from drills.seed import seed_checkout
from tasks.catalog import Catalog


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


@pytest.fixture
def catalog(sandbox: Sandbox) -> Catalog:
    """A freshly seeded checkout service in ``sandbox``."""
    sandbox.reset()
    return seed_checkout(sandbox.endpoint_url)
