"""`copbot serve`'s HTTP side, on a real socket on 127.0.0.1 with a free port."""

from __future__ import annotations

import aiohttp

from adapters.http_server import HttpServer


async def test_healthz_and_calendar_routes() -> None:
    healthy = {"ok": True}

    async def health() -> bool:
        return healthy["ok"]

    async def feed(token: str) -> bytes | None:
        return b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n" if token == "s3cret-token" else None

    server = HttpServer(health=health, feed=feed, host="127.0.0.1", port=0)
    port = await server.start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 200 and (await r.json()) == {"status": "ok"}
            healthy["ok"] = False
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 503
            async with http.get(f"{base}/calendar/s3cret-token.ics") as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/calendar")
                assert (await r.read()).startswith(b"BEGIN:VCALENDAR")
            async with http.get(f"{base}/calendar/guess.ics") as r:
                assert r.status == 404 and "me calendar" in await r.text()
    finally:
        await server.stop()
