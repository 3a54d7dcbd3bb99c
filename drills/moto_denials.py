"""The sandbox refusing an action to Firebreak, as AWS refuses a call its identity may not make.

A drill's ``deny`` fault (``{kind: deny, action: "cloudwatch:GetMetricData", at_seconds: N}``)
calls :func:`deny` at its time; from then on the moto server answers that action, when
Firebreak calls it, with the error AWS answers a caller whose policies do not allow it:
``AccessDenied``, HTTP 403, "User: <caller arn> is not authorized to perform: <action>",
serialised in the service's own protocol (CloudWatch's CBOR, JSON or query alike). Other
callers (the drill's simulator, its deployer) are not refused.

Firebreak's calls are the ones carrying its User-Agent mark (``tasks.aws.USER_AGENT_MARK``):
the drill world has no IAM role for Firebreak, so the mark stands for its role. The denials
live on moto's IAM backend of the account, so ``POST /moto-api/reset`` clears them. Because
the drill sets them in the server's process, they need the in-process sandbox (the drill
runner's); a sandbox in its own process does not see them.

Source for the error's code and message: AWS IAM User Guide, "Troubleshoot access denied error
messages" (``User: arn:... is not authorized to perform: cloudwatch:GetMetricData``); the
HTTP status 403 is what AWS query and JSON services answer with AccessDenied.
"""

from __future__ import annotations

import threading
import warnings

from moto.core.common_types import TYPE_RESPONSE
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse
from moto.iam.models import iam_backends

from tasks.aws import USER_AGENT_MARK

_LOCK = threading.Lock()
_ATTRIBUTE = "firebreak_denied_actions"

# moto's service names where they differ from IAM's action prefix.
IAM_PREFIX = {"awslambda": "lambda", "elbv2": "elasticloadbalancing", "events": "events"}


class AccessDenied(ServiceException):
    code = "AccessDenied"


def deny(action: str, account: str = "123456789012") -> None:
    """From now on refuse ``action`` (``service:Operation``, IAM's spelling) to Firebreak."""
    with _LOCK:
        _denied(account).add(action)


def denied_actions(account: str = "123456789012") -> set[str]:
    """The actions refused to Firebreak in ``account``."""
    with _LOCK:
        return set(_denied(account))


def _denied(account: str) -> set[str]:
    backend = iam_backends[account]["global"]
    if not hasattr(backend, _ATTRIBUTE):
        setattr(backend, _ATTRIBUTE, set())
    found: set[str] = getattr(backend, _ATTRIBUTE)
    return found


def refusal(response: BaseResponse) -> TYPE_RESPONSE | None:
    """AWS's answer refusing this request, when it is Firebreak's and its action is denied."""
    action = f"{IAM_PREFIX.get(response.service_name or '', response.service_name)}:{response._get_action()}"
    user_agent = str(response.headers.get("User-Agent", ""))
    if USER_AGENT_MARK not in user_agent.split() or action not in denied_actions(response.current_account):
        return None
    caller = f"arn:aws:iam::{response.current_account}:user/{USER_AGENT_MARK}"
    error = AccessDenied(f"User: {caller} is not authorized to perform: {action}")
    with warnings.catch_warnings():  # AccessDenied is in no service's model: moto warns, then serialises it
        warnings.simplefilter("ignore", UserWarning)
        _, headers, body = response.serialized(ActionResult(error))
    headers["status"] = 403
    return 403, headers, body
