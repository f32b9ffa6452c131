"""Settings from the environment and `.env`. A bad setting is reported in one line, never a traceback."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, PrivateAttr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import zones
from bot.messages import Member

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """Every setting copbot reads. Names are the environment variables (also read from `.env`)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(
        Path("data"),
        validation_alias=_env("COPBOT_DATA_DIR"),
        description="Folder for the SQLite file, exports and console history.",
    )
    database_url: str = Field(
        "",
        validation_alias=_env("DATABASE_URL"),
        description="SQLAlchemy URL; empty means a SQLite file in COPBOT_DATA_DIR.",
    )
    timezone: str = Field(
        "America/New_York",
        validation_alias=_env("COPBOT_TIMEZONE"),
        description="The community's IANA time zone.",
    )
    admins: str = Field(
        "",
        validation_alias=_env("COPBOT_ADMINS"),
        description="Bootstrap admins, comma-separated: platform:user_id (console:ana, "
        "slack:U012AB3CD meaning that user in the workspace this installation "
        "serves) or platform:workspace:user_id (slack:T0123ABCD:U012AB3CD).",
    )
    log_level: str = Field("INFO", validation_alias=_env("LOG_LEVEL"), description="Logging level.")
    host: str = Field(
        "127.0.0.1", validation_alias=_env("HOST"), description="Address `copbot serve` listens on."
    )
    port: int = Field(
        8080,
        validation_alias=_env("PORT"),
        ge=0,
        le=65535,
        description="Port `copbot serve` listens on (0 picks a free one).",
    )
    public_url: str = Field(
        "",
        validation_alias=_env("COPBOT_PUBLIC_URL"),
        description="The address members reach `copbot serve` at, for calendar links.",
    )

    # Slack (adapters/slack/). With SLACK_BOT_TOKEN set, `copbot run` starts Slack.
    slack_bot_token: str = Field(
        "",
        validation_alias=_env("SLACK_BOT_TOKEN"),
        repr=False,
        description="Slack bot token (xoxb-...); enables the Slack adapter.",
    )
    slack_signing_secret: str = Field(
        "",
        validation_alias=_env("SLACK_SIGNING_SECRET"),
        repr=False,
        description="Slack signing secret; required for HTTP mode (`copbot serve`).",
    )
    slack_app_token: str = Field(
        "",
        validation_alias=_env("SLACK_APP_TOKEN"),
        repr=False,
        description="Slack app-level token (xapp-...); set it to use Socket Mode.",
    )
    slack_api_base_url: str = Field(
        "https://slack.com/api/",
        validation_alias=_env("SLACK_API_BASE_URL"),
        description="Slack Web API base; GovSlack is https://slack-gov.com/api/.",
    )
    slack_client_id: str = Field(
        "",
        validation_alias=_env("SLACK_CLIENT_ID"),
        description="OAuth mode (several workspaces install the app): the app's client id, with "
        "SLACK_CLIENT_SECRET and SLACK_TOKEN_KEY instead of SLACK_BOT_TOKEN.",
    )
    slack_client_secret: str = Field(
        "",
        validation_alias=_env("SLACK_CLIENT_SECRET"),
        repr=False,
        description="OAuth mode: the app's client secret (Basic Information, App Credentials).",
    )
    slack_token_key: str = Field(
        "",
        validation_alias=_env("SLACK_TOKEN_KEY"),
        repr=False,
        description="OAuth mode: the Fernet key installed workspaces' bot tokens are encrypted with.",
    )
    slack_command: str = Field(
        "/cop",
        validation_alias=_env("SLACK_COMMAND"),
        description="The slash command that carries every command.",
    )
    # Discord (adapters/discord/). With DISCORD_TOKEN set, `copbot run` starts Discord.
    discord_token: str = Field(
        "",
        validation_alias=_env("DISCORD_TOKEN"),
        repr=False,
        description="Discord bot token; enables the Discord adapter.",
    )
    discord_guild_ids: str = Field(
        "",
        validation_alias=_env("DISCORD_GUILD_IDS"),
        description="Comma-separated guild (server) ids to sync slash commands to.",
    )
    discord_coordinator_role: str = Field(
        "",
        validation_alias=_env("DISCORD_COORDINATOR_ROLE"),
        description="Name or id of the Discord role that makes a coordinator.",
    )
    discord_notice_channel_id: str = Field(
        "",
        validation_alias=_env("DISCORD_NOTICE_CHANNEL_ID"),
        description="Channel for reminders to members who do not accept DMs.",
    )
    discord_message_content: bool = Field(
        False,
        validation_alias=_env("DISCORD_MESSAGE_CONTENT"),
        description="Use Discord's privileged Message Content intent, so every "
        "reply in the forum thread is recorded (not only mentions).",
    )
    discord_requests_per_second: int = Field(
        50,
        ge=1,
        validation_alias=_env("DISCORD_REQUESTS_PER_SECOND"),
        description="The bot's global rate limit on Discord: 50 unless Discord raised it for the bot.",
    )
    discord_api_base_url: str = Field(
        "",
        validation_alias=_env("DISCORD_API_BASE_URL"),
        description="Another Discord-compatible REST base (tests, self-hosting).",
    )
    discord_gateway_url: str = Field(
        "",
        validation_alias=_env("DISCORD_GATEWAY_URL"),
        description="Another Discord-compatible gateway URL (tests, self-hosting).",
    )

    # Microsoft Teams (adapters/teams/). With TEAMS_APP_ID and TEAMS_APP_PASSWORD set, copbot serves Teams
    # at /api/messages on the HTTP server.
    teams_app_id: str = Field(
        "",
        validation_alias=_env("TEAMS_APP_ID"),
        description="The bot's Microsoft App ID (Azure Bot resource); with TEAMS_APP_PASSWORD or "
        "TEAMS_APP_CERTIFICATE enables Teams.",
    )
    teams_app_password: str = Field(
        "",
        validation_alias=_env("TEAMS_APP_PASSWORD"),
        repr=False,
        description="The bot's client secret (Entra app registration, Certificates & secrets).",
    )
    teams_app_certificate: str = Field(
        "",
        validation_alias=_env("TEAMS_APP_CERTIFICATE"),
        description="Path to a PEM file with the private key and certificate registered on the app, "
        "used instead of TEAMS_APP_PASSWORD.",
    )
    teams_tenant_id: str = Field(
        "",
        validation_alias=_env("TEAMS_TENANT_ID"),
        description="The Entra tenant (directory) id the bot serves; activities from any other are refused.",
    )
    teams_cloud: str = Field(
        "commercial",
        validation_alias=_env("TEAMS_CLOUD"),
        description="commercial, gcc, gcch (GCC High) or dod: selects the login and service endpoints.",
    )
    teams_login_url: str = Field(
        "",
        validation_alias=_env("TEAMS_LOGIN_URL"),
        description="Overrides the cloud's Entra login endpoint (tests, proxies).",
    )
    teams_openid_metadata_url: str = Field(
        "",
        validation_alias=_env("TEAMS_OPENID_METADATA_URL"),
        description="Overrides the cloud's Bot Framework OpenID metadata URL (signing keys).",
    )
    teams_service_url: str = Field(
        "",
        validation_alias=_env("TEAMS_SERVICE_URL"),
        description="Overrides the cloud's Bot Connector service URL for proactive posts.",
    )
    teams_graph_url: str = Field(
        "",
        validation_alias=_env("TEAMS_GRAPH_URL"),
        description="Overrides the cloud's Microsoft Graph endpoint (coordinator groups).",
    )
    teams_notice_channel_id: str = Field(
        "",
        validation_alias=_env("TEAMS_NOTICE_CHANNEL_ID"),
        description="Teams channel where members copbot cannot message privately get reminders, as a mention.",
    )
    teams_coordinator_groups: str = Field(
        "",
        validation_alias=_env("TEAMS_COORDINATOR_GROUPS"),
        description="Comma-separated Entra group object ids whose members are coordinators.",
    )

    # The workspace each platform's installation serves (a Slack team or Enterprise Grid org), learned from
    # the platform when its adapter starts (Slack: auth.test); "" until then and for platforms without one.
    _workspaces: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        if zones.canonical(value) != value:
            raise ValueError("must be an IANA time zone name such as America/New_York or Europe/London")
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
            if Member.from_ref(part) is None:
                raise ValueError(
                    f"{part!r} is not platform:user_id or platform:workspace:user_id; "
                    "example: COPBOT_ADMINS=slack:U012AB3CD,slack:T0123ABCD:U045EF6GH,console:ana"
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

    @field_validator("slack_api_base_url")
    @classmethod
    def _check_slack_base(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(
                "must be an http(s) URL such as https://slack.com/api/ or https://slack-gov.com/api/"
            )
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_command")
    @classmethod
    def _check_slack_command(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith("/") or len(value) < 2 or " " in value:
            raise ValueError("must be a slash command such as /cop")
        return value

    @field_validator("discord_guild_ids")
    @classmethod
    def _check_guilds(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            if not part.isdigit():
                raise ValueError(f"{part!r} is not a guild id; example: DISCORD_GUILD_IDS=123456789012345678")
        return value

    @property
    def guild_ids(self) -> tuple[int, ...]:
        return tuple(int(p) for p in (x.strip() for x in self.discord_guild_ids.split(",")) if p)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token or self.slack_oauth)

    @property
    def slack_oauth(self) -> bool:
        """OAuth mode: workspaces install the app (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET set)."""
        return bool(self.slack_client_id or self.slack_client_secret)

    @property
    def discord_enabled(self) -> bool:
        return bool(self.discord_token)

    @field_validator("teams_cloud")
    @classmethod
    def _check_teams_cloud(cls, value: str) -> str:
        cloud = value.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
        cloud = {"public": "commercial", "gcchigh": "gcch", "usgov": "gcch", "usgovdod": "dod"}.get(
            cloud, cloud
        )
        if cloud not in ("commercial", "gcc", "gcch", "dod"):
            raise ValueError("must be commercial, gcc, gcch (GCC High) or dod; example: TEAMS_CLOUD=gcch")
        return cloud

    @field_validator("teams_login_url", "teams_openid_metadata_url", "teams_service_url", "teams_graph_url")
    @classmethod
    def _check_teams_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL, for example https://login.microsoftonline.us")
        return value

    @property
    def teams_enabled(self) -> bool:
        return bool(self.teams_app_id and (self.teams_app_password or self.teams_app_certificate))

    @property
    def teams_groups(self) -> tuple[str, ...]:
        return tuple(p for p in (x.strip() for x in self.teams_coordinator_groups.split(",")) if p)

    def serve_workspace(self, platform: str, workspace: str) -> None:
        """Record the workspace `platform`'s installation serves (its adapter learns it at start)."""
        self._workspaces[platform] = workspace

    def workspace(self, platform: str) -> str:
        """The workspace `platform`'s installation serves; "" when it has none or it is not known yet."""
        return self._workspaces.get(platform, "")

    @property
    def bootstrap_admins(self) -> frozenset[tuple[str, str, str]]:
        """(platform, workspace, user_id) of each admin from configuration. An entry without a workspace
        names the user in the workspace this installation serves, never the same id elsewhere."""
        admins = (Member.from_ref(p) for p in self.admins.split(",") if p.strip())
        return frozenset(
            (m.platform, m.workspace or self.workspace(m.platform), m.user_id)
            for m in admins
            if m is not None
        )

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
