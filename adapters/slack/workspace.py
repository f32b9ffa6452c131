"""Which Slack workspace this installation serves, and which one a request comes from.

A Slack user id means a person only together with its workspace: the same id in another workspace is
someone else. An installation serves one workspace (its team, `T...`), or, installed org-wide on Enterprise
Grid, one organisation (`E...`), whose user ids hold across its workspaces. The token says which, through
`auth.test`; every request must come from a member of that workspace or organisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import StartError


@dataclass(frozen=True)
class Served:
    """What the bot token belongs to: `workspace` is the team id, or the org id for an org-wide install."""

    workspace: str
    org_wide: bool = False

    @classmethod
    def from_auth_test(cls, answer: Mapping[str, Any]) -> Served:
        """Read `auth.test`'s answer. Raises StartError when it names no team (or org)."""
        org_wide = bool(answer.get("is_enterprise_install"))
        workspace = str((answer.get("enterprise_id") if org_wide else answer.get("team_id")) or "")
        if not workspace:
            raise StartError("Slack's auth.test named no workspace for SLACK_BOT_TOKEN")
        return cls(workspace, org_wide)

    @classmethod
    def from_authorize(cls, result: Any, org_wide: bool) -> Served | None:
        """The installation bolt's authorize found for a request (OAuth mode); None when it found none."""
        if result is None:
            return None
        workspace = str((result.enterprise_id if org_wide else result.team_id) or "")
        return cls(workspace, org_wide) if workspace else None

    def of_request(self, body: Mapping[str, Any], context: Any) -> str | None:
        """The workspace (or org, for an org-wide install) of the member a request comes from; None when
        the request does not say. `context` is bolt's: its actor ids name the acting member's team and org,
        also in a channel shared with another organisation (Slack Connect), where the envelope's own team
        is always ours; bolt leaves them unset when an event there does not tell."""
        if self.org_wide:
            return getattr(context, "actor_enterprise_id", None)
        user = body.get("user")
        if isinstance(user, Mapping) and user.get("team_id"):  # interactions name the member's own team
            return str(user["team_id"])
        return getattr(context, "actor_team_id", None)

    def delivered_for(self, context: Any) -> str | None:
        """The workspace (or org) Slack sent the request to, whoever acted: bolt reads it from the
        envelope's authorizations (events) or the payload's team (commands, interactions)."""
        return getattr(context, "enterprise_id" if self.org_wide else "team_id", None)

    def kind(self) -> str:
        return "Enterprise Grid organisation" if self.org_wide else "workspace"


def request_kind(body: Mapping[str, Any]) -> str:
    """A short name for a request, for a log line (never its content)."""
    if "command" in body:
        return "slash command"
    if body.get("type") == "event_callback":
        return f"{(body.get('event') or {}).get('type', 'unknown')} event"
    return str(body.get("type") or "unknown")
