"""Outbound: how the core posts on its own (the scheduler, notices, DMs). Each adapter implements it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from bot.messages import Reply


@dataclass(frozen=True)
class Posted:
    """Where a message landed, so a thread can be replied in later."""

    platform: str
    channel_id: str
    message_id: str
    thread_id: str | None = None
    link: str | None = None


class DeliveryError(Exception):
    """A platform refused or failed a post. `retryable` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


TAGS_MAX = 5  # tags one post may carry (Discord forum posts: five)


@dataclass(frozen=True)
class PostTags:
    """Which of a channel's own tags a new post gets (a Discord forum channel's; places without tags ignore
    it). The feature that posts decides; the messenger only applies the result of `choose`.

    The first rule that picks any of the channel's tags wins: `names` (tags with exactly these names, case
    aside), then `containing` (tags whose name contains one of these words), then, with `from_title`,
    tags whose name appears in the post's title. A channel that requires a tag gets its first one when no
    rule picked any, because the platform refuses an untagged post there.
    """

    names: tuple[str, ...] = ()
    containing: tuple[str, ...] = ()
    from_title: bool = False

    def choose(self, available: Sequence[str], title: str, required: bool) -> list[str]:
        """The names, from `available` (the channel's tags, in its order), that the post gets."""
        wanted = {n.casefold() for n in self.names}
        words = [w.casefold() for w in self.containing if w.strip()]
        rules = [
            [t for t in available if t.casefold() in wanted],
            [t for t in available if any(w in t.casefold() for w in words)],
            [t for t in available if self.from_title and t.casefold() in title.casefold()],
        ]
        chosen = next((picked for picked in rules if picked), [])
        if not chosen and required and available:
            chosen = [available[0]]
        return chosen[:TAGS_MAX]


# While the scheduler makes a platform call for a planned post, this names that call: the post's key and
# the call's place among the post's calls ("forum:2026-03-03:announce#1"). It is the same when the post
# is sent again after a crash, so an adapter whose platform drops repeats (Discord's message nonce)
# passes it on, and a retry cannot double the message. Empty outside the scheduler.
SEND_KEY: ContextVar[str] = ContextVar("copbot_send_key", default="")


class Messenger(Protocol):
    """Posts on one platform. See SEND_KEY for making a repeated call harmless.

    `workspace` names where the channel or the member is, in the platform's own terms (a Slack team or
    Enterprise Grid org id, as `Member.workspace`): a platform serving several workspaces with different
    credentials (Slack installed by OAuth) posts there with that workspace's; the others ignore it."""

    platform: str

    async def post(
        self, channel_id: str, reply: Reply, *, tags: PostTags | None = None, workspace: str = ""
    ) -> Posted:
        """A message in the channel; where a channel holds only posts (a Discord forum), a post titled with
        the reply's first line, tagged as `tags` says."""
        ...

    async def open_thread(
        self, channel_id: str, title: str, reply: Reply, *, tags: PostTags | None = None, workspace: str = ""
    ) -> Posted:
        """Start a thread in a channel with `reply` as its first message; Posted.thread_id names it. A post
        in a channel with tags gets those `tags` chooses."""
        ...

    async def reply_in_thread(
        self, channel_id: str, thread_id: str, reply: Reply, *, workspace: str = ""
    ) -> Posted: ...

    async def send_dm(self, user_id: str, reply: Reply, *, workspace: str = "") -> Posted: ...


# A time in a message that each reader should see in their own zone. Adapters render it natively
# (Slack date tokens, Discord timestamps); `render_times` gives the plain-text form for one zone.
_TIME = re.compile(r"⟨time:(-?\d+)⟩")


def time_mark(dt: datetime) -> str:
    return f"⟨time:{int(dt.timestamp())}⟩"


def format_in_zone(dt: datetime, tz: str) -> str:
    local = dt.astimezone(ZoneInfo(tz))
    return f"{local:%a %-d %b %Y, %H:%M} {local.tzname()}"


def render_times(text: str, tz: str) -> str:
    return _TIME.sub(lambda m: format_in_zone(datetime.fromtimestamp(int(m.group(1)), UTC), tz), text)


@dataclass(frozen=True)
class MirrorEvent:
    """A convening as a platform calendar shows it (a Discord Guild Scheduled Event)."""

    convening_id: int
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    location: str
    cancelled: bool = False


@runtime_checkable
class EventMirror(Protocol):
    """Optional: a messenger that keeps copies of convenings on its platform's own calendar."""

    platform: str

    def mirror_scopes(self) -> tuple[str, ...]:
        """Where copies live (Discord: the configured guild ids); empty when there is nowhere to mirror."""
        ...

    async def mirror_convening(
        self, scope_id: str, event: MirrorEvent, external_id: str | None
    ) -> str | None:
        """Create (external_id None) or update the copy; return its id, or None when there is no copy
        (a cancelled convening never mirrored, or a copy that can no longer change)."""
        ...
