"""What a feature declares about itself, once. `bot/app.py` lists the features and reads the rest from here.

A feature is one package (`scheduling/forum/`, `content/practices/`, ...) holding its tables, its service
(plain functions on a session) and its commands. Its `feature.py` exports one `Feature`: the command
groups, the table modules, how to export and forget a member's data, the planned-post kinds it sends, its
part of the home overview, what it suggests while a member types, its HTTP routes, what it does at start
and when a message is heard in a thread. Nothing else in the app names a feature.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.config import Settings
from bot.messages import Member, Place, Reply
from bot.store.models import MemberRecord

if TYPE_CHECKING:
    from bot.commands import CommandGroup
    from bot.context import Context, Services


@dataclass(frozen=True)
class PrivacyHook:
    """How `me data` exports, and `me forget` deletes, what a feature stores about a member."""

    name: str
    export: Callable[[Session, MemberRecord], Any]
    forget: Callable[[Session, MemberRecord, datetime], int]  # returns how many records changed


@dataclass(frozen=True)
class HomeSection:
    """One heading of a member's home overview; sections are shown by `order`."""

    order: int
    heading: str
    build: Callable[[Context], Awaitable[Reply]]


Supplier = Callable[[Session, str, Member, datetime, int], list[tuple[str, str]]]
"""(session, typed prefix, member, now, limit) -> up to `limit` (label, value) pairs."""

ThreadListener = Callable[[Session, Member, Place, str, str, datetime], bool]
"""(session, member, place, text, link, now) -> True when the feature kept the message."""

Synonyms = Callable[[Session, Collection[str]], Mapping[str, Sequence[str]]]
"""(session, phrases as search sees them: lower-case words joined by one space) -> for each phrase the
feature knows, the other names that mean the same (an acronym and its full term)."""

PostHandler = Callable[[Any], Awaitable[dict[str, Any]]]
"""Sends one claimed planned post (scheduling.engine.runner.Delivery) and returns what to record."""


@dataclass(frozen=True)
class HttpAnswer:
    """A route's answer, in neutral terms the HTTP adapter turns into a response."""

    body: bytes
    content_type: str = "text/plain"
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """An HTTP GET route served by `copbot serve` (aiohttp path syntax, e.g. `/calendar/{token}.ics`)."""

    path: str
    handler: Callable[[Services, Mapping[str, str]], Awaitable[HttpAnswer]]


PreviewSupplier = Callable[["Context", str], Awaitable["Reply | None"]]
"""A card for one page (`/practices/12` gives "12"), as the member who pasted the link may show it to a
channel whose readers copbot cannot list: None when it must not unfurl (the member may not see it, or it
is for some members only, such as a closed network's, or it is not there)."""


@dataclass(frozen=True)
class StartOptions:
    settings: Settings
    catalog_dir: Path | None = None
    glossary_dir: Path | None = None
    journeys_dir: Path | None = None


StartStep = Callable[[Session, datetime], None]


@dataclass(frozen=True)
class Feature:
    name: str
    groups: tuple[CommandGroup, ...] = ()
    demo_groups: tuple[CommandGroup, ...] = ()
    """Command groups that exist only when copbot runs with the demo clock (`--demo`)."""
    tables: tuple[ModuleType, ...] = ()
    privacy: tuple[PrivacyHook, ...] = ()
    posts: Mapping[str, PostHandler] = field(default_factory=dict)
    home: tuple[HomeSection, ...] = ()
    suggest: Mapping[str, Supplier] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    previews: Mapping[str, PreviewSupplier] = field(default_factory=dict)
    """Cards for links to copbot's own pages, by the page's first path segment (`practices` for
    /practices/12): what a link pasted in a channel unfurls into (see `PreviewSupplier`)."""
    prepare: Callable[[StartOptions], StartStep | None] | None = None
    """Runs before the database is opened (read and check files); its step runs in one transaction after."""
    on_thread_message: ThreadListener | None = None
    synonyms: Synonyms | None = None
    """Names that mean the same, so a search for an acronym finds what uses the full term (the glossary)."""
    uses: tuple[str, ...] = ()
    """Other features whose services this one calls (checked by the import-direction test)."""
