"""The scale-out planners, one per compute mechanism, for callers that pick one by name.

ECS services (tasks.capacity_ecs) and Auto Scaling groups (tasks.capacity_asg) share the sizing
rule and the wait for running capacity of tasks.capacity_scale.
"""

from __future__ import annotations

from tasks.capacity_asg import plan_asg_scale_out
from tasks.capacity_ecs import plan_ecs_scale_out

__all__ = ["plan_asg_scale_out", "plan_ecs_scale_out"]
