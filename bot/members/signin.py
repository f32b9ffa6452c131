"""Signing in to the web pages through chat: `me web` gives a one-time link; opening it starts a session.

A web session is the member's chat identity (platform, workspace, user id) and nothing else, so every page
checks the same roles and network membership as chat does. Only hashes of the link and session tokens are
stored: a copy of the database opens no session. A link is good for `LINK_MINUTES`, once; a session ends
after `IDLE_HOURS` without use, `MAX_DAYS` after it began, at sign-out, or when the member is forgotten.

Also here: whether the practice library is published read-only to visitors who are not signed in
(`web publish library on|off`, coordinators); by default every page is for members only.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated, Any, ClassVar

from sqlalchemy import Column, ForeignKey, Integer, delete, update
from sqlmodel import Field, Session, SQLModel, select

from bot.commands import CommandGroup, Opt
from bot.context import Context, ensure_member, write_audit
from bot.messages import Member, Reply, Visibility
from bot.permissions import Role
from bot.store.models import MemberRecord, utcnow

LINK_MINUTES = 10
IDLE_HOURS = 12
MAX_DAYS = 7
TOUCH_EVERY = timedelta(minutes=5)  # a session's last use is written at most this often


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class WebSignin(SQLModel, table=True):
    """A sign-in link given by `me web`: its token's hash, whom it signs in, until when; spent once."""

    __tablename__: ClassVar[str] = "web_signin"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    spent_at: datetime | None = None


class WebSession(SQLModel, table=True):
    """A signed-in browser: its cookie's hash, the member, and the token its forms must carry (CSRF)."""

    __tablename__: ClassVar[str] = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    csrf: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class WebSettings(SQLModel, table=True):
    """What the web pages show to visitors who are not signed in (one row)."""

    __tablename__: ClassVar[str] = "web_settings"

    id: int | None = Field(default=None, primary_key=True)
    library_public: bool = False
    updated_at: datetime = Field(default_factory=utcnow)


@dataclass(frozen=True)
class SignedIn:
    """A live session: who it is, the token its forms carry, and the cookie value (when just opened)."""

    member: Member
    csrf: str
    cookie: str = ""


class SigninRefused(Exception):
    """A sign-in link that cannot be used, with the reason in words."""


def web_address(settings: Any, path: str) -> str:
    """The full address of a page: COPBOT_PUBLIC_URL when set, else where `copbot serve` listens."""
    base = settings.public_url.rstrip("/") or f"http://{settings.host}:{settings.port}"
    return base + path


def issue_link(session: Session, member: Member, now: datetime) -> str:
    """A new one-time sign-in token for `member` (its hash is stored)."""
    record = ensure_member(session, member)
    token = secrets.token_urlsafe(32)
    session.add(
        WebSignin(
            token_hash=_hash(token),
            member_id=record.id or 0,
            created_at=now,
            expires_at=now + timedelta(minutes=LINK_MINUTES),
        )
    )
    # Links nobody used are not kept past their time.
    session.execute(delete(WebSignin).where(WebSignin.expires_at < now - timedelta(days=1)))  # type: ignore[arg-type]
    return token


def link_holder(session: Session, token: str, now: datetime) -> Member:
    """Whom a sign-in link would sign in (shown before it is spent); SigninRefused when it cannot be used."""
    row = session.exec(select(WebSignin).where(WebSignin.token_hash == _hash(token))).first()
    if row is None:
        raise SigninRefused("This sign-in link is not one copbot gave, or it was already used.")
    if row.spent_at is not None:
        raise SigninRefused("This sign-in link was already used. Each link works once.")
    if row.expires_at <= now:
        raise SigninRefused(f"This sign-in link has expired: links work for {LINK_MINUTES} minutes.")
    record = session.get(MemberRecord, row.member_id)
    if record is None:  # pragma: no cover - the cascade removes the link with its member
        raise SigninRefused("This sign-in link is not one copbot gave, or it was already used.")
    return record.as_member()


def spend_link(session: Session, token: str, now: datetime) -> SignedIn:
    """Use a sign-in link once and open a session; SigninRefused when it is unknown, spent or expired."""
    member = link_holder(session, token, now)
    spent = session.execute(
        update(WebSignin)
        .where(WebSignin.token_hash == _hash(token), WebSignin.spent_at.is_(None))  # type: ignore[union-attr]
        .values(spent_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]  # another request spent it a moment ago
        raise SigninRefused("This sign-in link was already used. Each link works once.")
    row = session.exec(select(WebSignin).where(WebSignin.token_hash == _hash(token))).one()
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(
        WebSession(
            token_hash=_hash(cookie),
            member_id=row.member_id,
            csrf=csrf,
            created_at=now,
            last_seen=now,
            expires_at=now + timedelta(days=MAX_DAYS),
        )
    )
    session.execute(delete(WebSession).where(WebSession.expires_at < now))  # type: ignore[arg-type]
    return SignedIn(member, csrf, cookie)


def session_of(session: Session, cookie: str, now: datetime) -> SignedIn | None:
    """The live session a cookie names, its last use noted; None when unknown, idle too long or over."""
    if not cookie:
        return None
    row = session.exec(select(WebSession).where(WebSession.token_hash == _hash(cookie))).first()
    if row is None:
        return None
    if row.expires_at <= now or row.last_seen + timedelta(hours=IDLE_HOURS) <= now:
        session.delete(row)
        return None
    record = session.get(MemberRecord, row.member_id)
    if record is None:  # pragma: no cover - the cascade removes sessions with their member
        return None
    if now - row.last_seen >= TOUCH_EVERY:
        row.last_seen = now
        session.add(row)
    return SignedIn(record.as_member(), row.csrf)


def end_session(session: Session, cookie: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == _hash(cookie)))  # type: ignore[arg-type]


def library_public(session: Session) -> bool:
    row = session.exec(select(WebSettings)).first()
    return bool(row and row.library_public)


# ---- privacy ------------------------------------------------------------------------------------------


def export(session: Session, record: MemberRecord) -> dict[str, Any]:
    """Only counts: the tokens themselves are secrets and their hashes mean nothing to anyone."""
    sessions = session.exec(select(WebSession).where(WebSession.member_id == record.id)).all()
    return {
        "web_sessions": [
            {"started": s.created_at.isoformat(), "last_used": s.last_seen.isoformat()} for s in sessions
        ]
    }


def forget(session: Session, record: MemberRecord, now: datetime) -> int:
    gone = session.execute(delete(WebSession).where(WebSession.member_id == record.id))  # type: ignore[arg-type]
    links = session.execute(delete(WebSignin).where(WebSignin.member_id == record.id))  # type: ignore[arg-type]
    return int(gone.rowcount or 0) + int(links.rowcount or 0)  # type: ignore[attr-defined]


# ---- commands -----------------------------------------------------------------------------------------

signin_group = CommandGroup("me", "")  # adds to the core's `me` group
web = CommandGroup("web", "the web pages: who may see what")


@signin_group.command("web")
async def me_web(ctx: Context) -> Reply:
    """Get a one-time link that signs you in to copbot's web pages (the library, the forum, your page).

    The link works once, for 10 minutes, and only for you: do not share it.
    Example: me web
    """
    token = await ctx.store.run(lambda s: issue_link(s, ctx.member, ctx.now()))
    link = web_address(ctx.settings, f"/signin/{token}")
    return Reply(
        f"Your sign-in link (works once, for {LINK_MINUTES} minutes; keep it to yourself): {link}",
        visibility=Visibility.PRIVATE,
    )


class OnOff(str, Enum):
    ON = "on"
    OFF = "off"


class Page(str, Enum):
    LIBRARY = "library"


@web.command("publish", role=Role.COORDINATOR, audited=False)
async def web_publish(
    ctx: Context,
    page: Annotated[Page, Opt(help="what to publish: library")],
    choice: Annotated[OnOff, Opt(help="on or off")],
) -> Reply:
    """Publish the practice library read-only to visitors who are not signed in, or make it members-only.

    Credits stay exactly as each author chose; nothing else becomes public.
    Example: web publish library on
    """
    on = choice is OnOff.ON

    def apply(session: Session) -> None:
        row = session.exec(select(WebSettings)).first() or WebSettings()
        row.library_public, row.updated_at = on, ctx.now()
        session.add(row)
        write_audit(session, ctx.member, "web publish", f"library {'public' if on else 'members only'}")

    await ctx.store.run(apply)
    if on:
        return Reply(
            "The practice library is now public: anyone with the address can read it (credits as each "
            "author chose). Undo with: web publish library off"
        )
    return Reply("The practice library is for signed-in members only again.")
