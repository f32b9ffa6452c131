"""Discord's global rate limit, kept on our side.

Discord allows a bot 50 requests a second over every route together (more if Discord raised it for the
bot: DISCORD_REQUESTS_PER_SECOND) and answers the rest 429 with no warning beforehand. discord.py paces
each route by its headers but learns the global limit only from those 429s, so a fan-out of DMs (a DM
channel opened, then the message, for each member) bursts past it in every second, and each refusal is a
wasted request that Discord counts towards banning the bot's address for a while (10,000 invalid requests
in 10 minutes). Here every request to the API waits for its slot in one evenly paced bucket
(adapters/ratelimit.py), before it leaves, retries included: an aiohttp trace hook, which aiohttp awaits
before each request, handed to discord.py's client as `http_trace`. A global 429 that still comes holds
the bucket for its retry_after and lowers the pace if fewer requests got through than it allowed.

Interaction responses and their follow-ups (/interactions/..., /webhooks/...) are not bound by the
global limit, Discord's documentation says: they never queue behind a fan-out, so a member's command is
answered at once whatever the scheduler is sending.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aiohttp
import discord.http

from adapters.ratelimit import Bucket

UNBOUND = ("/interactions/", "/webhooks/")  # not counted by Discord's global limit


def bound(url: Any) -> bool:
    """Whether a request counts towards the global limit: the REST API, but not interaction answers."""
    text = str(url)
    return text.startswith(discord.http.Route.BASE) and not any(part in text for part in UNBOUND)


def global_pacer(bucket: Bucket) -> aiohttp.TraceConfig:
    """An aiohttp TraceConfig that holds each bound request until `bucket` gives it a slot."""

    async def start(_: aiohttp.ClientSession, __: SimpleNamespace, params: Any) -> None:
        if bound(params.url):
            await bucket.acquire()

    async def end(_: aiohttp.ClientSession, __: SimpleNamespace, params: Any) -> None:
        if not bound(params.url):
            return
        response: aiohttp.ClientResponse = params.response
        if response.status == 429 and response.headers.get("X-RateLimit-Global", "").lower() == "true":
            wait = response.headers.get("X-RateLimit-Reset-After") or response.headers.get("Retry-After")
            bucket.refused(float(wait or 1))
        elif response.status < 400:
            bucket.succeeded()

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(start)
    trace.on_request_end.append(end)
    return trace
