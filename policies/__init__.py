"""Firebreak's policy layer: pure decisions about what may be done, by whom, and how urgently.

Nothing here does I/O except the loader reading a YAML file, and nothing here imports the rest
of Firebreak. Flows build an :class:`ActionRequest` and a :class:`DecisionContext`, call
:func:`decide` and act on the :class:`Decision`; see docs/policies.md.
"""

from policies.approvals import (
    ApprovalAnswer,
    ApprovalRule,
    ApprovalStatus,
    ApprovalVerdict,
    evaluate_approvals,
)
from policies.decide import Decision, RuleOutcome, decide
from policies.errors import PolicyError
from policies.explain import Explanation, explain
from policies.guardrails import GuardrailResult
from policies.limits import BlastRadiusCap, GuardrailSettings, LimitScope, RateLimit
from policies.loader import default_policy, load_policy, load_policy_or_deny, parse_policy
from policies.modes import EnvironmentSettings, IncidentSettings, Mode
from policies.policy import Policy
from policies.request import ActionRequest, DecisionContext
from policies.rules import ActionRule
from policies.severity import (
    IncidentFacts,
    ResponseRequirements,
    SeverityAssessment,
    SeverityMatrix,
    classify_severity,
)
from policies.tiers import Severity, Tier, TimeoutOutcome
from policies.windows import FreezeWindow, TimeWindow, Weekday

__all__ = [
    "ActionRequest",
    "ActionRule",
    "ApprovalAnswer",
    "ApprovalRule",
    "ApprovalStatus",
    "ApprovalVerdict",
    "BlastRadiusCap",
    "Decision",
    "DecisionContext",
    "EnvironmentSettings",
    "Explanation",
    "FreezeWindow",
    "GuardrailResult",
    "GuardrailSettings",
    "IncidentFacts",
    "IncidentSettings",
    "LimitScope",
    "Mode",
    "Policy",
    "PolicyError",
    "RateLimit",
    "ResponseRequirements",
    "RuleOutcome",
    "Severity",
    "SeverityAssessment",
    "SeverityMatrix",
    "Tier",
    "TimeWindow",
    "TimeoutOutcome",
    "Weekday",
    "classify_severity",
    "decide",
    "default_policy",
    "evaluate_approvals",
    "explain",
    "load_policy",
    "load_policy_or_deny",
    "parse_policy",
]
