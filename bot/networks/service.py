"""Networks: creating, finding, joining, requests and invitations. Plain functions on a session.

Who coordinates a network: its own coordinators (role grants with scope `network:<id>`) and every
community coordinator or admin. Functions that change membership return what happened; the commands
tell people about it.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from bot.config import Settings
from bot.context import ensure_member, find_member
from bot.errors import ArgumentError, CommandError, NotAllowed, NotFound
from bot.members.roles import COMMUNITY, role_of
from bot.messages import Member, mention
from bot.networks.models import JoinPolicy, MembershipState, Network, NetworkMember
from bot.permissions import Role
from bot.store.db import contains_pattern, delete_rows, unlink
from bot.store.models import MemberProfile, MemberRecord, RoleGrant, member_of
from scheduling.engine.notices import plan_notice

MAX_DESCRIPTION = 2000
MAX_NAME = 100


def scope(network: Network) -> str:
    return f"network:{network.id}"


def make_slug(name: str) -> str:
    """`Data & Digital Leaders` -> `data-digital-leaders`."""
    slug = "-".join(re.findall(r"[^\W_]+", name.lower()))[:60].strip("-")
    if not slug:
        raise ArgumentError(
            f"NAME: {name[:40]!r} has no letters or digits. Example: network create "
            '"Digital Service Leaders"',
            "name",
        )
    return slug


def find(session: Session, ref: str, *, include_archived: bool = True) -> Network:
    """A network by its slug or its name (case does not matter); unknown names get close suggestions."""
    wanted = ref.strip().lower()
    networks = list(session.execute(select(Network).order_by(col(Network.id))).scalars())
    for n in networks:
        if (n.slug == wanted or n.name.lower() == wanted) and (include_archived or not n.archived):
            return n
    live = [n for n in networks if not n.archived]
    names = {n.slug: n.slug for n in live} | {n.name.lower(): n.slug for n in live}
    close = [names[c] for c in difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.5)]
    hint = f" Did you mean: {', '.join(dict.fromkeys(close))}?" if close else ""
    raise NotFound(f"There is no network {ref.strip()[:60]!r}.{hint} See them all with: network list")


def create(session: Session, creator: Member, name: str, description: str, policy: JoinPolicy) -> Network:
    name = " ".join(name.split())
    if len(description) > MAX_DESCRIPTION:
        raise ArgumentError(
            f"--description is too long: {len(description):,} characters, the limit is "
            f"{MAX_DESCRIPTION:,}. Shorten it and try again.",
            "description",
        )
    slug = make_slug(name)
    taken = session.execute(select(Network).where(col(Network.slug) == slug)).scalars().first()
    if taken is not None:
        raise CommandError(
            f"A network called {taken.name!r} ({slug}) already exists"
            + (" (archived)." if taken.archived else ".")
            + " Choose another name."
        )
    record = ensure_member(session, creator)
    network = Network(
        slug=slug, name=name, description=description.strip(), join_policy=policy.value, created_by=record.id
    )
    session.add(network)
    session.flush()
    return network


@dataclass
class NetworkView:
    network: Network
    members: int
    requests: int


def listing(session: Session) -> list[NetworkView]:
    """Every network that is not archived, with its member and request counts."""
    rows = session.execute(
        select(col(NetworkMember.network_id), col(NetworkMember.state), func.count()).group_by(
            col(NetworkMember.network_id), col(NetworkMember.state)
        )
    ).all()
    counts: dict[tuple[int, str], int] = {(nid, state): int(n) for nid, state, n in rows}
    networks = session.execute(
        select(Network)
        .where(col(Network.archived) == False)  # noqa: E712
        .order_by(col(Network.name))
    ).scalars()
    return [view(n, counts) for n in networks]


def view(network: Network, counts: dict[tuple[int, str], int]) -> NetworkView:
    nid = network.id or 0
    return NetworkView(
        network,
        counts.get((nid, MembershipState.MEMBER.value), 0),
        counts.get((nid, MembershipState.REQUESTED.value), 0),
    )


def one_view(session: Session, network: Network) -> NetworkView:
    rows = session.execute(
        select(col(NetworkMember.state), func.count())
        .where(col(NetworkMember.network_id) == network.id)
        .group_by(col(NetworkMember.state))
    ).all()
    return view(network, {(network.id or 0, state): int(n) for state, n in rows})


def membership(session: Session, network: Network, record: MemberRecord) -> NetworkMember | None:
    return (
        session.execute(
            select(NetworkMember).where(
                col(NetworkMember.network_id) == network.id, col(NetworkMember.member_id) == record.id
            )
        )
        .scalars()
        .first()
    )


def is_coordinator(session: Session, settings: Settings, network: Network, member: Member) -> bool:
    return (
        role_of(session, settings, member) >= Role.COORDINATOR
        or role_of(session, settings, member, scope(network)) >= Role.COORDINATOR
    )


def coordinates_any(session: Session, settings: Settings, member: Member) -> bool:
    """Whether the member coordinates some network, or the whole community."""
    if role_of(session, settings, member) >= Role.COORDINATOR:
        return True
    return (
        session.execute(
            select(col(RoleGrant.id))
            .where(
                col(RoleGrant.platform) == member.platform,
                col(RoleGrant.user_id) == member.user_id,
                col(RoleGrant.scope).like("network:%"),
                col(RoleGrant.role) >= int(Role.COORDINATOR),
            )
            .limit(1)
        ).first()
        is not None
    )


def require_coordinator(session: Session, settings: Settings, network: Network, member: Member) -> None:
    if not is_coordinator(session, settings, network, member):
        raise NotAllowed(
            f"Only the coordinators of {network.name} can do that. See them with: network show {network.slug}"
        )


def coordinators(session: Session, settings: Settings, network: Network) -> list[tuple[str, str]]:
    """Whom to tell about a request: the network's own coordinators; failing those, the community's;
    failing those, the admins from configuration."""
    for wanted in (scope(network), COMMUNITY):
        grants = (
            session.execute(
                select(RoleGrant)
                .where(col(RoleGrant.scope) == wanted, col(RoleGrant.role) >= int(Role.COORDINATOR))
                .order_by(col(RoleGrant.id))
            )
            .scalars()
            .all()
        )
        if grants:
            return [(g.platform, g.user_id) for g in grants]
    return [(platform, user_id) for platform, _, user_id in sorted(settings.bootstrap_admins)]


def coordinator_names(session: Session, network: Network) -> list[str]:
    grants = (
        session.execute(
            select(RoleGrant).where(col(RoleGrant.scope) == scope(network)).order_by(col(RoleGrant.id))
        )
        .scalars()
        .all()
    )
    names = []
    for g in grants:
        record = find_member(session, member_of(g))
        names.append(mention(record.as_member() if record and record.display_name else member_of(g)))
    return names


def _require_open(network: Network) -> None:
    if network.archived:
        raise CommandError(f"{network.name} is archived; it takes no new members.")


def join(session: Session, network: Network, member: Member) -> MembershipState:
    """Join (open, or invited), or ask to join (approval). Refuses invite-only networks uninvited."""
    _require_open(network)
    record = ensure_member(session, member)
    row = membership(session, network, record)
    if row is not None and row.state == MembershipState.MEMBER.value:
        raise CommandError(f"You are already a member of {network.name}.")
    if row is not None and row.state == MembershipState.REQUESTED.value:
        raise CommandError(
            f"You already asked to join {network.name}; its coordinators will answer. "
            f"To withdraw: network leave {network.slug}"
        )
    if row is not None:  # invited
        row.state = MembershipState.MEMBER.value
        session.add(row)
        return MembershipState.MEMBER
    if network.join_policy == JoinPolicy.INVITE.value:
        raise NotAllowed(
            f"{network.name} is invite-only: you can join once a coordinator invites you. "
            f"Its coordinators are listed by: network show {network.slug}"
        )
    state = (
        MembershipState.REQUESTED
        if network.join_policy == JoinPolicy.APPROVAL.value
        else MembershipState.MEMBER
    )
    session.add(NetworkMember(network_id=network.id or 0, member_id=record.id or 0, state=state.value))
    session.flush()
    return state


def leave(session: Session, network: Network, member: Member) -> MembershipState:
    """Leave, withdraw a request or turn down an invitation. Returns the state that ended."""
    record = ensure_member(session, member)
    row = membership(session, network, record)
    if row is None:
        raise CommandError(f"You are not in {network.name}; there is nothing to leave.")
    session.delete(row)
    return MembershipState(row.state)


def pending(
    session: Session, network: Network, state: MembershipState = MembershipState.REQUESTED
) -> list[tuple[NetworkMember, MemberRecord]]:
    rows = session.execute(
        select(NetworkMember, MemberRecord)
        .join(MemberRecord, col(MemberRecord.id) == col(NetworkMember.member_id))
        .where(col(NetworkMember.network_id) == network.id, col(NetworkMember.state) == state.value)
        .order_by(col(NetworkMember.joined_at), col(NetworkMember.id))
    ).all()
    return [(nm, rec) for nm, rec in rows]


def record_of(session: Session, who: Member, *, create: bool = False) -> MemberRecord | None:
    """`who`'s row, without renaming it (a button names a member by id only, not by display name)."""
    record = find_member(session, who)
    return ensure_member(session, who) if record is None and create else record


def answer(session: Session, network: Network, who: Member, approve: bool) -> MemberRecord:
    """Approve or decline `who`'s request to join."""
    record = record_of(session, who)
    row = membership(session, network, record) if record is not None else None
    if record is None or row is None or row.state != MembershipState.REQUESTED.value:
        raise CommandError(
            f"{mention(who)} has not asked to join {network.name}. "
            f"See the requests with: network requests {network.slug}"
        )
    if approve:
        row.state = MembershipState.MEMBER.value
        session.add(row)
    else:
        session.delete(row)
    return record


def invite(session: Session, network: Network, who: Member) -> tuple[MemberRecord, MembershipState]:
    """Invite `who`; one who had asked to join is simply approved. Returns their row and new state."""
    _require_open(network)
    record = record_of(session, who, create=True)
    assert record is not None
    row = membership(session, network, record)
    name = mention(record.as_member() if record.display_name else who)
    if row is not None and row.state == MembershipState.MEMBER.value:
        raise CommandError(f"{name} is already a member of {network.name}.")
    if row is not None and row.state == MembershipState.INVITED.value:
        raise CommandError(f"{name} has already been invited to {network.name}.")
    if row is not None:
        row.state = MembershipState.MEMBER.value
        session.add(row)
        return record, MembershipState.MEMBER
    session.add(
        NetworkMember(
            network_id=network.id or 0, member_id=record.id or 0, state=MembershipState.INVITED.value
        )
    )
    session.flush()
    return record, MembershipState.INVITED


def make_member(session: Session, network: Network, who: Member) -> None:
    """Whatever their state, `who` is now a member (a new network coordinator, say)."""
    record = record_of(session, who, create=True)
    assert record is not None
    row = membership(session, network, record)
    if row is None:
        session.add(
            NetworkMember(
                network_id=network.id or 0, member_id=record.id or 0, state=MembershipState.MEMBER.value
            )
        )
    else:
        row.state = MembershipState.MEMBER.value
        session.add(row)
    session.flush()


def visible_members(session: Session, network: Network) -> tuple[list[MemberRecord], int]:
    """Members who chose to appear in member lists, by name; and how many chose not to."""
    shown: list[MemberRecord] = []
    hidden = 0
    for _, record in pending(session, network, MembershipState.MEMBER):
        profile = session.get(MemberProfile, record.id)
        if profile is None or profile.show_in_lists:
            shown.append(record)
        else:
            hidden += 1
    return sorted(shown, key=lambda r: (r.display_name or r.user_id).lower()), hidden


def tell(
    session: Session,
    key: str,
    now: datetime,
    to: tuple[str, str] | tuple[str, str, str],
    text: str,
    choices: list[tuple[str, str]] | None = None,
) -> None:
    """A DM through the scheduler's outbox to (platform, user id[, workspace]); `key` plus the recipient is
    unique per message."""
    who = hashlib.sha1(f"{to[0]}:{to[1]}".encode()).hexdigest()[:12]
    workspace = to[2] if len(to) > 2 else ""
    plan_notice(
        session,
        f"{key}:{who}"[:200],
        now,
        platform=to[0],
        user_id=to[1],
        workspace=workspace,
        text=text,
        choices=choices,
    )


def typed_ref(record: MemberRecord) -> str:
    """How a button names a member: their stable id is accepted wherever @member is."""
    return record.as_member().ref


def export_member(session: Session, record: MemberRecord) -> list[dict[str, Any]]:
    """The networks a member is in, has asked to join or is invited to."""
    rows = session.execute(
        select(NetworkMember, Network)
        .join(Network, col(Network.id) == col(NetworkMember.network_id))
        .where(col(NetworkMember.member_id) == record.id)
        .order_by(col(Network.slug))
    ).all()
    return [
        {"network": n.slug, "name": n.name, "state": nm.state, "since": nm.joined_at.isoformat()}
        for nm, n in rows
    ]


def forget_member(session: Session, record: MemberRecord, now: datetime) -> int:
    """Memberships, requests and invitations go; networks they created stay, without their creator."""
    changed = delete_rows(session, col(NetworkMember.member_id), record.id)
    changed += unlink(session, col(Network.created_by), record.id)
    session.flush()
    return changed


def suggest_networks(
    session: Session, prefix: str, member: Member, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """Live networks whose slug or name contains `prefix` (autocomplete)."""
    like = contains_pattern(prefix)
    rows = session.execute(
        select(Network)
        .where(
            col(Network.archived).is_(False),
            or_(col(Network.slug).ilike(like, escape="\\"), col(Network.name).ilike(like, escape="\\")),
        )
        .order_by(col(Network.name))
        .limit(limit)
    ).scalars()
    return [(f"{n.name} ({n.slug})", n.slug) for n in rows]


def networks_of(session: Session, member: Member) -> list[Network]:
    """The live networks a member belongs to, by name."""
    record = find_member(session, member)
    if record is None:
        return []
    return list(
        session.execute(
            select(Network)
            .join(NetworkMember, col(NetworkMember.network_id) == col(Network.id))
            .where(
                col(NetworkMember.member_id) == record.id,
                col(NetworkMember.state) == MembershipState.MEMBER.value,
                col(Network.archived).is_(False),
            )
            .order_by(col(Network.name))
        ).scalars()
    )


# ---- who sees inside a network ----------------------------------------------------------------------
# An open network's convenings and date polls are open to everyone. A network joined by approval or by
# invitation is closed: only its members (and whoever coordinates it) see where and about what its
# convenings are, answer them, mark its date polls and get its calendar feed. Everyone else sees that
# the network exists and how to ask to join.


def is_closed(network: Network) -> bool:
    return network.join_policy != JoinPolicy.OPEN.value


def is_member(session: Session, network: Network, member: Member) -> bool:
    record = record_of(session, member)
    row = membership(session, network, record) if record is not None else None
    return row is not None and row.state == MembershipState.MEMBER.value


def can_see_inside(session: Session, settings: Settings, network: Network, member: Member) -> bool:
    return (
        not is_closed(network)
        or is_member(session, network, member)
        or is_coordinator(session, settings, network, member)
    )


def how_to_join(session: Session, network: Network, member: Member) -> str:
    """One sentence: how `member` can get into a closed network, given where they stand."""
    record = record_of(session, member)
    row = membership(session, network, record) if record is not None else None
    if row is not None and row.state == MembershipState.REQUESTED.value:
        return "You asked to join; its coordinators will answer you by direct message."
    if row is not None and row.state == MembershipState.INVITED.value:
        return f"You are invited: accept with network join {network.slug}"
    if network.join_policy == JoinPolicy.INVITE.value:
        return (
            f"It is invite-only: ask one of its coordinators to invite you (they are listed by: "
            f"network show {network.slug})."
        )
    return f"Ask to join with: network join {network.slug}"


def require_inside(
    session: Session, settings: Settings, network: Network, member: Member, doing: str
) -> None:
    """Refuse `doing` to someone outside a closed network, saying how to ask to join."""
    if not can_see_inside(session, settings, network, member):
        raise NotAllowed(
            f"{network.name} is a closed network: only its members can {doing}. "
            + how_to_join(session, network, member)
        )


def member_records(session: Session, network: Network) -> list[MemberRecord]:
    """The network's members (not those who asked or are invited), by id."""
    return [
        record
        for _, record in sorted(
            pending(session, network, MembershipState.MEMBER), key=lambda pair: pair[1].id or 0
        )
    ]
