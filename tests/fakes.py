"""Test doubles for time and for a platform: a clock we move by hand, a messenger that records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.messages import Reply, names_shown
from bot.messenger import DeliveryError, Posted, PostTags


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when


@dataclass
class Sent:
    kind: str  # post | thread | reply | dm
    target: str
    reply: Reply
    thread_id: str | None = None
    tags: PostTags | None = None


@dataclass
class RecordingMessenger:
    """Implements bot.messenger.Messenger; records everything, can be told to fail."""

    platform: str = "console"
    sent: list[Sent] = field(default_factory=list)
    fail_next: int = 0
    fail_always: bool = False
    _n: int = 0

    def _check(self) -> None:
        if self.fail_always or self.fail_next > 0:
            self.fail_next = max(0, self.fail_next - 1)
            raise DeliveryError("platform said 500")

    def _posted(self, channel: str, thread: str | None = None) -> Posted:
        self._n += 1
        return Posted(
            self.platform, channel, f"m{self._n}", thread, f"https://chat.example/{channel}/m{self._n}"
        )

    async def post(
        self, channel_id: str, reply: Reply, *, tags: PostTags | None = None, workspace: str = ""
    ) -> Posted:
        self._check()
        reply = names_shown(reply)  # members by name, as a plain platform shows them
        self.sent.append(Sent("post", channel_id, reply, tags=tags))
        return self._posted(channel_id)

    async def open_thread(
        self, channel_id: str, title: str, reply: Reply, *, tags: PostTags | None = None, workspace: str = ""
    ) -> Posted:
        self._check()
        self._n += 1
        thread = f"T{self._n}"
        self.sent.append(Sent("thread", channel_id, names_shown(reply), thread, tags))
        return Posted(
            self.platform, channel_id, thread, thread, f"https://chat.example/{channel_id}/{thread}"
        )

    async def reply_in_thread(
        self, channel_id: str, thread_id: str, reply: Reply, *, workspace: str = ""
    ) -> Posted:
        self._check()
        self.sent.append(Sent("reply", channel_id, names_shown(reply), thread_id))
        return self._posted(channel_id, thread_id)

    async def send_dm(self, user_id: str, reply: Reply, *, workspace: str = "") -> Posted:
        self._check()
        self.sent.append(Sent("dm", user_id, names_shown(reply)))
        return self._posted(f"dm-{user_id}")

    def texts(self, kind: str | None = None) -> list[str]:
        return [s.reply.text for s in self.sent if kind is None or s.kind == kind]
