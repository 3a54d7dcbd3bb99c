"""API Gateway: the REST API and stage a region's ``api_gateway`` names (throttling at AWS's
account defaults until Firebreak lowers it to the catalog's emergency level)."""

from __future__ import annotations

from drills.seed_region import deployer_client
from drills.world.errors import WorldError
from tasks.aws import AwsTarget
from tasks.catalog import ApiGatewayStage


def create_stage(target: AwsTarget, stage: ApiGatewayStage, *, field: str) -> str:
    """A REST API named ``rest_api`` (reused when several services name it) with one GET method
    on its root, deployed to ``stage``; the API's id."""
    apigateway = deployer_client("apigateway", target)
    named = [a for a in apigateway.get_rest_apis(limit=500)["items"] if a["name"] == stage.rest_api]
    if len(named) > 1:
        raise WorldError(field, f"several REST APIs are named {stage.rest_api!r}")
    if named:
        api = str(named[0]["id"])
    else:
        api = str(apigateway.create_rest_api(name=stage.rest_api)["id"])
        root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
        apigateway.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
        apigateway.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    deployment = apigateway.create_deployment(restApiId=api)["id"]
    apigateway.create_stage(restApiId=api, stageName=stage.stage, deploymentId=deployment)
    return api
