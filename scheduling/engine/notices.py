"""One-off messages a command plans through the outbox: a channel post, a thread reply or a DM.

Planning a notice in the same transaction as the change it announces means the message goes out once
the change is committed, exactly once, even if the platform is down at that moment.

`plan_dm` is the DM the bot sends a member on its own (not an answer to something they just did): it
follows the member's choices (bot/members/dm_prefs.py) when planned and again when sent: a reminder is
not sent to a member with reminders off, and any such DM waits for the end of their quiet hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.members.dm_prefs import dm_prefs_for
from bot.messages import Choice, Reply, Visibility
from scheduling.engine import outbox
from scheduling.engine.runner import Delivery, Later

KIND = "notice"


def plan_notice(
    session: Session,
    key: str,
    now: datetime,
    *,
    platform: str,
    text: str,
    channel_id: str = "",
    thread_id: str = "",
    user_id: str = "",
    workspace: str = "",
    choices: list[tuple[str, str]] | None = None,
    expires: timedelta = timedelta(days=1),
    due_at: datetime | None = None,
    considerate: dict[str, Any] | None = None,
) -> None:
    """A notice due at `due_at` (default now), dropped if not sent within `expires` of that."""
    due = due_at or now
    payload: dict[str, Any] = {
        "platform": platform,
        "channel_id": channel_id,
        "thread_id": thread_id,
        "user_id": user_id,
        "workspace": workspace,
        "text": text,
        "choices": choices or [],
    }
    if considerate:
        payload["considerate"] = considerate
    outbox.plan(session, key=key, kind=KIND, due_at=due, expires_at=due + expires, payload=payload)


def plan_dm(
    session: Session,
    key: str,
    now: datetime,
    to: tuple[str, str] | tuple[str, str, str],
    text: str,
    *,
    default_zone: str,
    reminder: bool,
    choices: list[tuple[str, str]] | None = None,
    deadline: datetime | None = None,
    expires: timedelta = timedelta(days=1),
) -> bool:
    """A DM to `to` (platform, user id, and the member's workspace where the platform has one) that
    respects them: none if it is a `reminder` and they turned
    reminders off; held until their quiet hours end, and dropped when that is not before `deadline`.
    Returns whether it was planned."""
    prefs = dm_prefs_for(session, to[0], to[1], default_zone)
    due = prefs.next_open(now, deadline)
    if (reminder and not prefs.reminders) or due is None or (deadline is not None and due >= deadline):
        return False
    if deadline is not None:
        expires = min(expires, deadline - due)
    plan_notice(
        session,
        key,
        now,
        platform=to[0],
        user_id=to[1],
        workspace=to[2] if len(to) > 2 else "",
        text=text,
        choices=choices,
        expires=expires,
        due_at=due,
        considerate={"reminder": reminder},
    )
    return True


async def _still_welcome(d: Delivery) -> str:
    """Why a considerate DM is not to be sent now ("" when it may go); raises Later to hold it."""
    p = d.post.payload
    prefs = await d.store.run(lambda s: dm_prefs_for(s, p["platform"], p["user_id"], d.settings.timezone))
    if p["considerate"].get("reminder") and not prefs.reminders:
        return "reminders off"
    if prefs.is_quiet(d.now):
        until = prefs.next_open(d.now, d.post.expires_at)
        if until is None:
            return "quiet hours"
        raise Later(until, "the member's quiet hours")
    return ""


async def on_notice(d: Delivery) -> dict[str, Any]:
    p = d.post.payload
    if p.get("considerate") and p.get("user_id"):
        why = await _still_welcome(d)
        if why:
            return {"not_sent": why}
    messenger = d.messenger(p["platform"])
    reply = Reply(
        p["text"],
        choices=tuple(Choice(c[0], c[1]) for c in p.get("choices", [])),
        visibility=Visibility.PUBLIC,
    )
    if p.get("user_id"):
        posted = await messenger.send_dm(p["user_id"], reply, workspace=p.get("workspace", ""))
    elif p.get("thread_id"):
        posted = await messenger.reply_in_thread(
            p["channel_id"], p["thread_id"], reply, workspace=p.get("workspace", "")
        )
    else:
        posted = await messenger.post(p["channel_id"], reply, workspace=p.get("workspace", ""))
    return {"message_id": posted.message_id}
