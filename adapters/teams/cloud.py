"""Which Microsoft endpoints the Teams adapter talks to, per cloud, each one overridable by configuration.

- commercial and gcc: login https://login.microsoftonline.com, signing keys from
  https://login.botframework.com/v1/.well-known/openidconfiguration, Graph https://graph.microsoft.com;
  service URL https://smba.trafficmanager.net/teams/ (commercial),
  https://smba.infra.gcc.teams.microsoft.com/teams (gcc).
- gcch and dod: login https://login.microsoftonline.us, signing keys from
  https://login.botframework.azure.us/v1/.well-known/openidconfiguration; service URL
  https://smba.infra.gov.teams.microsoft.us/teams (gcch), https://smba.infra.dod.teams.microsoft.us/teams
  (dod); Graph https://graph.microsoft.us (gcch), https://dod-graph.microsoft.us (dod).

GCC (moderate) runs its bots on Azure commercial, so only the Teams service URL differs; GCC High and DoD
use Azure Government's login, token audience (api.botframework.us) and issuer. The service URL is the
starting point for proactive posts only: every incoming activity names the service URL for its
conversation, and replies and later posts in that tenant use the one last seen.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings


@dataclass(frozen=True)
class Cloud:
    name: str
    login_url: str  # Entra ID; tokens come from {login_url}/{tenant}/oauth2/v2.0/token
    bot_scope: str  # what the bot's token is for (the Bot Connector service)
    openid_metadata_url: str  # the Bot Framework's signing keys for incoming activities
    issuer: str  # the `iss` of an incoming activity's token
    service_url: str  # the Bot Connector service, until an activity names another
    graph_url: str  # Microsoft Graph (coordinator groups)
    graph_scope: str

    @property
    def login_host(self) -> str:
        return self.login_url.split("://", 1)[-1].split("/", 1)[0]


_COMMERCIAL = dict(
    login_url="https://login.microsoftonline.com",
    bot_scope="https://api.botframework.com/.default",
    openid_metadata_url="https://login.botframework.com/v1/.well-known/openidconfiguration",
    issuer="https://api.botframework.com",
    graph_url="https://graph.microsoft.com",
    graph_scope="https://graph.microsoft.com/.default",
)
_GOVERNMENT = dict(
    login_url="https://login.microsoftonline.us",
    bot_scope="https://api.botframework.us/.default",
    openid_metadata_url="https://login.botframework.azure.us/v1/.well-known/openidconfiguration",
    issuer="https://api.botframework.us",
)

CLOUDS: dict[str, Cloud] = {
    "commercial": Cloud("commercial", service_url="https://smba.trafficmanager.net/teams/", **_COMMERCIAL),
    "gcc": Cloud("gcc", service_url="https://smba.infra.gcc.teams.microsoft.com/teams", **_COMMERCIAL),
    "gcch": Cloud(
        "gcch",
        service_url="https://smba.infra.gov.teams.microsoft.us/teams",
        graph_url="https://graph.microsoft.us",
        graph_scope="https://graph.microsoft.us/.default",
        **_GOVERNMENT,
    ),
    "dod": Cloud(
        "dod",
        service_url="https://smba.infra.dod.teams.microsoft.us/teams",
        graph_url="https://dod-graph.microsoft.us",
        graph_scope="https://dod-graph.microsoft.us/.default",
        **_GOVERNMENT,
    ),
}


def cloud_of(settings: Settings) -> Cloud:
    """TEAMS_CLOUD's endpoints with TEAMS_LOGIN_URL, TEAMS_OPENID_METADATA_URL, TEAMS_SERVICE_URL and
    TEAMS_GRAPH_URL laid over them (the graph scope stays the cloud's: it names a resource, not a host)."""
    base = CLOUDS[settings.teams_cloud]
    return Cloud(
        name=base.name,
        login_url=(settings.teams_login_url or base.login_url).rstrip("/"),
        bot_scope=base.bot_scope,
        openid_metadata_url=settings.teams_openid_metadata_url or base.openid_metadata_url,
        issuer=base.issuer,
        service_url=settings.teams_service_url or base.service_url,
        graph_url=(settings.teams_graph_url or base.graph_url).rstrip("/"),
        graph_scope=base.graph_scope,
    )
