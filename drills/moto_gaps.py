"""What the sandbox answers although moto does not: a CloudTrail that records, instance refreshes,
AppConfig environments, deployment strategies and deployments; and it refuses an action to
Firebreak when a drill's ``deny`` fault says so (drills/moto_denials.py).

A drill's flows run in other processes (a Prefect worker, a served deployment), so the
``before-call`` hooks the unit tests use to fill moto's gaps cannot reach them; the moto server
itself has to answer. :func:`install` patches moto's response classes process-wide, so
in-process ``mock_aws`` tests see the same behaviour.

- **CloudTrail.** Every successful mutating call moto handles for the services a drill touches
  (ECS, Lambda, Auto Scaling, SSM, Route 53, ELBv2, AppConfig, EC2) is recorded as a management
  event: eventName, eventTime, eventSource, awsRegion, requestParameters (API member names with a
  lower-case first letter, as CloudTrail writes them), requestID (the id the caller got back),
  userIdentity derived from the request's access key id, userAgent, and resources named by the
  request's identifier parameters. ``LookupEvents`` answers from that record in AWS's shape:
  one LookupAttribute (ResourceName, EventName, ReadOnly, Username, EventSource, AccessKeyId,
  EventId, ResourceType), StartTime/EndTime, newest first, MaxResults (<= 50) and NextToken.
  The record lives on moto's CloudTrail backend of the region, so ``POST /moto-api/reset`` (and
  a ``mock_aws`` start) clears it.
- **Instance refresh.** ``StartInstanceRefresh`` returns an id; ``DescribeInstanceRefreshes``
  reports it Pending, then InProgress, then Successful once :data:`REFRESH_SECONDS` have passed,
  at which point every instance of the group reports the group's launch-template version.
  moto reports the template's *default* version for every instance; here each instance keeps
  the version it was launched with (instance ids stay: moto's ELB registration would not follow
  a replacement).
- **AppConfig environments and deployments.** ``CreateEnvironment``/``GetEnvironment``/
  ``ListEnvironments``, ``CreateDeploymentStrategy``/``ListDeploymentStrategies`` (AWS's
  predefined ``AppConfig.*`` strategies are accepted by id without being created),
  ``StartDeployment`` (a deployment completes at once; a profile or hosted version that does
  not exist is refused as AWS refuses it), ``GetDeployment``, ``ListDeployments`` (newest
  first) and ``StopDeployment`` (ROLLED_BACK). Kept on moto's AppConfig backend of the region.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

from moto.appconfig import urls as appconfig_urls
from moto.appconfig.responses import AppConfigResponse
from moto.autoscaling.models import FakeAutoScalingGroup, InstanceState, autoscaling_backends
from moto.autoscaling.responses import AutoScalingResponse
from moto.cloudtrail.models import cloudtrail_backends
from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.responses import BaseResponse
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from drills import moto_denials

EVENT_SOURCES = {
    "ecs": "ecs.amazonaws.com",
    "awslambda": "lambda.amazonaws.com",
    "autoscaling": "autoscaling.amazonaws.com",
    "ssm": "ssm.amazonaws.com",
    "route53": "route53.amazonaws.com",
    "elbv2": "elasticloadbalancing.amazonaws.com",
    "appconfig": "appconfig.amazonaws.com",
    "ec2": "ec2.amazonaws.com",
}
READ_PREFIXES = ("Get", "List", "Describe", "Lookup", "Filter", "Head", "BatchGet", "Search")
IDENTIFIER_KEYS = (
    "cluster", "service", "serviceName", "family", "taskDefinition", "functionName",
    "autoScalingGroupName", "name", "hostedZoneId", "id", "listenerArn", "ruleArn",
    "targetGroupArn", "launchTemplateId", "launchTemplateName", "applicationId",
)  # fmt: skip
MAX_EVENTS_PER_REGION = 10_000
MAX_RESULTS = 50
REFRESH_SECONDS = 1.0
"""How long a simulated instance refresh takes (module attribute: tests and drills may set it)."""

_LOCK = threading.Lock()
_ORIGINAL_CALL_ACTION = BaseResponse.call_action


def install() -> None:
    """Teach moto the calls above (idempotent, process-wide).

    moto dispatches an action to the response-class method of the same (snake_case) name, so
    adding the method is all it takes for the new operations; recording wraps ``call_action``.
    """
    if getattr(BaseResponse, "firebreak_gaps", False):
        return
    BaseResponse.call_action = _recording_call_action  # type: ignore[method-assign]
    CloudTrailResponse.lookup_events = _lookup_events  # type: ignore[attr-defined]
    AutoScalingResponse.start_instance_refresh = _start_instance_refresh  # type: ignore[attr-defined]
    AutoScalingResponse.describe_instance_refreshes = _describe_instance_refreshes  # type: ignore[attr-defined]
    _original_init = InstanceState.__init__

    def init(state: InstanceState, *args: Any, **kwargs: Any) -> None:
        _original_init(state, *args, **kwargs)
        state.firebreak_version = _group_version(state.auto_scaling_group)  # type: ignore[attr-defined]

    InstanceState.__init__ = init  # type: ignore[method-assign,assignment]
    InstanceState.launch_template = property(_instance_template)  # type: ignore[method-assign,assignment]
    _install_appconfig()
    BaseResponse.firebreak_gaps = True  # type: ignore[attr-defined]


# --- CloudTrail ---------------------------------------------------------------------------------


def _recording_call_action(self: BaseResponse) -> Any:
    refused = moto_denials.refusal(self)  # a drill's deny fault: refused as AWS refuses it
    if refused is not None:
        return refused
    status, headers, body = _ORIGINAL_CALL_ACTION(self)
    source = EVENT_SOURCES.get(self.service_name or "")
    action = self._get_action()
    if source and action and not action.startswith(READ_PREFIXES) and int(status) < 400:
        event = _event(self, source, action, str(headers.get("x-amzn-requestid", "")))
        with _LOCK:
            _events(self.current_account, self.region).appendleft(event)
    return status, headers, body


def _events(account: str, region: str) -> deque[dict[str, Any]]:
    """The region's recorded events, newest first; kept on moto's backend so a reset clears it."""
    backend = cloudtrail_backends[account][region]
    events: deque[dict[str, Any]] = backend.__dict__.setdefault(
        "firebreak_events", deque(maxlen=MAX_EVENTS_PER_REGION)
    )
    return events


def _event(response: BaseResponse, source: str, action: str, request_id: str) -> dict[str, Any]:
    params = _camel(_request_parameters(response))
    identity = _identity(response.current_account, response.access_key)
    names = [str(params[k]) for k in IDENTIFIER_KEYS if isinstance(params.get(k), str | int)]
    return {
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "eventSource": source,
        "eventName": action,
        "awsRegion": response.region,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": response.headers.get("User-Agent", ""),
        "requestParameters": params,
        "responseElements": None,
        "requestID": request_id,
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "resources": [{"ARN": name, "type": source.split(".")[0]} for name in names],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": response.current_account,
    }


def _request_parameters(response: BaseResponse) -> dict[str, Any]:
    """The request as botocore's model names it (moto's own protocol parsers)."""
    try:
        if not getattr(response, "params", None):
            response.parse_parameters(response.normalized_request)
        return dict(response.params)
    except Exception:  # noqa: BLE001 - a request moto cannot re-parse is recorded without them
        return {}


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:]): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    if isinstance(value, bytes):
        return "HIDDEN_DUE_TO_SECURITY_REASONS"  # what CloudTrail writes for code and blobs
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _identity(account: str, access_key: str) -> dict[str, Any]:
    """Who called: the assumed-role session or the IAM user moto issued the key to, else a user
    named after the key id (moto calls a key it cannot read from the request ``AKIAEXAMPLE``)."""
    users = [
        p.access_keys[access_key].user_name
        for p in iam_backends[account].values()
        if access_key in p.access_keys
    ]
    for partition in sts_backends[account].values():
        role = partition.get_assumed_role_from_access_key(access_key)
        if role is not None:
            return {
                "type": "AssumedRole",
                "arn": role.arn,
                "accountId": account,
                "accessKeyId": access_key,
                "sessionContext": {"sessionIssuer": {"arn": role.role_arn, "type": "Role"}},
                "userName": role.session_name,
            }
    name = users[0] if users else access_key
    return {
        "type": "IAMUser",
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": access_key,
        "userName": name,
    }


def _lookup_events(self: CloudTrailResponse) -> str:
    """LookupEvents over the recorded events of the region."""
    params = json.loads(self.body or "{}")
    start, end = params.get("StartTime"), params.get("EndTime")
    attributes = params.get("LookupAttributes") or []
    with _LOCK:
        recorded = list(_events(self.current_account, self.region))
    matching = [
        e
        for e in recorded
        if (start is None or _epoch(e) >= float(start))
        and (end is None or _epoch(e) <= float(end))
        and all(_matches(e, a["AttributeKey"], a["AttributeValue"]) for a in attributes)
    ]
    offset = int(params.get("NextToken") or 0)
    limit = min(int(params.get("MaxResults") or MAX_RESULTS), MAX_RESULTS)
    page = matching[offset : offset + limit]
    answer: dict[str, Any] = {"Events": [_summary(e) for e in page]}
    if offset + limit < len(matching):
        answer["NextToken"] = str(offset + limit)
    return json.dumps(answer)


def _epoch(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["eventTime"]).timestamp()


def _matches(event: dict[str, Any], key: str, value: str) -> bool:
    fields = {
        "EventName": [event["eventName"]],
        "EventSource": [event["eventSource"]],
        "EventId": [event["eventID"]],
        "ReadOnly": [str(event["readOnly"]).lower()],
        "Username": [event["userIdentity"]["userName"]],
        "AccessKeyId": [event["userIdentity"]["accessKeyId"]],
        "ResourceName": [r["ARN"] for r in event["resources"]],
        "ResourceType": [r["type"] for r in event["resources"]],
    }
    return value in fields.get(key, [])


def _summary(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "EventId": event["eventID"],
        "EventName": event["eventName"],
        "ReadOnly": "false",
        "AccessKeyId": event["userIdentity"]["accessKeyId"],
        "EventTime": _epoch(event),
        "EventSource": event["eventSource"],
        "Username": event["userIdentity"]["userName"],
        "Resources": [{"ResourceType": r["type"], "ResourceName": r["ARN"]} for r in event["resources"]],
        "CloudTrailEvent": json.dumps(event),
    }


# --- Auto Scaling instance refresh --------------------------------------------------------------


def _group_version(group: FakeAutoScalingGroup | None) -> str | None:
    """The version number the group launches now (``$Latest``/``$Default`` resolved)."""
    if group is None or group.ec2_launch_template is None:
        return None
    return str(group.ec2_launch_template.get_version(group.launch_template_version).number)


def _instance_template(state: InstanceState) -> dict[str, Any] | None:
    template = state.auto_scaling_group.ec2_launch_template
    if template is None:
        return None
    version = getattr(state, "firebreak_version", None) or str(template.default_version_number)
    return {"LaunchTemplateId": template.id, "LaunchTemplateName": template.name, "Version": version}


def _refreshes(response: AutoScalingResponse) -> list[dict[str, Any]]:
    backend = autoscaling_backends[response.current_account][response.region]
    refreshes: list[dict[str, Any]] = backend.__dict__.setdefault("firebreak_refreshes", [])
    return refreshes


def _start_instance_refresh(self: AutoScalingResponse) -> Any:
    name = self._get_param("AutoScalingGroupName")
    group = self.autoscaling_backend.describe_auto_scaling_groups([name])
    if not group:
        return _xml_error("ValidationError", f"AutoScalingGroup name not found - {name}")
    refresh = {"id": str(uuid.uuid4()), "group": name, "started": datetime.now(UTC), "done": False}
    with _LOCK:
        busy = [r for r in _refreshes(self) if r["group"] == name and not _finish(self, r)]
        if busy:
            return _xml_error(
                "InstanceRefreshInProgress", f"An Instance Refresh is already in progress for {name}"
            )
        _refreshes(self).append(refresh)
    return (
        '<StartInstanceRefreshResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">'
        f"<StartInstanceRefreshResult><InstanceRefreshId>{refresh['id']}</InstanceRefreshId>"
        "</StartInstanceRefreshResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
        "</StartInstanceRefreshResponse>"
    )


def _describe_instance_refreshes(self: AutoScalingResponse) -> str:
    name = self._get_param("AutoScalingGroupName")
    wanted = set(self._get_param("InstanceRefreshIds") or [])
    members = []
    with _LOCK:
        for r in reversed(_refreshes(self)):  # newest first, as AWS lists them
            if r["group"] != name or (wanted and r["id"] not in wanted):
                continue
            status = "Successful" if _finish(self, r) else _status(r)
            members.append(
                f"<member><InstanceRefreshId>{r['id']}</InstanceRefreshId>"
                f"<AutoScalingGroupName>{name}</AutoScalingGroupName><Status>{status}</Status>"
                f"<StartTime>{r['started'].strftime('%Y-%m-%dT%H:%M:%SZ')}</StartTime>"
                f"<PercentageComplete>{100 if status == 'Successful' else 0}</PercentageComplete>"
                "</member>"
            )
    return (
        '<DescribeInstanceRefreshesResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">'
        f"<DescribeInstanceRefreshesResult><InstanceRefreshes>{''.join(members)}</InstanceRefreshes>"
        "</DescribeInstanceRefreshesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
        "</DescribeInstanceRefreshesResponse>"
    )


def _status(refresh: dict[str, Any]) -> str:
    elapsed = (datetime.now(UTC) - refresh["started"]).total_seconds()
    return "Pending" if elapsed < REFRESH_SECONDS / 4 else "InProgress"


def _finish(response: AutoScalingResponse, refresh: dict[str, Any]) -> bool:
    """True when the refresh is over; the first time, put its group's instances on its version."""
    if refresh["done"]:
        return True
    if (datetime.now(UTC) - refresh["started"]).total_seconds() < REFRESH_SECONDS:
        return False
    for group in response.autoscaling_backend.describe_auto_scaling_groups([refresh["group"]]):
        for state in group.instance_states:
            state.firebreak_version = _group_version(group)  # type: ignore[attr-defined]
    refresh["done"] = True
    return True


def _xml_error(code: str, message: str) -> Any:
    body = (
        f'<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{re.sub(r'[<>&]', '', message)}</Message></Error>"
        "<RequestId>r</RequestId></ErrorResponse>"
    )
    return body, {"status": 400}


# --- AppConfig environments, strategies and deployments -----------------------------------------

APPCONFIG_PATHS = (
    "{0}/applications/(?P<app_id>[^/]+)/environments$",
    "{0}/applications/(?P<app_id>[^/]+)/environments/(?P<env_id>[^/]+)$",
    "{0}/applications/(?P<app_id>[^/]+)/environments/(?P<env_id>[^/]+)/deployments$",
    "{0}/applications/(?P<app_id>[^/]+)/environments/(?P<env_id>[^/]+)/deployments/(?P<number>[^/]+)$",
    "{0}/deploymentstrategies$",
)
PREDEFINED_STRATEGY = "AppConfig."  # AWS's own strategies (AppConfig.AllAtOnce, ...) need no creating


def _install_appconfig() -> None:
    dispatch = AppConfigResponse.dispatch
    for path in APPCONFIG_PATHS:
        appconfig_urls.url_paths.setdefault(path, dispatch)
    for name in (
        "create_environment",
        "get_environment",
        "list_environments",
        "create_deployment_strategy",
        "list_deployment_strategies",
        "start_deployment",
        "get_deployment",
        "list_deployments",
        "stop_deployment",
    ):
        setattr(AppConfigResponse, name, globals()[f"_appconfig_{name}"])


def _appconfig_state(response: AppConfigResponse) -> dict[str, Any]:
    backend = response.appconfig_backend
    state: dict[str, Any] = backend.__dict__.setdefault(
        "firebreak_appconfig", {"environments": {}, "strategies": {}, "deployments": {}}
    )
    return state


def _appconfig_error(code: str, message: str, status: int) -> tuple[str, dict[str, Any]]:
    return json.dumps({"Message": message}), {"status": status, "x-amzn-ErrorType": code}


def _application(response: AppConfigResponse) -> str | None:
    app_id = str(response._get_param("ApplicationId"))
    return app_id if app_id in response.appconfig_backend.applications else None


def _appconfig_create_environment(self: AppConfigResponse) -> Any:
    app_id = _application(self)
    if app_id is None:
        return _appconfig_error("ResourceNotFoundException", "Application not found", 404)
    env = {
        "ApplicationId": app_id,
        "Id": uuid.uuid4().hex[:7],
        "Name": self._get_param("Name"),
        "Description": self._get_param("Description") or "",
        "State": "ReadyForDeployment",
        "Monitors": self._get_param("Monitors") or [],
    }
    with _LOCK:
        _appconfig_state(self)["environments"][(app_id, env["Id"])] = env
    return json.dumps(env), {"status": 201}


def _environment(response: AppConfigResponse) -> dict[str, Any] | None:
    key = (str(response._get_param("ApplicationId")), str(response._get_param("EnvironmentId")))
    found: dict[str, Any] | None = _appconfig_state(response)["environments"].get(key)
    return found


def _appconfig_get_environment(self: AppConfigResponse) -> Any:
    env = _environment(self)
    if env is None:
        return _appconfig_error("ResourceNotFoundException", "Environment not found", 404)
    return json.dumps(env)


def _appconfig_list_environments(self: AppConfigResponse) -> Any:
    app_id = str(self._get_param("ApplicationId"))
    with _LOCK:
        items = [e for (app, _), e in _appconfig_state(self)["environments"].items() if app == app_id]
    return json.dumps({"Items": items})


def _appconfig_create_deployment_strategy(self: AppConfigResponse) -> Any:
    strategy = {
        "Id": uuid.uuid4().hex[:7],
        "Name": self._get_param("Name"),
        "DeploymentDurationInMinutes": self._get_param("DeploymentDurationInMinutes") or 0,
        "GrowthType": self._get_param("GrowthType") or "LINEAR",
        "GrowthFactor": self._get_param("GrowthFactor") or 100.0,
        "FinalBakeTimeInMinutes": self._get_param("FinalBakeTimeInMinutes") or 0,
        "ReplicateTo": self._get_param("ReplicateTo") or "NONE",
    }
    with _LOCK:
        _appconfig_state(self)["strategies"][strategy["Id"]] = strategy
    return json.dumps(strategy), {"status": 201}


def _appconfig_list_deployment_strategies(self: AppConfigResponse) -> Any:
    with _LOCK:
        return json.dumps({"Items": list(_appconfig_state(self)["strategies"].values())})


def _appconfig_start_deployment(self: AppConfigResponse) -> Any:
    env = _environment(self)
    if env is None:
        return _appconfig_error("ResourceNotFoundException", "Environment not found", 404)
    strategy_id = str(self._get_param("DeploymentStrategyId"))
    strategy = _appconfig_state(self)["strategies"].get(strategy_id)
    if strategy is None and not strategy_id.startswith(PREDEFINED_STRATEGY):
        return _appconfig_error(
            "ResourceNotFoundException", f"Deployment strategy {strategy_id} not found", 404
        )
    profile_id, version = (
        str(self._get_param("ConfigurationProfileId")),
        str(self._get_param("ConfigurationVersion")),
    )
    try:
        profile = self.appconfig_backend.get_configuration_profile(env["ApplicationId"], profile_id)
        self.appconfig_backend.get_hosted_configuration_version(
            env["ApplicationId"], profile_id, int(version)
        )
    except Exception:  # noqa: BLE001 - moto's not-found errors; AWS answers BadRequest
        return _appconfig_error(
            "BadRequestException", f"Configuration {profile_id} v{version} not found", 400
        )
    now = datetime.now(UTC).isoformat()
    with _LOCK:
        history = _appconfig_state(self)["deployments"].setdefault((env["ApplicationId"], env["Id"]), [])
        deployment = {
            "ApplicationId": env["ApplicationId"],
            "EnvironmentId": env["Id"],
            "DeploymentStrategyId": strategy_id,
            "ConfigurationProfileId": profile_id,
            "DeploymentNumber": len(history) + 1,
            "ConfigurationName": profile.name,
            "ConfigurationLocationUri": "hosted",
            "ConfigurationVersion": version,
            "Description": self._get_param("Description") or "",
            "DeploymentDurationInMinutes": (strategy or {}).get("DeploymentDurationInMinutes", 0),
            "GrowthType": (strategy or {}).get("GrowthType", "LINEAR"),
            "GrowthFactor": (strategy or {}).get("GrowthFactor", 100.0),
            "FinalBakeTimeInMinutes": (strategy or {}).get("FinalBakeTimeInMinutes", 0),
            "State": "COMPLETE",
            "PercentageComplete": 100.0,
            "StartedAt": now,
            "CompletedAt": now,
        }
        history.append(deployment)
    return json.dumps(deployment), {"status": 201}


def _deployments(response: AppConfigResponse) -> list[dict[str, Any]]:
    key = (str(response._get_param("ApplicationId")), str(response._get_param("EnvironmentId")))
    found: list[dict[str, Any]] = _appconfig_state(response)["deployments"].get(key, [])
    return found


def _appconfig_get_deployment(self: AppConfigResponse) -> Any:
    number = int(self._get_param("DeploymentNumber"))
    with _LOCK:
        match = [d for d in _deployments(self) if d["DeploymentNumber"] == number]
    if not match:
        return _appconfig_error("ResourceNotFoundException", f"Deployment {number} not found", 404)
    return json.dumps(match[0])


def _appconfig_list_deployments(self: AppConfigResponse) -> Any:
    summary = (
        "DeploymentNumber", "ConfigurationName", "ConfigurationVersion", "DeploymentDurationInMinutes",
        "GrowthType", "GrowthFactor", "FinalBakeTimeInMinutes", "State", "PercentageComplete",
        "StartedAt", "CompletedAt",
    )  # fmt: skip
    with _LOCK:
        items = [{k: d[k] for k in summary} for d in reversed(_deployments(self))]
    return json.dumps({"Items": items})


def _appconfig_stop_deployment(self: AppConfigResponse) -> Any:
    number = int(self._get_param("DeploymentNumber"))
    with _LOCK:
        match = [d for d in _deployments(self) if d["DeploymentNumber"] == number]
        if match:
            match[0]["State"] = "ROLLED_BACK"
    if not match:
        return _appconfig_error("ResourceNotFoundException", f"Deployment {number} not found", 404)
    return json.dumps(match[0]), {"status": 202}
