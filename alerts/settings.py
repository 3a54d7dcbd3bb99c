"""The receiver's configuration: environment variables (``FIREBREAK_*``), or an env file.

Credentials live only here, read when the receiver starts (never at import), and are
``SecretStr`` so they do not show in reprs or logs. A source with no credential configured
refuses everything (fail closed); a credential that is set must be a real one: an empty,
blank or short (under :data:`MIN_SECRET_CHARS`) secret is refused at startup, naming its
variable, because an empty secret would match an empty offer. ``docs/alerts.md`` lists every
variable.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from policies import default_policy, load_policy

MIN_SECRET_CHARS = 16
"""The shortest intake secret (token, basic password, signing secret) the receiver accepts."""

_TOKENS = ("alertmanager_token", "eventbridge_token", "generic_token", "slack_signing_secret")
_BASIC_PAIRS = ("alertmanager_basic", "eventbridge_basic", "generic_basic")


def variable_of(field: str) -> str:
    """The environment variable that sets ``field``: ``generic_token`` -> ``FIREBREAK_GENERIC_TOKEN``."""
    return f"FIREBREAK_{field.upper()}"


def _long_enough(variable: str, secret: str) -> None:
    if not secret.strip():
        raise ValueError(f"{variable} is set but empty: give a secret or leave the variable out")
    if len(secret.strip()) < MIN_SECRET_CHARS:
        raise ValueError(f"{variable} is shorter than {MIN_SECRET_CHARS} characters")


DEFAULT_DEAD_LETTER_DIR = Path(".firebreak/dead-letters")


class ReceiverSettings(BaseSettings):
    """Everything ``firebreak serve`` needs; see docs/alerts.md for the variables."""

    model_config = SettingsConfigDict(env_prefix="FIREBREAK_", extra="ignore", frozen=True)

    max_body_bytes: int = Field(default=256 * 1024, ge=1024, description="Larger bodies get 413.")
    dead_letter_dir: Path = DEFAULT_DEAD_LETTER_DIR
    dead_letter_max: int = Field(default=10_000, ge=1, description="Letters kept at most.")
    dead_letter_unauthenticated_max: int = Field(
        default=100, ge=0, description="Letters from senders that proved nothing, at most."
    )
    dead_letter_retry_reserve: int | None = Field(
        default=None, ge=0, description="Room only retryable letters may use; None: a quarter of the max."
    )
    routing_file: Path | None = None
    recent_runs_max: int = Field(
        default=10_000, ge=0, description="Dedup keys whose run is remembered (LRU); 0 disables."
    )
    recent_runs_ttl_seconds: float = Field(
        default=900.0, ge=0, description="After this, Prefect is asked again for a key; 0 disables."
    )

    alertmanager_token: SecretStr | None = Field(default=None, description="Bearer token.")
    alertmanager_basic: SecretStr | None = Field(default=None, description='Basic auth "user:password".')
    eventbridge_token: SecretStr | None = None
    eventbridge_basic: SecretStr | None = None
    generic_token: SecretStr | None = None
    generic_basic: SecretStr | None = None
    pagerduty_secrets: SecretStr | None = Field(
        default=None, description="Webhook signing secrets, comma-separated (two while rotating)."
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, description="Slack app signing secret; set, POST /slack/interactions is served."
    )
    attestor_key: Path | None = Field(
        default=None,
        description="ed25519 private key (PEM) that signs Slack answers; its public half goes in the "
        "policy's attestors.",
    )
    sns_topic_arns: str = Field(
        default="",
        description="Comma-separated TopicArns accepted from SNS; empty refuses every SNS message.",
    )

    prefect_api_url: str = Field(
        default="http://127.0.0.1:4200/api",
        validation_alias=AliasChoices("FIREBREAK_PREFECT_API_URL", "PREFECT_API_URL"),
    )
    prefect_api_auth_string: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("FIREBREAK_PREFECT_API_AUTH_STRING", "PREFECT_API_AUTH_STRING"),
        description='Basic auth "user:password" of a Prefect server started with an auth string.',
    )
    deployment: str = Field(default="incident-response/incident", description='"<flow>/<deployment>".')
    policy_file: Path | None = Field(
        default=None,
        description="The policy file the incident flows use (their host's FIREBREAK_POLICY_FILE); its "
        "incidents.max_open_minutes ends an open incident. None: the shipped policy.",
    )

    @field_validator(*_TOKENS)
    @classmethod
    def _a_real_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None:
            _long_enough(variable_of(str(info.field_name)), value.get_secret_value())
        return value

    @field_validator(*_BASIC_PAIRS)
    @classmethod
    def _a_real_pair(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None:
            variable = variable_of(str(info.field_name))
            user, colon, password = value.get_secret_value().partition(":")
            if not colon or not user.strip():
                raise ValueError(f'{variable} must be "user:password" with a user name')
            _long_enough(f"{variable}'s password", password)
        return value

    @field_validator("pagerduty_secrets")
    @classmethod
    def _real_secrets(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            for secret in value.get_secret_value().split(","):
                _long_enough("FIREBREAK_PAGERDUTY_SECRETS", secret)
        return value

    def incident_max_open(self) -> timedelta:
        """How long an incident run counts as open, from the policy. Raises PolicyError.

        Read when the receiver starts, so a broken policy file stops it there instead of
        failing every alert.
        """
        policy = default_policy() if self.policy_file is None else load_policy(self.policy_file)
        return timedelta(minutes=policy.incidents.max_open_minutes)

    def prefect_auth(self) -> tuple[str, str] | None:
        """The Prefect basic-auth pair, when the server needs one."""
        if self.prefect_api_auth_string is None:
            return None
        user, _, password = self.prefect_api_auth_string.get_secret_value().partition(":")
        return user, password

    def topic_arns(self) -> frozenset[str]:
        """The SNS topics accepted; empty means none."""
        return frozenset(arn.strip() for arn in self.sns_topic_arns.split(",") if arn.strip())

    def pagerduty_secret_list(self) -> list[str]:
        """The PagerDuty signing secrets currently accepted."""
        if self.pagerduty_secrets is None:
            return []
        return [s.strip() for s in self.pagerduty_secrets.get_secret_value().split(",") if s.strip()]


def load_settings(env_file: Path | None = None) -> ReceiverSettings:
    """Read the settings from the environment, and from ``env_file`` if given."""
    return ReceiverSettings(_env_file=env_file)


def settings_problems(error: ValidationError) -> list[str]:
    """One line per invalid setting, each naming its variable (for the CLI's exit message)."""
    lines = []
    for problem in error.errors():
        message = str(problem["msg"]).removeprefix("Value error, ")
        field = ".".join(str(p) for p in problem["loc"])
        variable = variable_of(field) if field else "settings"
        lines.append(message if message.startswith(variable) else f"{variable}: {message}")
    return lines
