"""The glossary in the database: the terms the files define plus those coordinators add in chat, and every
name (term, acronym, synonym) by its search key, so `define` and search expansion are one indexed lookup.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import ClassVar

from sqlalchemy import Column, ForeignKey, Integer, Text
from sqlmodel import Field, SQLModel

from bot.store.models import utcnow


class Origin(str, Enum):
    FILE = "file"  # from content/glossary/terms/*.yaml
    CHAT = "chat"  # added by a coordinator with `glossary add`


class GlossaryTerm(SQLModel, table=True):
    __tablename__: ClassVar[str] = "glossary_term"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=200, unique=True)
    term: str = Field(max_length=200)
    area: str = Field(max_length=60, index=True)
    definition: str = Field(sa_column=Column(Text, nullable=False))
    also: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))  # JSON list
    related: str = Field(
        default="[]", sa_column=Column(Text, nullable=False, server_default="[]")
    )  # JSON list
    resources: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))  # JSON
    source: str = Field(max_length=300)
    origin: str = Field(default=Origin.FILE.value, max_length=10)
    source_hash: str = Field(default="", max_length=64)  # the file entry as last loaded, to spot a change
    added_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"), index=True)
    )
    edited_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"), index=True)
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    def names_list(self, which: str) -> list[str]:
        return list(json.loads(getattr(self, which) or "[]"))


class GlossaryName(SQLModel, table=True):
    """One name of a term (the term itself, an acronym or a synonym) by its key; a key names one term."""

    __tablename__: ClassVar[str] = "glossary_name"

    id: int | None = Field(default=None, primary_key=True)
    term_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("glossary_term.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    key: str = Field(max_length=200, unique=True)
    name: str = Field(max_length=200)
