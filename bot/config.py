"""Settings read from the environment, with errors that name the variable to fix.

Every variable is read once, at start-up, by `load_settings(mode)`; nothing is read at import
time. Which variables are required depends on how the bot runs: HTTP mode (`serve`) verifies
Slack's request signatures and needs `SLACK_SIGNING_SECRET`, Socket Mode (`socket`) connects
out with an app-level token and needs `SLACK_APP_TOKEN`. A missing or bad value raises
`ConfigError` whose message is one line starting with the variable's name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot import DEFAULT_TERMS_DIR
from bot.glossary.model import RoleName
from bot.glossary.roles import RoleDirectory, RolesFileError, load_roles
from bot.store import DEFAULT_DATABASE_URL

Mode = Literal["serve", "socket"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LogFormat = Literal["text", "json"]

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{6,}")  # public (C...) or older private (G...) channels

# What each mode cannot start without, and why (the why ends the error line).
REQUIRED: dict[Mode, tuple[tuple[str, str], ...]] = {
    "serve": (
        ("SLACK_BOT_TOKEN", "`serve` (HTTP mode)"),
        ("SLACK_SIGNING_SECRET", "`serve` (HTTP mode)"),
    ),
    "socket": (
        ("SLACK_BOT_TOKEN", "`socket` (Socket Mode)"),
        ("SLACK_APP_TOKEN", "`socket` (Socket Mode)"),
    ),
}


class ConfigError(Exception):
    """A missing or bad environment variable; the message is one line naming it."""


class Settings(BaseSettings):
    """The bot's configuration. Field names are the environment variables themselves."""

    model_config = SettingsConfigDict(
        case_sensitive=True,
        env_ignore_empty=True,  # `FOO=` in an env file means "not set", not "empty string"
        extra="ignore",
        frozen=True,
    )

    SLACK_BOT_TOKEN: SecretStr | None = None
    SLACK_SIGNING_SECRET: SecretStr | None = None
    SLACK_APP_TOKEN: SecretStr | None = None
    SLACK_API_URL: str = DEFAULT_SLACK_API_URL
    GLOSSARY_TERMS_DIR: Path = DEFAULT_TERMS_DIR
    # Parsed terms and the built index, reused while files are unchanged (bot.glossary.cache).
    # Unset: a folder of this user's under the system temp dir; "off": no cache.
    GLOSSARY_CACHE_DIR: str | None = None
    GLOSSARY_INTAKE_CHANNEL: str | None = None
    GLOSSARY_DATABASE_URL: str = DEFAULT_DATABASE_URL
    GLOSSARY_TRIAGERS: Annotated[tuple[str, ...], NoDecode] = Field(default=())
    GLOSSARY_DEFAULT_ROLE: RoleName | None = None
    GLOSSARY_ROLES_FILE: Path | None = None
    GLOSSARY_LOG_LEVEL: LogLevel = "INFO"
    GLOSSARY_REQUESTS_PER_HOUR: int = Field(default=10, ge=1)  # term requests per person
    # How long a delivery worker holds an outbox row before another may take it over.
    GLOSSARY_OUTBOX_LEASE_SECONDS: float = Field(default=60.0, ge=2.0, le=3600.0)
    GLOSSARY_LOG_FORMAT: LogFormat = "text"
    GLOSSARY_WATCH: bool = True  # reload when term files change; false for read-only deployments
    # How long a user's saved role is reused without asking the database (0: ask every time).
    GLOSSARY_ROLE_CACHE_SECONDS: float = Field(default=10.0, ge=0.0, le=3600.0)
    # After SIGTERM, keep serving this long while /healthz answers 503, so a load balancer
    # sees the bot leave before it stops listening (0: stop listening at once).
    GLOSSARY_SHUTDOWN_DELAY_SECONDS: float = Field(default=0.0, ge=0.0, le=60.0)

    @field_validator("SLACK_BOT_TOKEN")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("SLACK_APP_TOKEN")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("SLACK_API_URL")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        # slack_sdk joins base_url and method name by plain concatenation.
        return value.strip() if value.strip().endswith("/") else value.strip() + "/"

    @field_validator("GLOSSARY_TRIAGERS", mode="before")
    @classmethod
    def _split_triagers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("GLOSSARY_LOG_LEVEL", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("GLOSSARY_LOG_FORMAT", mode="before")
    @classmethod
    def _lower_format(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("GLOSSARY_INTAKE_CHANNEL")
    @classmethod
    def _channel_shape(cls, value: str | None) -> str | None:
        # An ID, not a name: the bot reads the channel's history to deliver each request
        # exactly once, and Slack's history calls take only IDs.
        if value is None:
            return None
        value = value.strip().lstrip("#")
        if not _CHANNEL_ID.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a channel ID; use the ID such as C0123456789 (in Slack, "
                "open the channel's details: the ID is at the bottom), not its name"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _resolve_default_role(cls, data: Any) -> Any:
        """Accept any word that names a role ("eng", "a PM") and keep the role's name."""
        if not isinstance(data, dict):
            return data
        raw = data.get("GLOSSARY_DEFAULT_ROLE")
        if raw is None or not str(raw).strip():
            data.pop("GLOSSARY_DEFAULT_ROLE", None)
            return data
        roles = _roles_for(data.get("GLOSSARY_ROLES_FILE"))
        role = roles.find(str(raw))
        if role is None:
            names = ", ".join(r.name for r in roles)
            raise ValueError(
                f"GLOSSARY_DEFAULT_ROLE: {str(raw)!r} is not a role; use one of {names}"
            )
        return {**data, "GLOSSARY_DEFAULT_ROLE": role.name}

    def roles(self) -> RoleDirectory:
        """The role directory this configuration points at."""
        return load_roles(self.GLOSSARY_ROLES_FILE)

    def require(self, mode: Mode) -> None:
        """Raise ConfigError for the first variable `mode` needs that is not set."""
        for name, why in REQUIRED[mode]:
            if getattr(self, name) is None:
                raise ConfigError(f"{name} is required for {why}")

    def secret(
        self, name: Literal["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"]
    ) -> str:
        """A secret's value; call `require` first, so a missing one is a programming error."""
        value: SecretStr | None = getattr(self, name)
        if value is None:
            raise ConfigError(f"{name} is not set")
        return value.get_secret_value()


class _RolesError(ValueError):
    """The roles file named by GLOSSARY_ROLES_FILE could not be read."""


def _roles_for(path: Any) -> RoleDirectory:
    try:
        return load_roles(Path(path) if path else None)
    except RolesFileError as exc:
        raise _RolesError(f"GLOSSARY_ROLES_FILE: {exc}") from exc


def load_settings(mode: Mode | None = None, **overrides: Any) -> Settings:
    """Read the environment (plus `overrides`, for tests) and check what `mode` needs."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None
    if settings.GLOSSARY_ROLES_FILE is not None:
        try:
            load_roles(settings.GLOSSARY_ROLES_FILE)
        except RolesFileError as exc:
            raise ConfigError(f"GLOSSARY_ROLES_FILE: {exc}") from None
    if mode is not None:
        settings.require(mode)
    return settings


def _one_line(exc: ValidationError) -> str:
    """The first error of a validation failure as `VARIABLE: what is wrong`."""
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    message = str(error.get("msg", "is invalid"))
    message = message.removeprefix("Value error, ")
    if not loc:
        # Raised by a model validator, whose message already starts with the variable's name.
        return message
    name = loc[0]
    if error["type"] == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        message = f"{error['input']!r} is not one of {expected}"
    return f"{name}: {message}"
