"""A drill world built from any catalog: every resource the catalog names, in the regions it
names, created in the sandbox by the drill's deployer (so CloudTrail holds the history a
rollback reads), and the catalog returned with the ids AWS generated.

One module per resource family; :func:`seed_world` (``drills.world.seed``) puts them together.
"""

from drills.world.errors import WorldError
from drills.world.seed import seed_world

__all__ = ["WorldError", "seed_world"]
