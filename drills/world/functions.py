"""Lambda functions: an execution role, version 1 (a known-good build), the catalog's alias."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from drills.seed import LAMBDA_TRUST
from drills.seed_region import deployer_client, pricing_zip
from drills.world.names import build_description, lambda_role
from tasks.aws import AwsTarget
from tasks.catalog import LambdaAlias


def create_function(target: AwsTarget, alias: LambdaAlias) -> str:
    """Create the function, publish version 1 and point the alias at it; the alias ARN."""
    lam = deployer_client("lambda", target)
    lam.create_function(
        FunctionName=alias.function,
        Runtime="python3.12",
        Role=_role(target, lambda_role(alias.function)),
        Handler="pricing.handler",
        Code={"ZipFile": pricing_zip(price=42)},
    )
    version = lam.publish_version(FunctionName=alias.function, Description=build_description(alias.function))
    created = lam.create_alias(
        FunctionName=alias.function, Name=alias.alias, FunctionVersion=version["Version"]
    )
    return str(created["AliasArn"])


def _role(target: AwsTarget, name: str) -> str:
    iam = deployer_client("iam", target)
    try:  # IAM is global: a function of the same name in another region shares the role
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    except ClientError as e:
        if e.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
        role = iam.get_role(RoleName=name)
    return str(role["Role"]["Arn"])
