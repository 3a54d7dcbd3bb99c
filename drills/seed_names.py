"""The names of the drill's fake production: one place, so seeding, faults and the simulator agree.

The sandbox runs one realistic service, ``checkout`` in ``prod``, in two regions. Everything a
scenario may refer to by name (flag names, images, metric names) is spelled here once.
"""

from __future__ import annotations

SERVICE = "checkout"
ENVIRONMENT = "prod"
PRIMARY_REGION = "eu-west-1"
REGIONS = (PRIMARY_REGION, "us-east-1")

CLUSTER = "checkout-prod"
ECS_SERVICE = "checkout"
TASK_FAMILY = "checkout"
CONTAINER = "checkout"
CONTAINER_PORT = 8080
GOOD_IMAGE = "checkout:1.4.2"
BAD_IMAGE = "checkout:1.5.0-bad"

LAMBDA_FUNCTION = "checkout-pricing"
LAMBDA_ALIAS = "live"
LAMBDA_ROLE = "checkout-pricing-exec"
GOOD_LAMBDA_DESCRIPTION = "pricing 3.2.0"
BAD_LAMBDA_DESCRIPTION = "pricing 3.3.0-bad"

ALB = "checkout-prod"
BLUE_TARGET_GROUP = "checkout-prod-blue"
GREEN_TARGET_GROUP = "checkout-prod-green"
ASG = "checkout-prod"
LAUNCH_TEMPLATE = "checkout-prod"

LOG_GROUP = "/ecs/checkout"
LOG_STREAM = "checkout/checkout/simulator"

NAMESPACE = "Checkout"
ERROR_RATE = "ErrorRate"
LATENCY_P99 = "LatencyP99"
REQUESTS = "Requests"
REGION_DIMENSION = "Region"
SERVICE_DIMENSION = "Service"
METRIC_PERIOD_SECONDS = 1  # one simulator tick per datapoint; see docs/sandbox.md

ZONE_NAME = "example.internal."
RECORD_NAME = "checkout.example.internal."

FLAG_NEW_PRICING = "new-pricing-engine"
FLAG_ONE_CLICK = "one-click-buy"
FLAG_PARAMETERS = {
    FLAG_NEW_PRICING: "/checkout/prod/flags/new-pricing-engine",
    FLAG_ONE_CLICK: "/checkout/prod/flags/one-click-buy",
}
FLAG_DEFAULTS = {FLAG_NEW_PRICING: "off", FLAG_ONE_CLICK: "on"}
KNOWN_GOOD_LABEL = "known-good"

TOPIC = "checkout-incidents"
EVIDENCE_BUCKET = "firebreak-evidence-checkout"


def alarm_name(region: str, metric: str) -> str:
    """The name of the seeded alarm on ``metric`` in ``region``, e.g. checkout-prod-eu-west-1-ErrorRate."""
    return f"{SERVICE}-{ENVIRONMENT}-{region}-{metric}"
