"""The `network` commands: create, list, show, join, leave, requests, approve, decline, invite, members,
coordinator add|remove, archive. A network is named by its slug or its name (case does not matter).
"""

from __future__ import annotations

from typing import Annotated

from sqlmodel import Session

from bot.commands import CommandGroup, Opt
from bot.context import Context, ensure_member, write_audit
from bot.errors import CommandError
from bot.members.roles import set_role
from bot.messages import Choice, Item, Member, Reply, mention
from bot.networks import service as svc
from bot.networks.models import JoinPolicy, MembershipState, Network
from bot.networks.params import NetworkRef, coordinators_of
from bot.permissions import Role
from bot.words import counted

network_group = CommandGroup("network", "networks within the community: join, leave, coordinate")

Who = Annotated[Member, Opt(help="the member (mention them)")]
POLICY_TEXT = {
    JoinPolicy.OPEN.value: "open: anyone may join",
    JoinPolicy.APPROVAL.value: "by approval: coordinators approve requests",
    JoinPolicy.INVITE.value: "invite-only",
}


def _item(v: svc.NetworkView) -> Item:
    n = v.network
    facts = [("Members", str(v.members)), ("Joining", POLICY_TEXT[n.join_policy])]
    body = n.description if len(n.description) <= 200 else n.description[:199].rsplit(" ", 1)[0] + "…"
    return Item(
        title=n.name,
        body=body,
        fields=tuple(facts),
        ref=n.slug,
        choices=(Choice("Show", f"network show {n.slug}"), Choice("Join", f"network join {n.slug}")),
    )


@network_group.command("create", role=Role.COORDINATOR)
async def create(
    ctx: Context,
    name: Annotated[
        str, Opt(help="the network's name; its short name (slug) is made from it", max_length=svc.MAX_NAME)
    ],
    *,
    description: Annotated[
        str, Opt(help="what the network is for", long=True, max_length=svc.MAX_DESCRIPTION)
    ] = "",
    policy: Annotated[JoinPolicy, Opt(help="who may join: open, approval or invite")] = JoinPolicy.OPEN,
) -> Reply:
    """Create a network within the community.

    Example: network create "Digital Service Leaders" --description "Leaders of digital teams" --policy approval
    """
    member = ctx.member
    n = await ctx.store.run(lambda s: svc.create(s, member, name, description, policy))
    return Reply(
        f"Created the network {n.name} ({n.slug}); joining is {POLICY_TEXT[n.join_policy]}. "
        f"Give it coordinators with: network coordinator add {n.slug} @member"
    )


@network_group.command("list")
async def list_networks(ctx: Context) -> Reply:
    """List the community's networks with their member counts."""
    views = await ctx.store.run(svc.listing)
    if not views:
        return Reply("There are no networks yet. A coordinator creates one with: network create <name>")
    return Reply(
        f"{counted(len(views), 'network')}:",
        items=tuple(_item(v) for v in views),
        footer="Join one: network join <network>",
    )


@network_group.command("show")
async def show(ctx: Context, network: NetworkRef) -> Reply:
    """Show a network: what it is for, how to join, its coordinators and your place in it.

    Example: network show digital-leaders
    """
    member = ctx.member

    def load(session: Session) -> tuple[svc.NetworkView, list[str], str]:
        n = svc.find(session, network)
        record = svc.record_of(session, member)
        row = svc.membership(session, n, record) if record is not None else None
        return svc.one_view(session, n), svc.coordinator_names(session, n), row.state if row else ""

    v, coordinators, mine = await ctx.store.run(load)
    n = v.network
    yours = {
        "member": "a member",
        "requested": "asked to join (waiting for approval)",
        "invited": "invited (accept with the button)",
    }.get(mine, "not a member")
    facts = [
        ("Short name", n.slug),
        ("Joining", POLICY_TEXT[n.join_policy]),
        ("Members", str(v.members)),
        ("Coordinators", ", ".join(coordinators) or "the community's coordinators"),
        ("You", yours),
    ]
    if n.archived:
        facts.append(("Status", "archived"))
    choices: tuple[Choice, ...] = ()
    if not n.archived and mine in ("", MembershipState.INVITED.value):
        choices = (Choice("Join", f"network join {n.slug}", style="primary"),)
    elif mine:
        choices = (Choice("Leave", f"network leave {n.slug}", style="danger"),)
    return Reply(f"{n.name}\n{n.description}".strip(), fields=tuple(facts), choices=choices)


@network_group.command("join")
async def join(ctx: Context, network: NetworkRef) -> Reply:
    """Join a network; for one that needs approval, ask to join.

    Example: network join digital-leaders
    """
    member, settings, now = ctx.member, ctx.settings, ctx.now()

    def apply(session: Session) -> tuple[Network, MembershipState]:
        n = svc.find(session, network)
        state = svc.join(session, n, member)
        if state is MembershipState.REQUESTED:
            record = ensure_member(session, member)
            who = svc.typed_ref(record)
            text = (
                f"{mention(member)} asks to join {n.name}. Approve with: network approve {n.slug} "
                f"{mention(member)} (or use the buttons)."
            )
            for to in svc.coordinators(session, settings, n):
                svc.tell(
                    session,
                    f"network:{n.id}:request:{record.id}:{now.isoformat()}",
                    now,
                    to,
                    text,
                    [
                        ("Approve", f"network approve {n.slug} {who}"),
                        ("Decline", f"network decline {n.slug} {who}"),
                    ],
                )
        return n, state

    n, state = await ctx.store.run(apply)
    if state is MembershipState.REQUESTED:
        ctx.services.scheduler.wake()
        return Reply(
            f"You asked to join {n.name}; its coordinators have been told and you will hear back "
            f"by direct message. To withdraw: network leave {n.slug}"
        )
    return Reply(f"Welcome to {n.name}! You are now a member. See who else is: network members {n.slug}")


@network_group.command("leave")
async def leave(ctx: Context, network: NetworkRef) -> Reply:
    """Leave a network, withdraw your request to join, or turn down an invitation.

    Example: network leave digital-leaders
    """
    member = ctx.member

    def apply(session: Session) -> tuple[Network, MembershipState]:
        n = svc.find(session, network)
        return n, svc.leave(session, n, member)

    n, was = await ctx.store.run(apply)
    done = {
        MembershipState.MEMBER: f"You have left {n.name}.",
        MembershipState.REQUESTED: f"You withdrew your request to join {n.name}.",
        MembershipState.INVITED: f"You turned down the invitation to {n.name}.",
    }[was]
    return Reply(done)


@network_group.command("requests", scope=coordinators_of("network"))
async def requests(ctx: Context, network: NetworkRef) -> Reply:
    """List who asked to join a network (for its coordinators).

    Example: network requests digital-leaders
    """

    def load(session: Session) -> tuple[Network, list[Item]]:
        n = svc.find(session, network)
        items = [
            Item(
                title=mention(rec.as_member()),
                fields=(("Asked", f"{nm.joined_at:%Y-%m-%d}"),),
                choices=(
                    Choice("Approve", f"network approve {n.slug} {svc.typed_ref(rec)}", style="primary"),
                    Choice("Decline", f"network decline {n.slug} {svc.typed_ref(rec)}"),
                ),
            )
            for nm, rec in svc.pending(session, n)
        ]
        return n, items

    n, items = await ctx.store.run(load)
    if not items:
        return Reply(f"Nobody is waiting to join {n.name}.")
    return Reply(f"{counted(len(items), 'request')} to join {n.name}:", items=tuple(items))


async def _answer(ctx: Context, network: str, who: Member, approve: bool) -> Reply:
    member, now = ctx.member, ctx.now()

    def apply(session: Session) -> tuple[Network, str]:
        n = svc.find(session, network)
        record = svc.answer(session, n, who, approve)
        verb = "approve" if approve else "decline"
        text = (
            f"Welcome: your request to join {n.name} was approved."
            if approve
            else f"Your request to join {n.name} was declined. A coordinator can tell you more."
        )
        svc.tell(
            session,
            f"network:{n.id}:{verb}:{record.id}:{now.isoformat()}",
            now,
            (who.platform, who.user_id, who.workspace),
            text,
        )
        named = record.as_member() if record.display_name else who
        write_audit(session, member, f"network {verb}", f"{n.slug} {who.ref} ({named.name})")
        return n, mention(named)

    n, name = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    if approve:
        return Reply(f"{name} is now a member of {n.name}; they are told by direct message.")
    return Reply(f"Declined {name}'s request to join {n.name}; they are told by direct message.")


@network_group.command("approve", scope=coordinators_of("network"), audited=False)
async def approve(ctx: Context, network: NetworkRef, member: Who) -> Reply:
    """Approve a request to join a network (for its coordinators).

    Example: network approve digital-leaders @ana
    """
    return await _answer(ctx, network, member, True)


@network_group.command("decline", scope=coordinators_of("network"), audited=False)
async def decline(ctx: Context, network: NetworkRef, member: Who) -> Reply:
    """Decline a request to join a network (for its coordinators).

    Example: network decline digital-leaders @ana
    """
    return await _answer(ctx, network, member, False)


@network_group.command("invite", scope=coordinators_of("network"), audited=False)
async def invite(ctx: Context, network: NetworkRef, member: Who) -> Reply:
    """Invite a member to a network; they get a direct message with a button to accept.

    Example: network invite digital-leaders @ana
    """
    who, me, now = member, ctx.member, ctx.now()

    def apply(session: Session) -> tuple[Network, MembershipState, str]:
        n = svc.find(session, network)
        record, state = svc.invite(session, n, who)
        if state is MembershipState.INVITED:
            text = f"{mention(me)} invites you to join the network {n.name}." + (
                f" {n.description[:300]}" if n.description else ""
            )
            svc.tell(
                session,
                f"network:{n.id}:invite:{record.id}:{now.isoformat()}",
                now,
                (who.platform, who.user_id, who.workspace),
                text,
                [("Accept", f"network join {n.slug}"), ("No thanks", f"network leave {n.slug}")],
            )
        else:
            svc.tell(
                session,
                f"network:{n.id}:approve:{record.id}:{now.isoformat()}",
                now,
                (who.platform, who.user_id, who.workspace),
                f"Welcome: your request to join {n.name} was approved.",
            )
        named = record.as_member() if record.display_name else who
        write_audit(session, me, "network invite", f"{n.slug} {who.ref} ({named.name})")
        return n, state, mention(named)

    n, state, name = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    if state is MembershipState.MEMBER:
        return Reply(f"{name} had asked to join {n.name}; they are now a member and are told so.")
    return Reply(f"Invited {name} to {n.name}; they get a direct message with a button to accept.")


@network_group.command("members", host_only=True)
async def members(ctx: Context, network: NetworkRef) -> Reply:
    """List a network's members (those who chose to appear in member lists).

    Example: network members digital-leaders
    """

    def load(session: Session) -> tuple[Network, list[str], int]:
        n = svc.find(session, network)
        shown, hidden = svc.visible_members(session, n)
        return n, [mention(r.as_member()) for r in shown], hidden

    n, names, hidden = await ctx.store.run(load)
    total = len(names) + hidden
    if total == 0:
        return Reply(f"{n.name} has no members yet. Join with: network join {n.slug}")
    text = f"{n.name} has {counted(total, 'member')}"
    text += f"; {hidden} chose not to be listed." if hidden else "."
    return Reply(
        text,
        items=tuple(Item(title=name) for name in names),
        footer="Whether you are listed is your choice: me lists show|hide",
    )


@network_group.command("coordinator add", role=Role.COORDINATOR)
async def coordinator_add(ctx: Context, network: NetworkRef, member: Who) -> Reply:
    """Make a member a coordinator of one network (they also become a member of it).

    Example: network coordinator add digital-leaders @ana
    """
    granted_by = ctx.member.name

    def apply(session: Session) -> tuple[Network, Role]:
        n = svc.find(session, network)
        previous = set_role(session, member, Role.COORDINATOR, granted_by=granted_by, scope=svc.scope(n))
        svc.make_member(session, n, member)
        return n, previous

    n, previous = await ctx.store.run(apply)
    if previous >= Role.COORDINATOR:
        return Reply(f"{mention(member)} was already a coordinator of {n.name}; nothing changed.")
    return Reply(f"{mention(member)} is now a coordinator of {n.name}. This is in the audit log.")


@network_group.command("coordinator remove", role=Role.COORDINATOR)
async def coordinator_remove(ctx: Context, network: NetworkRef, member: Who) -> Reply:
    """Stop a member coordinating one network; they stay a member of it.

    Example: network coordinator remove digital-leaders @ana
    """
    granted_by = ctx.member.name

    def apply(session: Session) -> tuple[Network, Role]:
        n = svc.find(session, network)
        return n, set_role(session, member, Role.MEMBER, granted_by=granted_by, scope=svc.scope(n))

    n, previous = await ctx.store.run(apply)
    if previous == Role.MEMBER:
        raise CommandError(f"{mention(member)} is not a coordinator of {n.name}; nothing changed.")
    return Reply(f"{mention(member)} no longer coordinates {n.name}. This is in the audit log.")


@network_group.command("archive", role=Role.COORDINATOR)
async def archive(ctx: Context, network: NetworkRef) -> Reply:
    """Archive a network: it leaves the list and takes no new members; nothing is deleted.

    Example: network archive digital-leaders
    """

    def apply(session: Session) -> Network:
        n = svc.find(session, network)
        if n.archived:
            raise CommandError(f"{n.name} is already archived.")
        n.archived = True
        session.add(n)
        return n

    n = await ctx.store.run(apply)
    return Reply(f"Archived {n.name}. Its members and history are kept.")
