"""A member's own data: `me data` exports it, `me forget` deletes it. Each feature contributes a hook.

Like Red-DiscordBot's `red_delete_data_for_user`, every feature that stores member data registers a
`PrivacyHook` in its `Feature`; these commands call them all inside one transaction.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot import zones
from bot.commands import CommandGroup, Opt
from bot.context import Context, ensure_member, find_member
from bot.errors import CommandError
from bot.feature import PrivacyHook
from bot.members import events as platform_events
from bot.members import files
from bot.members.roles import forget_cached_role
from bot.messages import Attachment, Member, Reply
from bot.store.models import AuditEntry, MemberProfile, MemberRecord, RoleGrant, UnreachableMember, is_member
from bot.words import counted

PROFILE_FIELDS = (
    "timezone",
    "platform_timezone",
    "organisation",
    "role_title",
    "jurisdiction",
    "forum_invites",
    "dm_reminders",
    "quiet_start",
    "quiet_end",
    "show_in_lists",
    "forum_reminders",
)


def _profile_export(profile: MemberProfile) -> dict[str, Any]:
    return {name: getattr(profile, name) for name in PROFILE_FIELDS}


def _core_export(session: Session, record: MemberRecord) -> dict[str, Any]:
    who = record.as_member()
    grants = session.exec(select(RoleGrant).where(is_member(RoleGrant, who)))
    actions = session.exec(select(AuditEntry).where(is_member(AuditEntry, who)))
    profile = session.get(MemberProfile, record.id)
    unreachable = session.exec(select(UnreachableMember).where(is_member(UnreachableMember, who))).first()
    return {
        "member": {
            "platform": record.platform,
            "workspace": record.workspace,
            "user_id": record.user_id,
            "display_name": record.display_name,
            "first_seen": record.created_at.isoformat(),
        },
        "profile": _profile_export(profile) if profile else None,
        "roles": [{"scope": g.scope, "role": g.role, "granted_at": g.granted_at.isoformat()} for g in grants],
        "audited_actions": [
            {"at": a.at.isoformat(), "action": a.action, "detail": a.detail} for a in actions
        ],
        "direct_messages_failed": (
            {
                "reason": unreachable.reason,
                "failures": unreachable.failures,
                "last_at": unreachable.last_at.isoformat(),
            }
            if unreachable
            else None
        ),
    }


def _core_forget(session: Session, record: MemberRecord, now: datetime) -> int:
    changed, who = 0, record.as_member()
    forget_cached_role(session, who)
    for g in session.exec(select(RoleGrant).where(is_member(RoleGrant, who))):
        session.delete(g)
        changed += 1
    # The audit log keeps what was done, not who did it or to whom.
    for a in session.exec(select(AuditEntry).where(is_member(AuditEntry, who))):
        a.workspace, a.user_id, a.actor_name = "", "forgotten", "a forgotten member"
        session.add(a)
        changed += 1
    # Details name members by their stable id; entries written before ids carried a workspace name them by
    # platform:user_id, which meant this same member (the installation served one workspace).
    idents = {who.ref, f"{who.platform}:{who.user_id}"}
    mention = re.compile("(?:" + "|".join(map(re.escape, sorted(idents))) + r")(?![\w:])( \([^)]*\))?")
    named = or_(*(col(AuditEntry.detail).contains(ident) for ident in idents))
    for a in session.exec(select(AuditEntry).where(named)):
        detail = mention.sub("a forgotten member", a.detail)
        if detail != a.detail:
            a.detail = detail
            session.add(a)
            changed += 1
    # Roles they granted stay, without their name.
    if record.display_name:
        for g in session.exec(select(RoleGrant).where(col(RoleGrant.granted_by) == record.display_name)):
            g.granted_by = "a forgotten member"
            session.add(g)
            changed += 1
    changed += platform_events.forget_member(session, record)
    profile = session.get(MemberProfile, record.id)
    if profile is not None:
        session.delete(profile)
    for u in session.exec(select(UnreachableMember).where(is_member(UnreachableMember, who))):
        session.delete(u)
    session.delete(record)
    return changed + 1


CORE_HOOK = PrivacyHook("core", _core_export, _core_forget)

me = CommandGroup("me", "your profile and your data")


def _record(session: Session, member: Member) -> MemberRecord | None:
    return find_member(session, member)


@me.command("data")
async def my_data(ctx: Context) -> Reply:
    """Download everything copbot stores about you, as a JSON file."""
    hooks = ctx.services.privacy_hooks
    member = ctx.member

    def collect(session: Session) -> dict[str, Any] | None:
        record = _record(session, member)
        if record is None:
            return None
        return {hook.name: hook.export(session, record) for hook in hooks}

    data = await ctx.store.run(collect)
    if data is None:
        return Reply("copbot stores nothing about you yet.")
    content = json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()
    token = files.member_token(files.exports_dir(ctx.settings.data_dir), member)  # unique, unguessable
    return Reply(
        "Here is everything copbot stores about you.",
        attachments=(Attachment(f"copbot-my-data-{token}.json", content, "application/json"),),
    )


@me.command("forget")
async def forget_me(
    ctx: Context,
    *,
    confirm: Annotated[bool, Opt(help="say --confirm to really delete; without it nothing happens")] = False,
) -> Reply:
    """Delete what copbot stores about you. Your shared practices stay, credited anonymously.

    Example: me forget --confirm
    """
    if not confirm:
        raise CommandError(
            "This deletes your profile, endorsements, roles, answers and the files copbot saved for you, and "
            "makes your shared practices anonymous. "
            "It cannot be undone. To go ahead: me forget --confirm (me data downloads a copy first)."
        )
    if ctx.settings.is_bootstrap_admin(ctx.member):
        raise CommandError(
            "You are an admin from configuration (COPBOT_ADMINS); remove yourself there first."
        )
    hooks = ctx.services.privacy_hooks
    member, now = ctx.member, ctx.now()

    def apply(session: Session) -> int | None:
        record = _record(session, member)
        if record is None:
            return None
        # Features first (they reference the member row), the core last (it deletes the row).
        return sum(hook.forget(session, record, now) for hook in reversed(hooks))

    changed = await ctx.store.run(apply)
    removed = files.forget_files(files.exports_dir(ctx.settings.data_dir), member)
    if changed is None and not removed:
        return Reply("copbot stored nothing about you; there was nothing to delete.")
    changed = (changed or 0) + removed
    return Reply(f"Done: copbot has forgotten you ({counted(changed, 'record')} deleted or made anonymous).")


def _zone_name(raw: str) -> str:
    return zones.zone(raw).key


@me.command("timezone")
async def my_timezone(
    ctx: Context,
    zone: Annotated[
        str, Opt(help="an IANA zone name, e.g. America/Chicago", converter=_zone_name, metavar="ZONE")
    ] = "",
) -> Reply:
    """Show or set your time zone; times are shown to you in it.

    Example: me timezone America/Los_Angeles
    """
    member = ctx.member

    def apply(session: Session) -> str | None:
        record = ensure_member(session, member)
        profile = session.get(MemberProfile, record.id)
        if zone:
            profile = profile or MemberProfile(member_id=record.id or 0)
            profile.timezone = zone
            session.add(profile)
        return profile.timezone if profile else None

    current = await ctx.store.run(apply)
    if zone:
        return Reply(f"Your time zone is now {zone}.")
    if current:
        return Reply(f"Your time zone is {current}. Change it with: me timezone <zone>")
    return Reply(
        f"You have not set a time zone; you see the community's ({ctx.settings.timezone}). "
        "Set yours with: me timezone America/Chicago"
    )
