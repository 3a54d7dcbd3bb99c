"""Faults change the sandbox state the way production changes, as read back from moto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from drills import seed_names as n
from drills.faults import (
    DEPLOYER_ACCESS_KEY,
    inject_bad_deploy,
    inject_bad_flag,
    inject_bad_lambda,
    inject_staging_revision,
)
from drills.observe import observe
from drills.sandbox import Sandbox
from flows.own_changes import is_firebreak_call
from tasks.aws import client
from tasks.catalog import Catalog
from tasks.deploy_history import ecs_key, read_history
from tasks.rollback import plan_ecs_rollback


def test_bad_deploy_registers_a_new_revision_now_and_rolls_the_service_to_it(
    sandbox: Sandbox, catalog: Catalog
) -> None:
    before = datetime.now(UTC)
    fault = inject_bad_deploy(sandbox.target(), catalog, "eu-west-1")
    ecs = client("ecs", sandbox.target("eu-west-1"))
    service = ecs.describe_services(cluster=n.CLUSTER, services=[n.ECS_SERVICE])["services"][0]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert service["taskDefinition"] == fault.after and fault.before.endswith(":1")
    assert (definition["revision"], definition["containerDefinitions"][0]["image"]) == (2, n.BAD_IMAGE)
    # moto's task definitions carry no registeredAt: the deployment's createdAt dates the deploy.
    assert abs(service["deployments"][0]["createdAt"] - before) < timedelta(seconds=5)
    other = client("ecs", sandbox.target("us-east-1"))
    untouched = other.describe_services(cluster=n.CLUSTER, services=[n.ECS_SERVICE])["services"][0]
    assert untouched["taskDefinition"].endswith(":1")
    state = observe(catalog, sandbox.endpoint_url)
    assert state.regions["eu-west-1"].ecs_bad and not state.regions["us-east-1"].ecs_bad


def test_bad_flag_is_a_new_parameter_version(sandbox: Sandbox, catalog: Catalog) -> None:
    fault = inject_bad_flag(sandbox.target(), catalog)
    ssm = client("ssm", sandbox.target())
    parameter = n.FLAG_PARAMETERS[n.FLAG_NEW_PRICING]
    history = ssm.get_parameter_history(Name=parameter)["Parameters"]
    assert [(p["Version"], p["Value"]) for p in history] == [(1, "off"), (2, "on")]
    assert ssm.get_parameter(Name=f"{parameter}:{n.KNOWN_GOOD_LABEL}")["Parameter"]["Value"] == "off"
    assert (fault.before, fault.after) == ("off", "on")
    assert observe(catalog, sandbox.endpoint_url).flags == {n.FLAG_NEW_PRICING: True, n.FLAG_ONE_CLICK: True}


def test_bad_lambda_publishes_a_version_and_moves_the_alias(sandbox: Sandbox, catalog: Catalog) -> None:
    fault = inject_bad_lambda(sandbox.target(), catalog, "us-east-1")
    lam = client("lambda", sandbox.target("us-east-1"))
    alias = lam.get_alias(FunctionName=n.LAMBDA_FUNCTION, Name=n.LAMBDA_ALIAS)
    version = lam.get_function_configuration(
        FunctionName=n.LAMBDA_FUNCTION, Qualifier=alias["FunctionVersion"]
    )
    assert (fault.before, fault.after, alias["FunctionVersion"]) == ("1", "2", "2")
    assert version["Description"] == n.BAD_LAMBDA_DESCRIPTION
    state = observe(catalog, sandbox.endpoint_url)
    assert state.regions["us-east-1"].lambda_bad_share == 1.0
    assert state.regions["eu-west-1"].lambda_bad_share == 0.0


def test_injected_changes_come_from_the_deployer_not_from_firebreak(
    sandbox: Sandbox, catalog: Catalog
) -> None:
    fault = inject_bad_deploy(sandbox.target(), catalog, "eu-west-1")
    history = read_history(
        sandbox.target("eu-west-1"), ecs_key(n.CLUSTER, n.ECS_SERVICE), until=datetime.now(UTC)
    )
    deploy, created = history.trail
    assert (deploy.event_name, deploy.value) == ("UpdateService", fault.after)
    assert deploy.caller.endswith(f"user/{DEPLOYER_ACCESS_KEY}") and not is_firebreak_call(deploy)
    assert created.event_name == "CreateService" and created.value.endswith("checkout:1")


def test_a_staging_revision_is_registered_and_never_deployed(sandbox: Sandbox, catalog: Catalog) -> None:
    staged = inject_staging_revision(sandbox.target(), catalog, "eu-west-1")
    ecs = client("ecs", sandbox.target("eu-west-1"))
    definition = ecs.describe_task_definition(taskDefinition=staged.after)["taskDefinition"]
    assert (definition["revision"], definition["containerDefinitions"][0]["image"]) == (2, n.GOOD_IMAGE)
    service = ecs.describe_services(cluster=n.CLUSTER, services=[n.ECS_SERVICE])["services"][0]
    assert service["taskDefinition"].endswith(":1") and staged.before.endswith(":1")
    bad = inject_bad_deploy(sandbox.target(), catalog, "eu-west-1")
    assert bad.after.endswith(":3")
    plan = plan_ecs_rollback(
        catalog=catalog,
        service=n.SERVICE,
        environment=n.ENVIRONMENT,
        regions=["eu-west-1"],
        aws=sandbox.target(),
    )
    assert plan.after["eu-west-1"].endswith("task-definition/checkout:1")  # what ran, not the staging :2
