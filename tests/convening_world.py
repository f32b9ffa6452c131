"""The world the convening tests share: the "Digital Leaders" network on a hand-moved clock, with Cora
(Chicago) as its coordinator and Ana (Los Angeles) and Leo (London) as readers in other zones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlmodel import select

from bot.app import build_app
from bot.config import Settings
from scheduling.engine.models import PlannedPost
from tests.fakes import FakeClock, RecordingMessenger
from tests.harness import ClockedHarness

START = "March 14 2027 10:00 Central"  # the US changes to summer time that morning; the UK on 28 March
STARTS_UTC = datetime(2027, 3, 14, 15, 0, tzinfo=UTC)  # 10:00 CDT
ZONES = (("cora", "America/Chicago"), ("ana", "America/Los_Angeles"), ("leo", "Europe/London"))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class ConvBot(ClockedHarness):
    def dms(self, to: str | None = None) -> list[str]:
        return [
            s.reply.text for s in self.messenger.sent if s.kind == "dm" and (to is None or s.target == to)
        ]

    async def reminder_dues(self) -> dict[str, datetime]:
        rows = await self.app.store.run(
            lambda s: s.execute(
                select(PlannedPost.key, PlannedPost.due_at).where(
                    PlannedPost.kind == "convening.remind", PlannedPost.state == "pending"
                )
            ).all()
        )
        return dict(rows)


@asynccontextmanager
async def digital_leaders(
    settings: Settings, *, zones: bool = True, members: tuple[str, ...] = ()
) -> AsyncIterator[ConvBot]:
    """The network on 1 March 2027, with the readers' zones set and `members` joined."""
    clock = FakeClock(utc(2027, 3, 1, 12, 0))
    app = build_app(settings, clock=clock)
    messenger = RecordingMessenger()
    app.add_messenger(messenger)
    bot = ConvBot(app, clock, messenger)
    try:
        await bot.ok('network create "Digital Leaders"')
        await bot.ok("network coordinator add digital-leaders @cora")
        for who, zone in ZONES if zones else ():
            await bot.ok(f"me timezone {zone}", who)
        for who in members:
            await bot.ok("network join digital-leaders", who)
        yield bot
    finally:
        app.close()


async def schedule(cb: ConvBot, extra: str = "") -> int:
    """Cora schedules "Budget season" for START; returns the convening's id."""
    reply = await cb.ok(
        f'convening schedule digital-leaders --title "Budget season" --start "{START}" '
        f'--duration 90m --place https://meet.example/b --agenda "Cuts and keeps" {extra}',
        "cora",
    )
    return int(reply.text.split("convening ")[1].split(" ")[0])
