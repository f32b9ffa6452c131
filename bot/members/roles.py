"""Roles (member < coordinator < admin) on (platform, workspace, user id), and the audit log admins read."""

from __future__ import annotations

import time
import weakref
from datetime import UTC
from typing import Annotated, Any

from sqlmodel import Session, col, select

from bot.commands import CommandGroup, Opt
from bot.config import Settings
from bot.context import Context, write_audit
from bot.errors import CommandError
from bot.messages import Item, Member, Reply, mention
from bot.messenger import format_in_zone
from bot.permissions import Role
from bot.store.models import AuditEntry, MemberRecord, RoleGrant, is_member, member_of
from bot.words import counted
from bot.zones import zone_for

COMMUNITY = "community"


# The community role each member has, remembered per database for a few seconds so a command does not
# spend a transaction on it. A grant or revoke forgets the entry at once in this process; another replica
# of the bot sharing the database sees the change within ROLE_TTL seconds. A short time-to-live rather
# than a version check: checking a version is itself a round trip per command, the cost this removes,
# and a role change taking effect on other replicas within seconds is what an admin expects anyway.
ROLE_TTL = 5.0
_role_caches: weakref.WeakKeyDictionary[
    Any, dict[tuple[tuple[str, str, str], Role | None], tuple[float, Role]]
]
_role_caches = weakref.WeakKeyDictionary()


def _cache_of(session: Session) -> dict[tuple[tuple[str, str, str], Role | None], tuple[float, Role]]:
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    return _role_caches.setdefault(engine, {})


def remembered_role(engine: Any, member: Member, hint: Role | None) -> Role | None:
    """The member's role as remembered for this database (no transaction), or None when not known or
    older than ROLE_TTL."""
    found = _role_caches.get(engine, {}).get((member.key, hint))
    if found is not None and time.monotonic() - found[0] < ROLE_TTL:
        return found[1]
    return None


def cached_role(session: Session, settings: Settings, member: Member, hint: Role | None) -> Role:
    """The member's community role (following the platform's `hint` when given, see
    follow_platform_role), read from the database and remembered for ROLE_TTL seconds."""
    cache = _cache_of(session)
    key = (member.key, hint)
    now = time.monotonic()
    if hint is None:
        role = role_of(session, settings, member)
    else:
        role = follow_platform_role(session, settings, member, hint)
    if len(cache) > 50_000:
        cache.clear()
    cache[key] = (now, role)
    return role


def forget_cached_role(session: Session, member: Member) -> None:
    cache = _cache_of(session)
    for key in [k for k in cache if k[0] == member.key]:
        cache.pop(key, None)


def role_of(session: Session, settings: Settings, member: Member, scope: str = COMMUNITY) -> Role:
    if settings.is_bootstrap_admin(member):
        return Role.ADMIN
    grant = _grant(session, member, scope)
    return Role(grant.role) if grant else Role.MEMBER


def _known(session: Session, member: Member) -> Member:
    """The member with the name copbot last saw them by, when it knows one."""
    record = session.exec(select(MemberRecord).where(is_member(MemberRecord, member))).first()
    return record.as_member() if record is not None and record.display_name else member


def _grant(session: Session, member: Member, scope: str) -> RoleGrant | None:
    return session.exec(
        select(RoleGrant).where(is_member(RoleGrant, member), col(RoleGrant.scope) == scope)
    ).first()


def set_role(session: Session, member: Member, role: Role, granted_by: str, scope: str = COMMUNITY) -> Role:
    """Give `member` exactly `role` (member removes the grant). Returns the previous role."""
    grant = _grant(session, member, scope)
    previous = Role(grant.role) if grant else Role.MEMBER
    forget_cached_role(session, member)
    if role == Role.MEMBER:
        if grant is not None:
            session.delete(grant)
    elif grant is None:
        session.add(
            RoleGrant(
                platform=member.platform,
                workspace=member.workspace,
                user_id=member.user_id,
                scope=scope,
                role=int(role),
                granted_by=granted_by,
            )
        )
    else:
        grant.role = int(role)
        grant.granted_by = granted_by
        session.add(grant)
    return previous


def follow_platform_role(session: Session, settings: Settings, member: Member, hint: Role) -> Role:
    """Keep a grant in step with what the platform says (a Discord role, a server administrator), so
    coordinator notices and per-network checks see it too. Only grants made this way follow the platform:
    a role given with `role grant` is never lowered by it. Changes are audited. Returns the member's role."""
    marker = f"{member.platform} role"
    grant = _grant(session, member, COMMUNITY)
    follows = grant is not None and grant.granted_by == marker
    if (grant is None and hint > Role.MEMBER) or (follows and grant is not None and Role(grant.role) != hint):
        previous = set_role(session, member, hint, granted_by=marker)
        write_audit(
            session,
            member,
            "role set",
            f"{member.ref} {previous.label} -> {hint.label} (follows their {marker})",
        )
    return role_of(session, settings, member)


roles = CommandGroup("role", "who may coordinate and administer")
audit = CommandGroup("audit", "what coordinators and admins did")


def _parse_grantable(text: str) -> Role:
    role = Role.parse(text)
    if role == Role.MEMBER:
        raise ValueError("to take a role away use: role revoke @member")
    return role


@roles.command("grant", role=Role.ADMIN, audited=False)
async def grant(
    ctx: Context,
    member: Annotated[Member, Opt(help="who gets the role (mention them)")],
    role: Annotated[
        str, Opt(help="coordinator or admin", converter=_parse_grantable, metavar="coordinator|admin")
    ],
) -> Reply:
    """Give a member the coordinator or admin role.

    Example: role grant @ana coordinator
    """
    new_role: Role = role  # type: ignore[assignment]
    if ctx.settings.is_bootstrap_admin(member):
        raise CommandError(
            f"{mention(member)} is an admin from configuration (COPBOT_ADMINS); nothing to change."
        )

    def apply(session: Session) -> Role:
        previous = set_role(session, member, new_role, granted_by=ctx.member.name)
        write_audit(
            session,
            ctx.member,
            "role grant",
            f"{member.ref} ({member.name}) {previous.label} -> {new_role.label}",
        )
        return previous

    previous = await ctx.store.run(apply)
    if previous == new_role:
        return Reply(f"{mention(member)} was already {new_role.label}; nothing changed.")
    return Reply(
        f"{mention(member)} is now {new_role.label} (was {previous.label}). This is in the audit log."
    )


@roles.command("revoke", role=Role.ADMIN, audited=False)
async def revoke(ctx: Context, member: Annotated[Member, Opt(help="whose role to take away")]) -> Reply:
    """Take a member's coordinator or admin role away; they remain a member.

    Example: role revoke @ana
    """
    if ctx.settings.is_bootstrap_admin(member):
        raise CommandError(
            f"{mention(member)} is an admin from configuration (COPBOT_ADMINS); remove them there and restart."
        )
    if member.key == ctx.member.key:
        raise CommandError("You cannot revoke your own role; ask another admin.")

    def apply(session: Session) -> Role:
        previous = set_role(session, member, Role.MEMBER, granted_by=ctx.member.name)
        if previous != Role.MEMBER:
            write_audit(
                session, ctx.member, "role revoke", f"{member.ref} ({member.name}) {previous.label} -> member"
            )
        return previous

    previous = await ctx.store.run(apply)
    if previous == Role.MEMBER:
        return Reply(f"{mention(member)} had no role to revoke; nothing changed.")
    return Reply(f"{mention(member)} is no longer {previous.label}. This is in the audit log.")


@roles.command("list", role=Role.COORDINATOR, audited=False)
async def list_roles(ctx: Context) -> Reply:
    """List coordinators and admins."""

    def load(session: Session) -> list[tuple[RoleGrant, Member]]:
        grants = session.exec(
            select(RoleGrant)
            .where(col(RoleGrant.scope) == COMMUNITY)
            .order_by(col(RoleGrant.role).desc(), col(RoleGrant.user_id))
        )
        return [(g, _known(session, member_of(g))) for g in grants]

    grants = await ctx.store.run(load)
    items = [
        Item(
            title=mention(who),
            fields=(("Role", Role(g.role).label), ("Granted by", g.granted_by or "—"), ("Id", who.ref)),
        )
        for g, who in grants
    ]
    items += [
        Item(
            title=mention(who),
            fields=(("Role", "admin"), ("Granted by", "configuration"), ("Id", who.ref)),
        )
        for who in (Member(p, u, workspace=w) for p, w, u in sorted(ctx.settings.bootstrap_admins))
    ]
    if not items:
        return Reply("Nobody has a role yet. An admin gives one with: role grant @member coordinator")
    return Reply(
        f"{counted(len(items), 'coordinator or admin', 'coordinators and admins')}:", items=tuple(items)
    )


@audit.command("list", role=Role.ADMIN, audited=False)
async def audit_list(
    ctx: Context,
    *,
    limit: Annotated[int, Opt(help="how many entries, newest first", min=1, max=200)] = 20,
) -> Reply:
    """Show the newest entries of the audit log.

    Example: audit list --limit 50
    """

    def load(session: Session) -> tuple[list[AuditEntry], str]:
        rows = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit))
        return list(rows), zone_for(session, ctx.member, ctx.settings.timezone)

    entries, zone = await ctx.store.run(load)
    if not entries:
        return Reply("The audit log is empty.")
    items = tuple(
        Item(
            title=f"{format_in_zone(e.at if e.at.tzinfo else e.at.replace(tzinfo=UTC), zone)} · "
            f"{e.actor_name} ({member_of(e).ref})",
            body=f"{e.action}: {e.detail}" if e.detail else e.action,
        )
        for e in entries
    )
    return Reply(f"Audit log, newest first ({len(entries)}):", items=items)
