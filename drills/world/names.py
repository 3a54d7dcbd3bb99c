"""How a world names what a catalog leaves unsaid: images, builds, flag values, streams.

A catalog names a service's resources but not their contents. The world fills them by
convention, one place for seeding, faults and the simulator: a known-bad build is marked in
its artifact (an image tag or a Lambda version description ending in ``-bad``), as a broken
release is in production, so the simulator can tell it from the state alone.
"""

from __future__ import annotations

GOOD_VERSION = "1.0.0"
BAD_VERSION = "1.0.1-bad"
BAD_MARK = "-bad"
FLAG_OFF = "off"  # every flag starts off: its known-good value
KNOWN_GOOD_LABEL = "known-good"
LOG_STREAM = "simulator"
CONTAINER_PORT = 8080
DESIRED_COUNT = 2


def image(family: str, version: str = GOOD_VERSION) -> str:
    """The container image of ``family`` at ``version``, e.g. ``orders:1.0.0``."""
    return f"{family}:{version}"


def build_description(function: str, version: str = GOOD_VERSION) -> str:
    """The description a Lambda version of ``function`` is published with, e.g. ``quotes 1.0.0``."""
    return f"{function} {version}"


def is_bad(artifact: str) -> bool:
    """A known-bad build: its image tag or version description carries the bad mark."""
    return artifact.endswith(BAD_MARK)


def lambda_role(function: str) -> str:
    return f"{function}-exec"
