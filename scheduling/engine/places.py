"""A feature's posts in several workspaces' own channels (issue 15): the forum and the resource digest each
keep a main channel in their settings and, for any other workspace (or platform), a channel of its own set
from there (`forum channel`, `resource channel`). A workspace that sets none gets nothing posted.

A place's posts are planned under their own keys, the main post's key plus `:in:<platform>:<workspace>`,
so one workspace's failure (an uninstall, a deleted channel) neither blocks nor doubles another's, and a
place taken back cancels just its own posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel, col, select

from bot.errors import CommandError
from bot.store.models import utcnow
from scheduling.engine.models import PlannedPost, PostState

SEPARATOR = ":in:"


class PlaceFields(SQLModel):
    """The columns of a feature's table of places (each table adds its name and its unique constraint on
    platform and workspace)."""

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    workspace: str = Field(default="", max_length=100)
    channel_id: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)


P = TypeVar("P", bound=PlaceFields)


def suffix(platform: str, workspace: str) -> str:
    """The end of the keys of a place's posts."""
    return f"{SEPARATOR}{platform}:{workspace}"


def main_key(key: str) -> str:
    """The key of the main channel's post that a place's post copies."""
    return key.split(SEPARATOR)[0]


def payload(place: PlaceFields) -> dict[str, list[str]]:
    """What a place's post carries to name its place (read back with `find`)."""
    return {"place": [place.platform, place.workspace]}


def all_of(session: Session, model: type[P]) -> list[P]:
    return list(session.exec(select(model).order_by(col(model.id))).all())


def find(session: Session, model: type[P], platform: str, workspace: str) -> P | None:
    return session.exec(
        select(model).where(col(model.platform) == platform, col(model.workspace) == workspace)
    ).first()


def unplan(session: Session, key_prefix: str, platform: str, workspace: str) -> None:
    """Cancel a place's posts still to come (those of keys starting `key_prefix`)."""
    session.execute(
        update(PlannedPost)
        .where(
            col(PlannedPost.key).startswith(key_prefix, autoescape=True),
            col(PlannedPost.key).endswith(suffix(platform, workspace), autoescape=True),
            col(PlannedPost.state) == PostState.PENDING.value,
        )
        .values(state=PostState.CANCELLED.value)
    )


def adopt_as_main(session: Session, model: type[PlaceFields], key_prefix: str, main: tuple[str, str]) -> None:
    """The main channel moved to a workspace that had a channel of its own: that one goes, so the
    workspace is not posted to twice."""
    own = find(session, model, *main)
    if own is not None:
        unplan(session, key_prefix, own.platform, own.workspace)
        session.delete(own)


@dataclass(frozen=True)
class Change:
    """What `change` did: `main` when the channel named is the main one's (the caller moves it and re-plans);
    `place` when a workspace's own was set (the caller plans its posts); neither when it was switched off
    or only listed."""

    said: str = ""
    main: bool = False
    place: PlaceFields | None = None


def change(
    session: Session,
    model: type[P],
    *,
    what: str,
    key_prefix: str,
    main: tuple[str, str],
    mine: tuple[str, str],
    wanted: str,
    move_hint: str,
) -> Change:
    """`<feature> channel <#channel|off>` run from workspace `mine` (platform, workspace), `main` being the
    workspace of the main channel. Refuses, with the reason, to switch off the main channel or a channel
    that was never set."""
    row = find(session, model, *mine)
    if wanted.lower() == "off":
        if mine == main:
            raise CommandError(f"This workspace holds the {what}'s main channel; {move_hint}.")
        if row is None:
            raise CommandError(f"This workspace has no {what} channel of its own; nothing to stop.")
        unplan(session, key_prefix, row.platform, row.workspace)
        session.delete(row)
        return Change(f"The {what} is no longer posted in this workspace.")
    if not wanted:
        return Change()
    said = f"The {what} will be posted in #{wanted} in this workspace."
    if mine == main:
        return Change(said, main=True)
    row = row or model(platform=mine[0], workspace=mine[1], channel_id=wanted)
    row.channel_id = wanted
    session.add(row)
    session.flush()
    return Change(said, place=row)


def where_posted(
    session: Session, model: type[P], what: str, main: tuple[str, str, str], mine: tuple[str, str]
) -> str:
    """ "Where the forum is posted: #C1 (this workspace); #C2 (slack T2)." for a reader in `mine`."""
    listed = [main] + [(p.platform, p.workspace, p.channel_id) for p in all_of(session, model)]
    return (
        f"Where the {what} is posted: " + "; ".join(channel_where(p, w, c, mine) for p, w, c in listed) + "."
    )


def channel_where(platform: str, workspace: str, channel_id: str, mine: tuple[str, str]) -> str:
    """A channel named for a reader in workspace `mine`: "#C1 (this workspace)", else with its platform and
    workspace."""
    if (platform, workspace) == mine:
        return f"#{channel_id} (this workspace)"
    return f"#{channel_id} ({platform} {workspace})" if workspace else f"#{channel_id} ({platform})"
