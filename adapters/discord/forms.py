"""Forms in progress on Discord: a modal holds at most five inputs, so a long form is several modals.

Between pages the member presses "Continue"; the values of earlier pages wait here, in memory, under a
short random key carried in every modal's and button's custom_id (30 minutes, then forgotten). A
one-page form needs nothing from here: its submission names its command (`copform:<key>:1:<command>`),
so it still works after a restart. A longer form interrupted by a restart asks the member to start again.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Any

import discord

from adapters.discord.render import CUSTOM_ID_MAX, form_pages, form_to_modals
from bot.messages import Form, Member

PAGE_PREFIX = "copmodal:"  # a button that opens page N of a form in progress: copmodal:<key>:<page>
TTL_SECONDS = 30 * 60
MAX_PENDING = 2000


@dataclass
class PendingForm:
    key: str
    user_id: int
    form: Form
    link: str | None = None
    fixed: dict[str, Any] = field(default_factory=dict)  # values given with the form, not shown in it
    mentions: dict[str, Member] = field(default_factory=dict)  # the members mention tokens in values name
    values: dict[str, Any] = field(default_factory=dict)
    done: set[int] = field(default_factory=set)
    created: float = field(default_factory=time.monotonic)

    @property
    def pages(self) -> int:
        return max(1, len(form_pages(self.form)))

    def next_page(self) -> int | None:
        """The first page not submitted yet; None when every page is in."""
        return next((n for n in range(1, self.pages + 1) if n not in self.done), None)

    def page_of(self, field_name: str) -> int | None:
        for n, page in enumerate(form_pages(self.form), 1):
            if any(f.name == field_name for f in page):
                return n
        return None

    def label_of(self, field_name: str) -> str:
        return next((f.label for f in self.form.fields if f.name == field_name), field_name)

    def modal(self, page: int) -> discord.ui.Modal:
        """Page `page`, filled with what was prefilled and what the member already gave. The modal is
        stopped: discord.py keeps no copy, the adapter reads every submission itself."""
        given = {k: v for k, v in self.values.items() if v not in (None, "", [])}
        form = replace(self.form, prefilled={**self.form.prefilled, **given})
        modal = form_to_modals(form, self.key)[page - 1]
        modal.stop()
        return modal

    def values_to_submit(self) -> dict[str, Any]:
        return {**self.values, **self.fixed}


def page_button(key: str, page: int, label: str) -> discord.ui.Button[Any]:
    return discord.ui.Button(
        label=label, style=discord.ButtonStyle.primary, custom_id=f"{PAGE_PREFIX}{key}:{page}"[:CUSTOM_ID_MAX]
    )


def parse_page_button(custom_id: str) -> tuple[str, int] | None:
    key, _, page = custom_id[len(PAGE_PREFIX) :].partition(":")
    return (key, int(page)) if custom_id.startswith(PAGE_PREFIX) and page.isdigit() else None


class PendingForms:
    """Forms in progress, by key; each belongs to the member who opened it."""

    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self.ttl = ttl
        self._forms: dict[str, PendingForm] = {}

    def open(
        self,
        user_id: int,
        form: Form,
        *,
        link: str | None = None,
        fixed: dict[str, Any] | None = None,
        mentions: dict[str, Member] | None = None,
    ) -> PendingForm:
        self._prune()
        key = secrets.token_urlsafe(6)
        pending = PendingForm(key, user_id, form, link, {**form.fixed, **(fixed or {})}, dict(mentions or {}))
        self._forms[key] = pending
        return pending

    def get(self, key: str, user_id: int) -> PendingForm | None:
        self._prune()
        pending = self._forms.get(key)
        return pending if pending is not None and pending.user_id == user_id else None

    def keep(self, pending: PendingForm) -> None:
        self._forms.setdefault(pending.key, pending)

    def drop(self, key: str) -> None:
        self._forms.pop(key, None)

    def __len__(self) -> int:
        return len(self._forms)

    def _prune(self) -> None:
        cutoff = time.monotonic() - self.ttl
        for key in [k for k, p in self._forms.items() if p.created < cutoff]:
            del self._forms[key]
        while len(self._forms) >= MAX_PENDING:  # oldest first (dicts keep insertion order)
            del self._forms[next(iter(self._forms))]
