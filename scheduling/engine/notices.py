"""One-off messages a command plans through the outbox: a channel post, a thread reply or a DM.

Planning a notice in the same transaction as the change it announces means the message goes out once
the change is committed, exactly once, even if the platform is down at that moment.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.messages import Choice, Reply, Visibility
from scheduling.engine import outbox
from scheduling.engine.runner import Delivery

KIND = "notice"


def plan_notice(session: Session, key: str, now: datetime, *, platform: str, text: str, channel_id: str = "",
                thread_id: str = "", user_id: str = "", choices: list[tuple[str, str]] | None = None,
                expires: timedelta = timedelta(days=1)) -> None:
    outbox.plan(session, key=key, kind=KIND, due_at=now, expires_at=now + expires,
                payload={"platform": platform, "channel_id": channel_id, "thread_id": thread_id,
                         "user_id": user_id, "text": text, "choices": choices or []})


async def on_notice(d: Delivery) -> dict[str, Any]:
    p = d.post.payload
    messenger = d.messenger(p["platform"])
    reply = Reply(p["text"], choices=tuple(Choice(c[0], c[1]) for c in p.get("choices", [])),
                  visibility=Visibility.PUBLIC)
    if p.get("user_id"):
        posted = await messenger.send_dm(p["user_id"], reply)
    elif p.get("thread_id"):
        posted = await messenger.reply_in_thread(p["channel_id"], p["thread_id"], reply)
    else:
        posted = await messenger.post(p["channel_id"], reply)
    return {"message_id": posted.message_id}
