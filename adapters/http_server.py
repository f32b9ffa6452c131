"""`copbot serve`: one aiohttp server in the bot's event loop.

Today it serves `/healthz` and the calendar feeds (`/calendar/<token>.ics`); the Slack adapter's
`/slack/events` will join it. Like every adapter it only translates: HTTP in, the core's answer out.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)
FeedLookup = Callable[[str], Awaitable[bytes | None]]
HealthCheck = Callable[[], Awaitable[bool]]


class HttpServer:
    def __init__(self, *, health: HealthCheck, feed: FeedLookup | None = None, host: str = "127.0.0.1",
                 port: int = 8080) -> None:
        self.health, self.feed = health, feed
        self.host, self.port = host, port
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/calendar/{token}.ics", self._calendar)
        self._runner: web.AppRunner | None = None

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            ok = await self.health()
        except Exception:  # noqa: BLE001 - a failing check is an unhealthy answer, not a crash
            log.exception("health check failed")
            ok = False
        return web.json_response({"status": "ok" if ok else "unavailable"}, status=200 if ok else 503)

    async def _calendar(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        body = await self.feed(token) if self.feed is not None and len(token) <= 100 else None
        if body is None:
            # The same answer for a wrong, reset or malformed token: nothing to learn by guessing.
            return web.Response(status=404, text="No such calendar. Ask the bot for your link: me calendar")
        return web.Response(body=body, content_type="text/calendar", charset="utf-8",
                            headers={"Cache-Control": "private, max-age=300"})

    async def start(self) -> int:
        """Start listening; returns the port (useful with port 0)."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1] if sockets else self.port
        log.info("serving on http://%s:%s", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
