"""Start and stop the platform adapters around one App, in the one event loop the entry point owns.

`copbot run` and `copbot serve` call `start_platforms`; tests call it too, so they run the real thing.
Slack runs in Socket Mode when SLACK_APP_TOKEN is set, otherwise over HTTP at /slack/events on the same
aiohttp server as /healthz and the calendar feeds. Discord connects with `Client.start()` in this loop.
In Slack's OAuth mode that server also serves /slack/install and /slack/oauth_redirect.
Teams (TEAMS_APP_ID and TEAMS_APP_PASSWORD set) is served at /api/messages on that same HTTP server.
The web pages (adapters/web/: the library, the forum, convenings, a member's page) are served there too.
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from adapters.http_server import HttpServer
from bot.app import App

log = logging.getLogger(__name__)


class PlatformAdapter(Protocol):
    platform: str
    messenger: Any

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Running:
    app: App
    adapters: dict[str, PlatformAdapter] = field(default_factory=dict)
    http: HttpServer | None = None

    @property
    def port(self) -> int | None:
        return self.http.port if self.http else None

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.stop()
        for adapter in reversed(list(self.adapters.values())):
            try:
                await adapter.stop()
            except Exception:  # noqa: BLE001 - stopping the others matters more
                log.exception("stopping %s failed", adapter.platform)
        await self.app.stop()


async def start_platforms(app: App, *, http: bool | None = None) -> Running:
    """Build the configured adapters, register their messengers, start the scheduler, then connect.

    `http`: serve HTTP (health, calendar feeds, Slack events, Teams activities). None means "when Slack or
    Teams needs it".
    """
    settings = app.settings
    running = Running(app)
    if settings.slack_enabled:
        from adapters.slack.adapter import SlackAdapter

        running.adapters["slack"] = SlackAdapter(app)
    if settings.discord_enabled:
        from adapters.discord.adapter import DiscordAdapter

        running.adapters["discord"] = DiscordAdapter(app)
    if settings.teams_enabled:
        from adapters.teams.adapter import TeamsAdapter

        running.adapters["teams"] = TeamsAdapter(app)
    for adapter in running.adapters.values():
        app.add_messenger(adapter.messenger)
    slack_http = settings.slack_enabled and not settings.slack_app_token
    if http is None:
        http = slack_http or settings.teams_enabled
    if http:
        running.http = HttpServer(
            health=app.healthy,
            services=app.services,
            routes=app.routes,
            host=settings.host,
            port=settings.port,
        )
        slack = running.adapters.get("slack")
        if slack is not None and slack_http:
            running.http.app.router.add_post("/slack/events", slack.handle_http)  # type: ignore[attr-defined]
            if getattr(slack, "oauth", False):  # workspaces install the app through bolt's OAuth flow
                running.http.app.router.add_get("/slack/install", slack.handle_install)  # type: ignore[attr-defined]
                running.http.app.router.add_get("/slack/oauth_redirect", slack.handle_oauth_redirect)  # type: ignore[attr-defined]
        teams = running.adapters.get("teams")
        if teams is not None:
            running.http.app.router.add_post("/api/messages", teams.handle_http)  # type: ignore[attr-defined]
        from adapters.web.adapter import WebAdapter  # the web pages (adapters/web/): on every HTTP server

        WebAdapter(app).mount(running.http.app)
    await app.start()
    try:
        for adapter in running.adapters.values():
            await adapter.start()
        if running.http is not None:
            port = await running.http.start()
            if (
                not settings.port
            ):  # "any free port": links copbot gives (sign-in, calendars) name the real one
                settings.port = port
    except BaseException:
        await running.stop()
        raise
    # What start-up built (models, the catalog, the command registry) lives as long as the process: keep it
    # out of the garbage collector's full passes, which otherwise pause request handling for milliseconds.
    gc.freeze()
    return running
