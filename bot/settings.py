"""Configuration from the environment or `.env` (the README's Configuration table).

Nothing here is built at import time: `get_settings()` is cached so the process reads the
environment once, and tests clear the cache to change it.
"""

from __future__ import annotations

import re
from datetime import time
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_VALUES = ("teamwork", "ownership", "customers", "craft")
DEFAULT_KUDOS_REACTIONS = "kudos"
# A Slack emoji name as a reaction event names it, without colons or a skin tone.
_EMOJI_NAME = re.compile(r"^[a-z0-9_+'-]+$")

# Where an operator finds each required secret; printed when one is missing.
WHERE_TO_GET = {
    "SLACK_BOT_TOKEN": "api.slack.com/apps -> your app -> OAuth & Permissions -> Bot User OAuth "
    "Token (create the app from manifest.yml; see README)",
    "SLACK_SIGNING_SECRET": "api.slack.com/apps -> your app -> Basic Information -> Signing "
    "Secret (see README)",
}


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def parse_kudos_reactions(text: str) -> dict[str, str | None]:
    """`kudos,tada=teamwork,:rocket:=#ownership` -> {"kudos": None, "tada": "teamwork",
    "rocket": "ownership"}: the reactions that give kudos, each with the company value it tags.

    Names are written as Slack's emoji picker shows them, colons optional; an empty text turns
    kudos by reaction off. Raises ValueError saying what is wrong (a name twice, a name that no
    emoji has, `name=` without a value).
    """
    reactions: dict[str, str | None] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, has_value, tagged = (p.strip() for p in item.partition("="))
        name = name.strip(":").lower()
        if not _EMOJI_NAME.match(name):
            raise ValueError(f'"{item}" is not an emoji name (e.g. tada, or tada=teamwork)')
        value = tagged.lstrip("#").lower() if has_value else None
        if has_value and not value:
            raise ValueError(f'"{item}" names no value after "="')
        if name in reactions:
            raise ValueError(f"{name} is listed twice")
        reactions[name] = value
    return reactions


class DatabaseSettings(BaseSettings):
    """Enough for the CLI verbs that need no Slack (`db upgrade`, `checkins list`, `export`)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(default="sqlite:///pulsebot.db", alias="DATABASE_URL")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    log_format: Literal["text", "json"] = Field(default="text", alias="LOG_FORMAT")


class GoalSettings(DatabaseSettings):
    """How goals are judged: the CLI's `goals` verbs need these and the database, no token."""

    goal_cycle: Literal["quarter", "half", "year"] = Field(
        default="quarter", alias="PULSEBOT_GOAL_CYCLE"
    )
    # A key result with no update for this long is flagged stale in the digest and in /goals.
    goal_stale_days: int = Field(default=14, ge=1, le=365, alias="PULSEBOT_GOAL_STALE_DAYS")


class DigestSettings(GoalSettings):
    """Enough to build the weekly digests without sending them (`digest send --dry-run`)."""

    digest_weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        default="mon", alias="PULSEBOT_DIGEST_WEEKDAY"
    )
    digest_time: time = Field(default=time(9, 0), alias="PULSEBOT_DIGEST_TIME")
    anonymity_min: int = Field(default=3, ge=1, alias="PULSEBOT_ANONYMITY_MIN")


class DataSettings(DatabaseSettings):
    """What the data-rights verbs (`pulsebot privacy ...`, `pulsebot export`) read besides the
    database: who the admins are and how long data is kept. They need no Slack token, so an
    operator can export or erase with the database alone."""

    admins: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="PULSEBOT_ADMINS")
    # None keeps data for as long as the database lives.
    retain_text_days: int | None = Field(default=None, alias="PULSEBOT_RETAIN_TEXT_DAYS")
    retain_days: int | None = Field(default=None, alias="PULSEBOT_RETAIN_DAYS")

    @field_validator("admins", mode="before")
    @classmethod
    def _admins_csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("retain_text_days", "retain_days", mode="before")
    @classmethod
    def _days(cls, value: object) -> object:
        """Unset or empty keeps everything; anything else must be a whole number of days above
        0, since 0 would erase what was written a moment ago."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            days = int(str(value).strip())
        except ValueError:
            days = None
        if days is None or days <= 0:
            raise PydanticCustomError(
                "retention_days",
                'must be a whole number of days above 0, or unset to keep data (got "{value}")',
                {"value": value},
            )
        return days


class Settings(DigestSettings, DataSettings):
    """Every knob the README documents, typed; secrets never print in reprs or logs."""

    slack_bot_token: SecretStr = Field(alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")
    port: int = Field(default=3000, alias="PORT")
    host: str = Field(default="0.0.0.0", alias="HOST")
    kudos_channel: str | None = Field(default=None, alias="PULSEBOT_KUDOS_CHANNEL")
    kudos_daily_limit: int = Field(default=5, ge=1, le=100, alias="PULSEBOT_KUDOS_DAILY_LIMIT")
    values: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_VALUES), alias="PULSEBOT_VALUES"
    )
    post_rate: float = Field(default=5.0, gt=0, alias="PULSEBOT_POST_RATE")
    # Reaction name -> the value it tags (None: none). After `values`, which it is checked
    # against.
    kudos_reactions: Annotated[dict[str, str | None], NoDecode] = Field(
        default_factory=lambda: parse_kudos_reactions(DEFAULT_KUDOS_REACTIONS),
        alias="PULSEBOT_KUDOS_REACTIONS",
    )

    @field_validator("values", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("values")
    @classmethod
    def _normalise_values(cls, value: list[str]) -> list[str]:
        return [v.lstrip("#").lower() for v in value]

    @field_validator("kudos_reactions", mode="before")
    @classmethod
    def _reactions(cls, value: object, info: ValidationInfo) -> object:
        """`kudos,tada=teamwork`; a value must be one of PULSEBOT_VALUES, so a typo stops
        start-up instead of making every such reaction refused."""
        if not isinstance(value, str):
            return value
        try:
            reactions = parse_kudos_reactions(value)
        except ValueError as problem:
            raise PydanticCustomError("kudos_reactions", str(problem)) from None
        known = info.data.get("values")
        for name, tagged in reactions.items():
            if tagged is not None and known is not None and tagged not in known:
                raise PydanticCustomError(
                    "kudos_reactions",
                    "{name}={tagged} names a value that is not in PULSEBOT_VALUES ({known})",
                    {"name": name, "tagged": tagged, "known": ",".join(known)},
                )
        return reactions

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_bot_token", mode="before")
    @classmethod
    def _token_given(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise PydanticCustomError("missing", "Field required")
        return value

    @field_validator("kudos_channel", "slack_app_token", "slack_signing_secret", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


@lru_cache(maxsize=1)
def get_database_settings() -> DatabaseSettings:
    return DatabaseSettings()


@lru_cache(maxsize=1)
def get_data_settings() -> DataSettings:
    return DataSettings()


def missing_variable(error: ValidationError) -> str | None:
    """The first required variable a ValidationError complains is absent, if that is the cause."""
    for item in error.errors():
        if item["type"] == "missing" and item["loc"]:
            return str(item["loc"][0])
    return None


def describe_problem(error: ValidationError) -> str:
    """One line an operator can act on, instead of pydantic's multi-line report."""
    name = missing_variable(error)
    if name is not None:
        where = WHERE_TO_GET.get(name, "see README.md, Configuration")
        return f"{name} is not set. Get it from {where}, then put it in the environment or .env."
    item = error.errors()[0]
    return f"{item['loc'][0]} is invalid: {item['msg']} (see README.md, Configuration)."
