"""The traffic-shift planners, one per mechanism, for callers that pick one by name.

Route 53 weighted records (tasks.traffic_route53), ALB listener weights (tasks.traffic_alb) and
Lambda alias routing (tasks.traffic_lambda) share the pure weight rules of tasks.weights.
"""

from __future__ import annotations

from tasks.traffic_alb import plan_alb_shift
from tasks.traffic_lambda import plan_lambda_shift
from tasks.traffic_route53 import plan_route53_shift

__all__ = ["plan_alb_shift", "plan_lambda_shift", "plan_route53_shift"]
