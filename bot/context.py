"""What a command handler gets: who asked, where, with what role, and the app's services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.config import Settings
from bot.foreground import Foreground
from bot.messages import Incoming, Member, Place
from bot.permissions import Role
from bot.store import fulltext
from bot.store.db import Store
from bot.store.models import AuditEntry, MemberRecord, is_member

if TYPE_CHECKING:
    from bot.commands import CommandRegistry
    from bot.feature import Feature, PrivacyHook


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    """The app's shared parts, built once by bot.app and handed to every command."""

    store: Store
    settings: Settings
    registry: CommandRegistry
    clock: Callable[[], datetime] = field(default=system_clock)
    features: tuple[Feature, ...] = ()
    scheduler: Any = (
        None  # scheduling.engine.runner.Scheduler; typed loosely so bot/ does not import scheduling/
    )
    foreground: Foreground = field(default_factory=Foreground)  # requests being answered (bot/foreground.py)

    @property
    def privacy_hooks(self) -> tuple[PrivacyHook, ...]:
        """Every feature's export-and-forget hooks, in the features' order (the core's first)."""
        return tuple(hook for feature in self.features for hook in feature.privacy)

    def expand_query(self, session: Session, query: fulltext.Query) -> fulltext.Query:
        """`query` widened with the synonyms the features know (`Feature.synonyms`): `RBA` also finds
        "Results Based Accountability". Call it inside the transaction that runs the search."""
        suppliers = [f.synonyms for f in self.features if f.synonyms is not None]
        if not query or not suppliers:
            return query
        wanted = fulltext.phrases(query)
        known: dict[str, list[str]] = {}
        for supply in suppliers:
            for phrase, names in supply(session, wanted).items():
                known.setdefault(phrase, []).extend(n for n in names if n not in known.get(phrase, []))
        return fulltext.expand(query, known)


@dataclass
class Context:
    incoming: Incoming
    role: Role
    services: Services

    @property
    def member(self) -> Member:
        return self.incoming.member

    @property
    def place(self) -> Place:
        return self.incoming.place

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def now(self) -> datetime:
        return self.services.clock()

    def is_at_least(self, role: Role) -> bool:
        return self.role >= role


def find_member(session: Session, member: Member) -> MemberRecord | None:
    """The member's row, or None when the bot has not met them."""
    return session.exec(select(MemberRecord).where(is_member(MemberRecord, member))).first()


def ensure_member(session: Session, member: Member) -> MemberRecord:
    """The member's row, created on first sight; the display name follows the platform's."""
    stmt = select(MemberRecord).where(is_member(MemberRecord, member))
    record = session.exec(stmt).first()
    if record is None:
        try:
            with session.begin_nested():
                record = MemberRecord(
                    platform=member.platform,
                    workspace=member.workspace,
                    user_id=member.user_id,
                    display_name=member.name[:200],
                )
                session.add(record)
                session.flush()
        except IntegrityError:  # created at the same moment by another request
            record = session.exec(stmt).one()
    elif member.display_name and record.display_name != member.display_name[:200]:
        record.display_name = member.display_name[:200]
        session.add(record)
    return record


def write_audit(session: Session, actor: Member, action: str, detail: str) -> None:
    session.add(
        AuditEntry(
            platform=actor.platform,
            workspace=actor.workspace,
            user_id=actor.user_id,
            actor_name=actor.name[:200],
            action=action[:100],
            detail=detail[:2000],
        )
    )
