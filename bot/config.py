"""Settings from the environment and `.env`. A bad setting is reported in one line, never a traceback."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.messages import Member

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """Every setting copbot reads. Names are the environment variables (also read from `.env`)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      populate_by_name=True)

    data_dir: Path = Field(Path("data"), validation_alias=_env("COPBOT_DATA_DIR"),
                           description="Folder for the SQLite file, exports and console history.")
    database_url: str = Field("", validation_alias=_env("DATABASE_URL"),
                              description="SQLAlchemy URL; empty means a SQLite file in COPBOT_DATA_DIR.")
    timezone: str = Field("America/New_York", validation_alias=_env("COPBOT_TIMEZONE"),
                          description="The community's IANA time zone.")
    admins: str = Field("", validation_alias=_env("COPBOT_ADMINS"),
                        description="Bootstrap admins, comma-separated platform:user_id pairs.")
    log_level: str = Field("INFO", validation_alias=_env("LOG_LEVEL"), description="Logging level.")
    host: str = Field("127.0.0.1", validation_alias=_env("HOST"), description="Address `copbot serve` listens on.")
    port: int = Field(8080, validation_alias=_env("PORT"), ge=0, le=65535,
                      description="Port `copbot serve` listens on (0 picks a free one).")
    public_url: str = Field("", validation_alias=_env("COPBOT_PUBLIC_URL"),
                            description="The address members reach `copbot serve` at, for calendar links.")

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone name such as America/New_York or Europe/London") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @field_validator("admins")
    @classmethod
    def _check_admins(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            platform, sep, user = part.partition(":")
            if not sep or not platform or not user:
                raise ValueError(
                    f"{part!r} is not platform:user_id; example: COPBOT_ADMINS=slack:U012AB3CD,console:ana"
                )
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError(
                "must be a sqlite:/// or postgresql+psycopg:// URL, "
                "for example postgresql+psycopg://copbot@localhost/copbot"
            )
        return value

    @property
    def bootstrap_admins(self) -> frozenset[tuple[str, str]]:
        pairs = []
        for part in filter(None, (p.strip() for p in self.admins.split(","))):
            platform, _, user = part.partition(":")
            pairs.append((platform.strip(), user.strip()))
        return frozenset(pairs)

    def is_bootstrap_admin(self, member: Member) -> bool:
        return member.key in self.bootstrap_admins

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'copbot.sqlite3').resolve()}"


class ConfigError(Exception):
    """One line naming the setting and what is allowed."""


def _env_name(field_name: str) -> str:
    alias = Settings.model_fields[field_name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return field_name.upper()


def load_settings(**overrides: object) -> Settings:
    """Read settings; raise ConfigError with a one-line message on a bad value."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first.get("loc") or ("?",)
        name = str(loc[0])
        env = _env_name(name) if name in Settings.model_fields else name.upper()
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        raise ConfigError(f"configuration error: {env}: {message}") from None
