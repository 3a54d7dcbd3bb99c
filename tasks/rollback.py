"""The rollback planners, one per mechanism, for callers that pick one by name.

Each lives in its own module (tasks.rollback_ecs, tasks.rollback_lambda, tasks.rollback_asg)
and shares the per-region, undo-on-failure machinery of tasks.rollback_regional. All take
``regions`` (default: every catalogued region with that mechanism).
"""

from __future__ import annotations

from tasks.rollback_asg import plan_asg_rollback
from tasks.rollback_ecs import plan_ecs_rollback
from tasks.rollback_lambda import plan_lambda_rollback

__all__ = ["plan_asg_rollback", "plan_ecs_rollback", "plan_lambda_rollback"]
