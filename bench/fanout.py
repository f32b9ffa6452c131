"""Fan-out: N direct messages (default 2,000, one per member) through a rate-limited fake Slack and fake Discord.

Each fake allows LIMIT messages a second (Slack: chat.postMessage; Discord: POST /channels/{id}/messages,
one shared bucket) and answers the rest 429 with Retry-After, as the real platforms do under a sustained
burst. The project side is the real messenger of each adapter (SlackMessenger over slack_sdk with its
per-method pause; DiscordMessenger over a discord.py client connected to the fake's gateway), sending the
DMs with CONCURRENCY in flight, each DM opening its member's channel the first time. The floor, printed
beside it: N / LIMIT seconds, the fastest any client could get N messages through that limit.
Reported: time, x floor, 429s answered, DM channels opened, members who got none (lost), members who got
more than one (doubled), sends that raised (a DeliveryError the scheduler's outbox would retry later).
The fakes run in this process, so the figures include their work; they are only as quiet as the machine.

Run: ./dev bench fanout [--dms 2000] [--limit 50] [--concurrency 32] [--platforms slack,discord]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.slack.messenger import Pause, SlackMessenger, web_client  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.messages import Reply  # noqa: E402
from tests import fake_slack as fs  # noqa: E402
from tests.fake_discord import FakeDiscord  # noqa: E402


async def fan_out(send: Callable[[str], Awaitable[Any]], users: list[str], concurrency: int) -> int:
    """Send one DM to each user with `concurrency` in flight; returns how many sends raised."""
    queue = iter(users)
    failed = 0

    async def worker() -> None:
        nonlocal failed
        for user in queue:
            try:
                await send(user)
            except Exception:  # a DeliveryError: counted, the outbox would try it again
                failed += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failed


async def slack(dms: int, limit: int, concurrency: int) -> dict[str, Any]:
    fake = await fs.FakeSlack().start()
    fake.limit_sustained("chat.postMessage", per_window=limit, window=1.0)
    users = [f"U{i:07d}" for i in range(1, dms + 1)]
    async with aiohttp.ClientSession() as session:
        pause = Pause()
        client = web_client("xoxb-bench", f"http://127.0.0.1:{fake.port}/api/", pause, session)

        async def zone(_: str) -> str:
            return "UTC"

        messenger = SlackMessenger(client, pause, "UTC", zone)
        started = time.perf_counter()
        failed = await fan_out(lambda u: messenger.send_dm(u, Reply(f"Reminder for {u}")), users, concurrency)
        elapsed = time.perf_counter() - started
    per_channel = Counter(str(p.get("channel")) for p in fake.posts())
    await fake.stop()
    got = Counter({u: per_channel.get("D" + u.lstrip("U"), 0) for u in users})
    return {
        "time": elapsed,
        "refused": fake.rate_limited,
        "opened": len(fake.called("conversations.open")),
        "lost": sum(1 for n in got.values() if n == 0),
        "doubled": sum(n - 1 for n in got.values() if n > 1),
        "failed": failed,
    }


async def discord(dms: int, limit: int, concurrency: int) -> dict[str, Any]:
    from adapters.discord.adapter import DiscordAdapter
    from bot.app import build_app

    fake = FakeDiscord()
    await fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            _env_file=None,
            database_url=f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
            data_dir=Path(tmp),
            discord_token=fake.token,
            discord_guild_ids=str(fake.guild_id),
            discord_coordinator_role="Coordinator",
            discord_notice_channel_id=str(fake.reminder_channel.id),
            discord_api_base_url=fake.api_base,
            discord_gateway_url=fake.gateway_url,
        )
        app = build_app(settings)
        adapter = DiscordAdapter(app, guild_ready_timeout=0.05)
        app.add_messenger(adapter.messenger)
        members = [fake.add_member(f"member{i}") for i in range(dms)]
        try:
            await adapter.start()
            fake.limit_sustained("POST", "/channels/{id}/messages", per_window=limit, window=1.0)
            started = time.perf_counter()
            failed = await fan_out(
                lambda u: adapter.messenger.send_dm(u, Reply(f"Reminder for {u}")),
                [str(m.id) for m in members],
                concurrency,
            )
            elapsed = time.perf_counter() - started
        finally:
            await adapter.stop()
            app.close()
    got = Counter({m.id: len(fake.dm_messages(m)) for m in members})
    opened = len(fake.calls_to("POST", "/users/@me/channels"))
    await fake.stop()
    return {
        "time": elapsed,
        "refused": len(fake.refused),
        "opened": opened,
        "lost": sum(1 for n in got.values() if n == 0),
        "doubled": sum(n - 1 for n in got.values() if n > 1),
        "failed": failed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dms", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=50, help="messages a second each fake allows")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--platforms", default="slack,discord")
    args = parser.parse_args()
    floor = args.dms / args.limit
    print(
        f"fan-out benchmark: {args.dms:,} DMs, fakes allow {args.limit}/s and answer 429 beyond; "
        f"floor = {args.dms:,} / {args.limit}/s = {floor:.1f} s"
    )
    print(
        f"{'platform':<9} {'time':>8} {'floor':>7} {'x':>5} {'429s':>6} {'opened':>7} {'lost':>5} "
        f"{'doubled':>7} {'raised':>6}"
    )
    bad = False
    for platform in args.platforms.split(","):
        run = slack if platform == "slack" else discord
        r = asyncio.run(run(args.dms, args.limit, args.concurrency))
        bad |= bool(r["lost"] or r["doubled"])
        print(
            f"{platform:<9} {r['time']:>7.1f}s {floor:>6.1f}s {r['time'] / floor:>4.2f}x {r['refused']:>6} "
            f"{r['opened']:>7} {r['lost']:>5} {r['doubled']:>7} {r['failed']:>6}"
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
