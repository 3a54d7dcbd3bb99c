"""Operations the sandbox answers although moto does not implement them.

A drill's flows run in other processes (a Prefect worker, a served deployment), so the
``before-call`` hooks the unit tests use to fill moto's gaps cannot reach them; the moto server
itself has to answer. Only read-only calls are filled, each with the answer an account with no
matching history gives, so nothing a flow decides is invented here.

- ``cloudtrail:LookupEvents``: moto raises NotImplementedError, which its server turns into an
  HTTP 500 and a traceback in the drill's output; the snapshot then retried it once per region
  (~1 s per drill) and recorded a source error. The sandbox keeps no CloudTrail history, so it
  answers "no events"; changes are still found from the ECS, Lambda, SSM and ASG APIs.
"""

from __future__ import annotations

import json

from moto.cloudtrail.responses import CloudTrailResponse


def _lookup_events(self: CloudTrailResponse) -> str:
    """LookupEvents over an empty event history."""
    return json.dumps({"Events": []})


def install() -> None:
    """Teach moto's response classes the missing operations (idempotent, process-wide).

    moto dispatches an action to the response-class method of the same (snake_case) name, so
    adding the method is all it takes; in-process ``mock_aws`` sees it too.
    """
    if not hasattr(CloudTrailResponse, "lookup_events"):
        CloudTrailResponse.lookup_events = _lookup_events  # type: ignore[attr-defined]
