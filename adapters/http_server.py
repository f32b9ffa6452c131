"""`copbot serve`: one aiohttp server in the bot's event loop.

It serves `/healthz`, the routes the features declare (the calendar feeds, `/calendar/<token>.ics`) and,
when Slack runs over HTTP, `/slack/events`. Like every adapter it only translates: HTTP in, the core's
answer out.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from bot.context import Services
from bot.feature import Route

log = logging.getLogger(__name__)
HealthCheck = Callable[[], Awaitable[bool]]


class HttpServer:
    def __init__(
        self,
        *,
        health: HealthCheck,
        services: Services | None = None,
        routes: Sequence[Route] = (),
        host: str = "127.0.0.1",
        port: int = 8080,
    ) -> None:
        self.health, self.services = health, services
        self.host, self.port = host, port
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        for route in routes:
            self.app.router.add_get(route.path, self._serve(route))
        self._runner: web.AppRunner | None = None

    def _serve(self, route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def answer(request: web.Request) -> web.Response:
            assert self.services is not None, "routes need the app's services"
            try:
                found = await route.handler(self.services, dict(request.match_info))
            except Exception:  # noqa: BLE001 - a failing route is a clear 500 line in the log, not a trace to the client
                log.exception("route %s failed", route.path)
                return web.Response(status=500, text="Something went wrong on our side.")
            content_type, _, params = found.content_type.partition(";")
            charset = params.split("=", 1)[1].strip() if "charset=" in params else None
            return web.Response(
                body=found.body,
                status=found.status,
                content_type=content_type.strip(),
                charset=charset,
                headers=dict(found.headers),
            )

        return answer

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            ok = await self.health()
        except Exception:  # noqa: BLE001 - a failing check is an unhealthy answer, not a crash
            log.exception("health check failed")
            ok = False
        return web.json_response({"status": "ok" if ok else "unavailable"}, status=200 if ok else 503)

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
