"""The role ladder, checked in the core on stable ids. Platform-side permissions are only hints."""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    MEMBER = 0
    COORDINATOR = 1
    ADMIN = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            allowed = ", ".join(r.label for r in cls)
            raise ValueError(f"unknown role {text!r}; allowed: {allowed}") from None
