"""Talk to the core the way an adapter does: feed `Incoming`, read `Reply`s (errbot's testbot idea)."""

from __future__ import annotations

from typing import Any

from bot.app import App
from bot.messages import Incoming, Member, Place, Reply, names_shown
from bot.permissions import Role

ROOT = Member("console", "root", "Root Admin")  # a bootstrap admin in the test settings


def member(name: str, platform: str = "console") -> Member:
    return Member(platform, name, name.capitalize())


class Harness:
    def __init__(self, app: App) -> None:
        self.app = app
        self.place = Place("console", "general")

    async def say(self, text: str, who: Member | str = ROOT, **mentions: Member) -> list[Reply]:
        speaker = member(who) if isinstance(who, str) else who
        found = {f"@{m.user_id}": m for m in mentions.values()}
        for word in text.split():
            if word.startswith("@") and word not in found:
                found[word] = member(word[1:])
        replies = await self.app.dispatch(
            Incoming(member=speaker, place=self.place, text=text, mentions=found)
        )
        return [names_shown(r) for r in replies]  # members by name, as the console shows them

    async def one(self, text: str, who: Member | str = ROOT) -> Reply:
        replies = await self.say(text, who)
        assert len(replies) == 1, replies
        return replies[0]

    async def ok(self, text: str, who: Member | str = ROOT) -> Reply:
        reply = await self.one(text, who)
        assert not reply.is_error, reply.text
        return reply

    async def fails(self, text: str, who: Member | str = ROOT) -> str:
        reply = await self.one(text, who)
        assert reply.is_error, f"expected an error for {text!r}, got: {reply.text}"
        return reply.text

    async def submit(self, command: str, values: dict[str, Any], who: Member | str = ROOT) -> Reply:
        speaker = member(who) if isinstance(who, str) else who
        replies = await self.app.dispatch(
            Incoming(member=speaker, place=self.place, command=command, values=values)
        )
        assert len(replies) == 1
        return names_shown(replies[0])

    async def grant(self, who: str, role: Role) -> None:
        await self.app.set_local_role(member(who), role, "test")

    async def count(self, table: str) -> int:
        from sqlalchemy import text

        return await self.app.store.run(
            lambda s: s.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        )


class ClockedHarness(Harness):
    """A harness whose app runs on a clock the test moves, with a messenger that records what is sent."""

    def __init__(self, app: App, clock: Any, messenger: Any) -> None:
        super().__init__(app)
        self.clock, self.messenger = clock, messenger

    async def run_until(self, when: Any) -> None:
        """Move time forward, waking the scheduler at each due post as the real alarm clock does."""
        from scheduling.engine import outbox

        while True:
            due = await self.app.store.run(outbox.next_due)
            if due is None or due > when:
                break
            self.clock.set(max(due, self.clock()))
            await self.app.scheduler.tick()
        self.clock.set(max(when, self.clock()))
        await self.app.scheduler.tick()
