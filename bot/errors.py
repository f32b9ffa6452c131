"""Errors that are part of the interface: each one's message is shown to the member as is."""

from __future__ import annotations


class CommandError(Exception):
    """Something the member can fix. The message says what was wrong and, where useful, an example."""


class ArgumentError(CommandError):
    """A bad or missing argument; names the argument. `field` is the parameter, for forms."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotAllowed(CommandError):
    """The member's role is too low for this command or this object."""


class NotFound(CommandError):
    """The thing named does not exist (or the member may not see it)."""


class StartError(Exception):
    """A feature cannot start (a data file it reads is broken); the message names what and where."""
