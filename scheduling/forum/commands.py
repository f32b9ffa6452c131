"""The `forum` commands: its schedule, topics and votes, replies in the thread, and captures as practices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import dateparser
from sqlalchemy import func, select
from sqlmodel import Session, col

from bot.commands import CommandGroup, Opt
from bot.context import Context, ensure_member, write_audit
from bot.errors import ArgumentError, CommandError, NotFound
from bot.members.profile import OnOff
from bot.messages import Choice, Item, Member, Place, Reply, Visibility, mention
from bot.messenger import TAGS_MAX, time_mark
from bot.permissions import Role
from bot.store.models import MemberProfile, MemberRecord
from bot.words import counted
from bot.zones import zone_for
from content.practices import service as practices
from content.practices.consent import Consent, consent_answer, still_visible
from content.practices.models import Attribution, Practice
from scheduling.engine import places as place
from scheduling.engine.models import PlannedPost
from scheduling.engine.notices import plan_notice
from scheduling.forum import service as forum
from scheduling.forum.models import (
    CaptureRequest,
    ForumOccurrence,
    ForumPlace,
    ForumReply,
    ForumSettings,
    ForumThread,
    ForumTopic,
    ForumVote,
    OccurrenceStatus,
    TopicStatus,
)
from scheduling.time.cadence import Cadence, CadenceError, holiday_conflicts, parse_cadence
from scheduling.time.when import date_problem, read_date

forum_group = CommandGroup("forum", "the monthly open forum")
IN_THREAD = "your reply in the forum thread"
REWORD = (
    "what was done; credited by role or anonymously, reword it: your reply stays in the thread under "
    "your name"
)


def _zone(ctx: Context, session: Session) -> str:
    return zone_for(session, ctx.member, ctx.settings.timezone)


def _require_settings(session: Session) -> ForumSettings:
    fs = forum.settings_row(session)
    if fs is None:
        raise CommandError(
            "The forum has no schedule yet. A coordinator sets one with: "
            'forum set --rule "first Tuesday of every month, 12:00 to 13:00"'
        )
    return fs


def _occurrence(session: Session, date: str) -> ForumOccurrence:
    occ = session.execute(select(ForumOccurrence).where(col(ForumOccurrence.slot) == date)).scalars().first()
    if occ is None:
        known = [
            o.slot
            for o in session.execute(
                select(ForumOccurrence).order_by(col(ForumOccurrence.slot)).limit(6)
            ).scalars()
        ]
        hint = f" Known dates: {', '.join(known)}." if known else ""
        raise NotFound(f"There is no forum on {date}.{hint} See: forum next")
    return occ


def _date(raw: str) -> str:
    return read_date(raw, "2026-03-03").isoformat()


ForumDate = Annotated[
    str, Opt(help="the forum's date, as forum next shows it", converter=_date, metavar="YYYY-MM-DD")
]


def parse_topic_id(raw: str) -> int:
    value = raw.strip().lstrip("#")
    value = value[1:] if value[:1] in "Tt" else value
    if not value.isdigit():
        raise ValueError(f"{raw!r} is not a topic id; topic ids look like T3 (see forum topics)")
    return int(value)


TopicId = Annotated[
    int, Opt(help="the topic's id, like T3", converter=parse_topic_id, metavar="TOPIC", suggest="topic")
]


def parse_reply_id(raw: str) -> int:
    value = raw.strip().lstrip("#")
    value = value[1:] if value[:1] in "Rr" else value
    if not value.isdigit():
        raise ValueError(f"{raw!r} is not a reply id; reply ids look like R12")
    return int(value)


def _parse_when(raw: str, tz: str, now: datetime) -> datetime:
    if (problem := date_problem(raw)) is not None:
        raise ArgumentError(f'--to: {problem}. Example: --to "2026-03-10 12:00"', "to")
    parsed = dateparser.parse(
        raw,
        settings={
            "TIMEZONE": tz,
            "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": now.astimezone(ZoneInfo(tz)).replace(tzinfo=None),
        },
    )
    if parsed is None:
        raise ArgumentError(
            f"--to: could not read {raw!r} as a date and time. "
            'Example: --to "2026-03-10 12:00" or --to "next Tuesday 2pm"',
            "to",
        )
    return parsed.astimezone(UTC)


# ---- settings and the calendar ----------------------------------------------------------------------


@forum_group.command("set", role=Role.COORDINATOR, audited=False)
async def forum_set(
    ctx: Context,
    *,
    rule: Annotated[
        str,
        Opt(
            help='when it meets, in words or as an RRULE, e.g. "first Tuesday of every month, '
            '12:00 to 13:00, America/New_York"',
            max_length=300,
        ),
    ],
    channel: Annotated[
        str,
        Opt(
            help="channel for announcements and the thread (default: the one set before, else this one)",
            max_length=100,
        ),
    ] = "",
    facilitator: Annotated[Member | None, Opt(help="who facilitates (mention them)")] = None,
    announce_days: Annotated[int, Opt(help="days before each forum to announce it", min=1, max=28)] = 7,
    prompt: Annotated[str, Opt(help="the question that opens the thread", long=True, max_length=1000)] = "",
    join: Annotated[str, Opt(help="how to join, e.g. a video link", max_length=500)] = "",
    holidays: Annotated[
        str, Opt(help="public holiday calendar to warn about, e.g. US, GB, CA", max_length=10)
    ] = "US",
    tags: Annotated[
        list[str],
        Opt(
            help='tags for its posts in a channel with tags, e.g. "Open forum" '
            "(default: tags named like forum)",
            item_max_length=50,
        ),
    ] = [],
) -> Reply:
    """Set when and where the monthly open forum meets, and plan its posts.

    In a channel with tags (a Discord forum channel) its posts get the --tags named; without --tags, the
    channel's tags named like "forum" (such as "Open forum"), else the tags named in the post's title.
    Example: forum set --rule "first Tuesday of every month, 12:00 to 13:00, America/New_York" --facilitator @ana
    Example: forum set --rule "first Tuesday of every month, 12:00 to 13:00" --tags "Open forum, Monthly"
    """
    try:
        cadence = parse_cadence(rule, ctx.settings.timezone, anchor=ctx.now().date())
    except CadenceError as exc:
        raise ArgumentError(f"--rule: {exc}", "rule") from None
    now = ctx.now()
    try:
        warnings = holiday_conflicts(cadence, now, 12, country=holidays.upper())
    except CadenceError as exc:
        raise ArgumentError(f"--holidays: {exc}", "holidays") from None
    if len(tags) > TAGS_MAX:
        raise ArgumentError(
            f"--tags: a post carries at most {TAGS_MAX} tags, got {len(tags)}. "
            'Example: --tags "Open forum, Monthly"',
            "tags",
        )
    here = ctx.place

    def apply(session: Session) -> tuple[list[ForumOccurrence], str, str]:
        fs = forum.settings_row(session) or ForumSettings(
            cadence="", platform=here.platform, channel_id=here.channel_id, workspace=ctx.member.workspace
        )
        if channel:  # else the channel stays where it was (this one, the first time)
            fs.platform, fs.channel_id = here.platform, channel.lstrip("#")
            fs.workspace = ctx.member.workspace  # the channel is in the workspace it was named from
            # this workspace's own channel, if it had one, is now the main one
            place.adopt_as_main(session, ForumPlace, "forum:", (fs.platform, fs.workspace))
        fs.cadence = cadence.to_text()
        fs.announce_days, fs.prompt, fs.join_info, fs.holiday_country = (
            announce_days,
            prompt,
            join,
            holidays.upper(),
        )
        fs.post_tags = ",".join(tags)
        if facilitator is not None:
            fs.facilitator_platform, fs.facilitator_user_id = facilitator.platform, facilitator.user_id
            fs.facilitator_workspace = facilitator.workspace
            fs.facilitator_name = facilitator.name
        fs.updated_at = now
        session.add(fs)
        session.flush()
        occs = forum.replan_all(session, fs, now, ctx.settings.timezone)
        write_audit(
            session, ctx.member, "forum set", f"{cadence.describe()} in {fs.platform}:{fs.channel_id}"
        )
        return occs, _zone(ctx, session), fs.channel_id

    occs, tz, channel_id = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    lines = [
        f"The open forum meets {cadence.describe()}, in #{channel_id}. Announced {counted(announce_days, 'day')} ahead, "
        "reminders the day before and an hour before, the thread opens at the start."
    ]
    if tags:
        lines.append("Its posts are tagged: " + ", ".join(tags) + " (where the channel has these tags).")
    lines.append("Next: " + "; ".join(forum.local(o.starts_at, tz) for o in occs))
    for occ, name in warnings:
        lines.append(
            f"Warning: {forum.local(occ.start, cadence.tz)} falls on {name}. "
            f"Skip or move it with: forum skip / forum move"
        )
    return Reply("\n".join(lines), visibility=Visibility.PUBLIC)


@forum_group.command("channel", role=Role.COORDINATOR, audited=False)
async def forum_channel(
    ctx: Context,
    channel: Annotated[
        str,
        Opt(
            help="this workspace's channel for the forum, or off; leave out to see where it posts",
            max_length=100,
        ),
    ] = "",
) -> Reply:
    """Post the forum in this workspace's own channel too, or stop (each workspace copbot serves may set one).

    With copbot installed in several workspaces, each workspace that sets a channel gets the announcement,
    the reminders, its own thread and the wrap-up there; replies in every thread count for the same forum.
    A workspace that sets none gets nothing posted. The main channel is the one forum set names.
    Example: forum channel #open-forum
    Example: forum channel off
    """
    here, member, now = ctx.place, ctx.member, ctx.now()
    mine = (here.platform, member.workspace)

    def apply(session: Session) -> str:
        fs = _require_settings(session)
        done = place.change(
            session,
            ForumPlace,
            what="forum",
            key_prefix="forum:",
            main=(fs.platform, fs.workspace),
            mine=mine,
            wanted=channel.strip().lstrip("#"),
            move_hint="move it with forum set --rule ... --channel #other, or skip a forum with forum skip",
        )
        if done.main:
            fs.channel_id = channel.strip().lstrip("#")
            session.add(fs)
            forum.replan_all(session, fs, now, ctx.settings.timezone)
        elif isinstance(done.place, ForumPlace):
            forum.plan_place(session, fs, done.place, now)
        if done.said:
            write_audit(session, member, "forum channel", f"{mine[0]}:{mine[1]}:{channel.strip() or '-'}")
        where = place.where_posted(
            session, ForumPlace, "forum", (fs.platform, fs.workspace, fs.channel_id), mine
        )
        return "\n".join(x for x in (done.said, where) if x)

    said = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    return Reply(said)


@forum_group.command("next")
async def forum_next(
    ctx: Context,
    *,
    count: Annotated[int, Opt(help="how many", min=1, max=12)] = 3,
) -> Reply:
    """List the next open forums, in your time zone.

    Set your zone with: me timezone America/Chicago
    Example: forum next --count 6
    """
    now = ctx.now()

    def load(session: Session) -> tuple[list[ForumOccurrence], list[Any], str, Cadence]:
        fs = _require_settings(session)
        cadence = Cadence.from_text(fs.cadence)
        stored = (
            session.execute(
                select(ForumOccurrence)
                .where(col(ForumOccurrence.ends_at) > now)
                .order_by(col(ForumOccurrence.starts_at))
            )
            .scalars()
            .all()
        )
        return list(stored), cadence.occurrences(now, count), _zone(ctx, session), cadence

    stored, projected, tz, cadence = await ctx.store.run(load)
    by_slot = {o.slot: o for o in stored}
    items = []
    slots = sorted({*by_slot, *(forum.slot_of(p.start, cadence.tz) for p in projected)})[:count]
    for slot in slots:
        occ = by_slot.get(slot)
        start = (
            occ.starts_at
            if occ
            else next(p.start for p in projected if forum.slot_of(p.start, cadence.tz) == slot)
        )
        facts: list[tuple[str, str]] = [("When", forum.local(start, tz))]
        if occ and occ.topic_text:
            facts.append(("Topic", occ.topic_text))
        if occ and occ.moved_from:
            facts.append(("Moved from", forum.local(occ.moved_from, tz)))
        status = occ.status if occ else OccurrenceStatus.PLANNED.value
        if status == OccurrenceStatus.SKIPPED.value:
            facts.append(("Skipped", occ.skip_reason if occ and occ.skip_reason else "yes"))
        items.append(Item(title=f"Open forum {slot}", fields=tuple(facts), ref=slot))
    return Reply(f"{cadence.describe()}. Times in {tz}:", items=tuple(items))


@forum_group.command("skip", role=Role.COORDINATOR, audited=False)
async def forum_skip(
    ctx: Context,
    date: ForumDate,
    reason: Annotated[str, Opt(help="why, for members", max_length=300)] = "",
) -> Reply:
    """Skip one forum; its posts are cancelled and members are told in the forum channel.

    Example: forum skip 2026-07-07 it falls in the holiday week
    """
    now = ctx.now()

    def apply(session: Session) -> ForumOccurrence:
        fs = _require_settings(session)
        occ = _occurrence(session, date)
        if occ.starts_at <= now:
            raise CommandError(f"The forum on {date} has already started or passed; it cannot be skipped.")
        if occ.status == OccurrenceStatus.SKIPPED.value:
            raise CommandError(f"The forum on {date} is already skipped.")
        occ.status, occ.skip_reason = OccurrenceStatus.SKIPPED.value, reason
        session.add(occ)
        forum.plan_posts(session, fs, occ, now)
        text = f"The open forum on {date} will not take place" + (f": {reason}." if reason else ".")
        told = session.execute(
            select(func.count())
            .select_from(PlannedPost)
            .where(col(PlannedPost.key).startswith(f"forum:{date}:skip-notice", autoescape=True))
        ).scalar_one()
        plan_notice(
            session,
            f"forum:{date}:skip-notice:{told + 1}",
            now,
            platform=fs.platform,
            channel_id=fs.channel_id,
            workspace=fs.workspace,
            text=text,
        )
        write_audit(session, ctx.member, "forum skip", f"{date} {reason}".strip())
        return occ

    await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    return Reply(f"Skipped the forum on {date}. Members are told in the forum channel.")


@forum_group.command("move", role=Role.COORDINATOR, audited=False)
async def forum_move(
    ctx: Context,
    date: ForumDate,
    *,
    to: Annotated[
        str,
        Opt(
            help='the new start, e.g. "2026-03-10 12:00" or "next Wednesday noon" (in your time zone)',
            max_length=100,
        ),
    ],
) -> Reply:
    """Move one forum to another time (a skipped one takes place again); its posts follow, members are told.

    Example: forum move 2026-03-03 --to "2026-03-10 12:00"
    """
    now = ctx.now()
    tz = await ctx.store.run(lambda s: _zone(ctx, s))
    new_start = _parse_when(to, tz, now)
    if new_start <= now:
        raise ArgumentError(
            f'--to: {forum.local(new_start, tz)} is in the past. Example: --to "2026-03-10 12:00"', "to"
        )

    def apply(session: Session) -> tuple[datetime, datetime, bool]:
        fs = _require_settings(session)
        occ = _occurrence(session, date)
        if occ.starts_at <= now:
            raise CommandError(f"The forum on {date} has already started or passed; it cannot be moved.")
        old = occ.starts_at
        length = occ.ends_at - occ.starts_at
        clash = forum.clash(session, fs, occ, new_start, new_start + length, now)
        if clash is not None:
            raise CommandError(
                f"--to: the forum on {clash[0]} already takes that time "
                f"({forum.local(clash[1], tz)}). Choose another time, or skip or move "
                "that one first."
            )
        was_skipped = occ.status == OccurrenceStatus.SKIPPED.value
        occ.moved_from = occ.moved_from or old
        occ.starts_at, occ.ends_at = new_start, new_start + length
        occ.status, occ.skip_reason = OccurrenceStatus.PLANNED.value, ""
        session.add(occ)
        forum.plan_posts(session, fs, occ, now)
        stamp = new_start.strftime("%Y%m%d%H%M")
        text = (
            f"The open forum of {date}, which was not going to take place, will after all: at "
            f"{time_mark(new_start)}."
            if was_skipped
            else f"The open forum planned for {time_mark(old)} moves to {time_mark(new_start)}."
        )
        plan_notice(
            session,
            f"forum:{date}:move-notice:{stamp}",
            now,
            platform=fs.platform,
            channel_id=fs.channel_id,
            workspace=fs.workspace,
            text=text,
        )
        write_audit(
            session,
            ctx.member,
            "forum move",
            f"{date} -> {new_start.isoformat()}" + (" (un-skipped)" if was_skipped else ""),
        )
        return old, new_start, was_skipped

    old, new, was_skipped = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    if was_skipped:
        return Reply(
            f"The forum of {date} was skipped: moving it un-skips it. It now takes place at "
            f"{forum.local(new, tz)}, its posts are planned again, and members are told in the "
            "forum channel."
        )
    return Reply(
        f"Moved the forum of {date} from {forum.local(old, tz)} to {forum.local(new, tz)}. "
        "Its reminders follow; members are told in the forum channel."
    )


# ---- topics ----------------------------------------------------------------------------------------


@forum_group.command("propose")
async def forum_propose(
    ctx: Context,
    topic: Annotated[str, Opt(help="the topic, in a sentence", max_length=300, metavar="TOPIC")],
) -> Reply:
    """Propose a topic for a coming forum; members vote, the top one is used.

    Example: forum propose Keeping staff through a budget freeze
    """
    text = " ".join(topic.split())
    member = ctx.member

    def apply(session: Session) -> ForumTopic:
        same = (
            session.execute(
                select(ForumTopic).where(
                    func.lower(col(ForumTopic.text)) == text.lower(),
                    col(ForumTopic.status) == TopicStatus.OPEN.value,
                )
            )
            .scalars()
            .first()
        )
        if same is not None:
            raise CommandError(
                f"That topic is already proposed as T{same.id}; vote for it with: forum vote T{same.id}"
            )
        record = ensure_member(session, member)
        t = ForumTopic(text=text, proposer_id=record.id)
        session.add(t)
        session.flush()
        return t

    t = await ctx.store.run(apply)
    return Reply(
        f"Proposed T{t.id}: {t.text}",
        choices=(Choice("Vote for it", f"forum vote T{t.id}"),),
        visibility=Visibility.PUBLIC,
    )


@forum_group.command("vote")
async def forum_vote(ctx: Context, topic: TopicId) -> Reply:
    """Vote for a proposed topic (one vote per topic; forum unvote takes it back).

    Example: forum vote T3
    """
    member = ctx.member

    def apply(session: Session) -> tuple[bool, int]:
        t = session.get(ForumTopic, topic)
        if t is None or t.status != TopicStatus.OPEN.value:
            raise NotFound(f"There is no open topic T{topic}. See: forum topics")
        record = ensure_member(session, member)
        existing = (
            session.execute(
                select(ForumVote).where(
                    col(ForumVote.topic_id) == topic, col(ForumVote.member_id) == record.id
                )
            )
            .scalars()
            .first()
        )
        if existing is None:
            session.add(ForumVote(topic_id=topic, member_id=record.id or 0))
            session.flush()
        count = session.execute(
            select(func.count()).select_from(ForumVote).where(col(ForumVote.topic_id) == topic)
        ).scalar_one()
        return existing is None, int(count)

    added, count = await ctx.store.run(apply)
    if not added:
        raise CommandError(
            f"You already voted for T{topic} ({counted(count, 'vote')}); one vote per member. "
            f"Take it back with: forum unvote T{topic}"
        )
    return Reply(f"Voted for T{topic}; it has {counted(count, 'vote')}.")


@forum_group.command("unvote")
async def forum_unvote(ctx: Context, topic: TopicId) -> Reply:
    """Take back your vote for a topic.

    Example: forum unvote T3
    """
    member = ctx.member

    def apply(session: Session) -> bool:
        record = ensure_member(session, member)
        vote = (
            session.execute(
                select(ForumVote).where(
                    col(ForumVote.topic_id) == topic, col(ForumVote.member_id) == record.id
                )
            )
            .scalars()
            .first()
        )
        if vote is None:
            return False
        session.delete(vote)
        return True

    if not await ctx.store.run(apply):
        raise CommandError(f"You have no vote on T{topic} to take back.")
    return Reply(f"Took back your vote for T{topic}.")


@forum_group.command("topics")
async def forum_topics(ctx: Context) -> Reply:
    """List proposed topics with their votes; the top one is used at the next announcement."""
    ranked = await ctx.store.run(forum.topic_votes)
    if not ranked:
        return Reply("No topics proposed yet. Propose one with: forum propose <topic>")
    items = tuple(
        Item(
            title=t.text,
            ref=f"T{t.id}",
            fields=(("Votes", str(n)),),
            choices=(Choice("Vote", f"forum vote T{t.id}"),),
        )
        for t, n in ranked
    )
    return Reply(f"{counted(len(ranked), 'proposed topic')}, most votes first:", items=items)


@forum_group.command("pick", role=Role.COORDINATOR, audited=False)
async def forum_pick(
    ctx: Context,
    topic: TopicId,
    *,
    date: Annotated[
        str | None, Opt(help="which forum (default: the next one)", converter=_date, metavar="YYYY-MM-DD")
    ] = None,
) -> Reply:
    """Choose the topic of a coming forum yourself, instead of the vote.

    Example: forum pick T3 --date 2026-03-03
    """
    now = ctx.now()

    def apply(session: Session) -> tuple[str, str]:
        _require_settings(session)
        t = session.get(ForumTopic, topic)
        if t is None or t.status != TopicStatus.OPEN.value:
            raise NotFound(f"There is no open topic T{topic}. See: forum topics")
        if date:
            occ = _occurrence(session, date)
        else:
            occ = (
                session.execute(
                    select(ForumOccurrence)
                    .where(
                        col(ForumOccurrence.starts_at) > now,
                        col(ForumOccurrence.status) == OccurrenceStatus.PLANNED.value,
                    )
                    .order_by(col(ForumOccurrence.starts_at))
                )
                .scalars()
                .first()
            )
            if occ is None:
                raise CommandError("There is no coming forum to pick a topic for. See: forum next")
        if occ.topic_text:
            raise CommandError(f"The forum on {occ.slot} was already announced with: {occ.topic_text}")
        other = session.execute(
            select(col(ForumOccurrence.slot)).where(
                col(ForumOccurrence.topic_id) == t.id, col(ForumOccurrence.id) != occ.id
            )
        ).scalar()
        if other is not None:
            raise CommandError(
                f"T{t.id} is already picked for the forum on {other}; a topic serves one forum."
            )
        occ.topic_id = t.id
        session.add(occ)
        write_audit(session, ctx.member, "forum pick", f"T{t.id} for {occ.slot}")
        return occ.slot, t.text

    slot, text = await ctx.store.run(apply)
    return Reply(f"The forum on {slot} will be about: {text}")


# ---- the thread: replies and capture ------------------------------------------------------------------


def _open_occurrence(session: Session, now: datetime) -> ForumOccurrence | None:
    return (
        session.execute(
            select(ForumOccurrence)
            .where(
                col(ForumOccurrence.thread_id) != "",
                col(ForumOccurrence.status) == OccurrenceStatus.PLANNED.value,
            )
            .order_by(col(ForumOccurrence.starts_at).desc())
        )
        .scalars()
        .first()
    )


def record_reply(
    session: Session, occ: ForumOccurrence, member: Member, text: str, link: str, now: datetime
) -> ForumReply:
    record = ensure_member(session, member)
    reply = ForumReply(
        occurrence_id=occ.id or 0, member_id=record.id or 0, text=text, link=link, created_at=now
    )
    session.add(reply)
    session.flush()
    return reply


@forum_group.command("reply")
async def forum_reply(
    ctx: Context,
    text: Annotated[str, Opt(help="what you want to share", max_length=4000, metavar="TEXT")],
) -> Reply:
    """Post in the open forum's thread (where replying in the thread itself is not possible, as in the console).

    Example: forum reply We started weekly budget office hours for department heads.
    """
    now = ctx.now()
    member = ctx.member

    def apply(session: Session) -> tuple[ForumReply, ForumOccurrence, ForumSettings]:
        fs = _require_settings(session)
        occ = _open_occurrence(session, now)
        if occ is None:
            raise CommandError("No forum thread is open right now. See when the next one is: forum next")
        reply = record_reply(session, occ, member, text, ctx.incoming.link or "", now)
        plan_notice(
            session,
            f"forum:{occ.slot}:reply:{reply.id}",
            now,
            platform=occ.thread_platform or fs.platform,
            channel_id=occ.thread_channel_id or fs.channel_id,
            workspace=fs.workspace,
            thread_id=occ.thread_id,
            text=f"{mention(member)}: {text}",
        )
        return reply, occ, fs

    reply, occ, _ = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    return Reply(
        f"Posted in the forum thread of {occ.slot} as R{reply.id}. "
        f"To save it as a shared practice: forum capture R{reply.id}"
    )


def _capture(
    session: Session,
    reply: ForumReply,
    occ: ForumOccurrence,
    author: MemberRecord,
    *,
    title: str,
    what: str,
    attribution: Attribution,
    role_description: str,
    now: datetime,
) -> Practice:
    if reply.practice_id is not None:
        raise CommandError(f"R{reply.id} is already saved as practice P{reply.practice_id}.")
    p = practices.create(
        session,
        author.as_member(),
        {
            "title": title,
            "what": what,
            "attribution": attribution.value,
            "author_role": role_description,
            "author_name": author.display_name,
            "source_platform": author.platform,
            "source_link": reply.link,
            "source_note": f"open forum {occ.slot}",
            "forum_occurrence_id": occ.id,
            "links": "",
        },
        {},
        now,
    )
    reply.practice_id = p.id
    session.add(reply)
    return p


@forum_group.command("capture")
async def forum_capture(
    ctx: Context,
    reply: Annotated[
        int, Opt(help="the reply's id, like R12", converter=parse_reply_id, metavar="REPLY", suggest="reply")
    ],
    *,
    title: Annotated[str | None, Opt(help="a short name for the practice", max_length=200)] = None,
    what: Annotated[str | None, Opt(help=REWORD, long=True, label="What you did")] = None,
    attribution: Annotated[Attribution | None, Opt(help="named, role or anonymous")] = None,
    role_description: Annotated[
        str, Opt(help="how to describe you if credited by role", max_length=200)
    ] = "",
) -> Reply:
    """Turn a forum reply into a shared practice. The reply's author decides how they are credited.

    Your own reply opens the practice form, filled in. Someone else's: they are asked first, and nothing
    is saved until they answer.
    Example: forum capture R12
    """
    member, now = ctx.member, ctx.now()

    def apply(session: Session) -> Reply:
        row = session.get(ForumReply, reply)
        if row is None:
            raise NotFound(f"There is no forum reply R{reply}.")
        occ = session.get(ForumOccurrence, row.occurrence_id)
        author = session.get(MemberRecord, row.member_id)
        assert occ is not None and author is not None
        if row.practice_id is not None:
            raise CommandError(f"R{reply} is already saved as practice P{row.practice_id}.")
        if author.key == member.key:
            if attribution is None:
                cmd = ctx.services.registry.commands["forum capture"]
                return Reply(
                    "Check the practice and choose how you are credited, then submit.",
                    form=cmd.to_form(
                        {"reply": f"R{reply}", "title": practices.title_from_text(row.text), "what": row.text}
                    ),
                )
            if attribution is Attribution.ROLE and not role_description.strip():
                raise ArgumentError(
                    "--role-description is needed when attribution is role, e.g. "
                    '--role-description "a chief of staff in a large city"',
                    "role_description",
                )
            p = _capture(
                session,
                row,
                occ,
                author,
                title=title or practices.title_from_text(row.text),
                what=what or row.text,
                attribution=attribution,
                role_description=role_description,
                now=ctx.now(),
            )
            named = attribution is Attribution.NAMED  # a confirmation in the channel would name the author
            note = still_visible(attribution, f"P{p.id}", IN_THREAD) if (what or row.text) == row.text else ""
            return Reply(
                f"Saved P{p.id}: {p.title}, from the open forum of {occ.slot}. "
                f"Credited as: {practices.attribution_text(p)}.{note}",
                visibility=Visibility.PUBLIC if named else Visibility.PRIVATE,
            )
        existing = (
            session.execute(select(CaptureRequest).where(col(CaptureRequest.reply_id) == reply))
            .scalars()
            .first()
        )
        if existing is not None:
            raise CommandError(f"{mention(author.as_member())} has already been asked about R{reply}.")
        asker = ensure_member(session, member)
        request = CaptureRequest(reply_id=reply, requested_by=asker.id)
        session.add(request)
        session.flush()
        excerpt = " ".join(row.text.split())[:200]
        plan_notice(
            session,
            f"forum:capture:{request.id}",
            now,
            platform=author.platform,
            user_id=author.user_id,
            workspace=author.workspace,
            text=(
                f"{mention(member)} would like to save what you shared in the open forum of {occ.slot} as a "
                f'shared practice: "{excerpt}"\nNothing is saved unless you agree. This is request '
                f"C{request.id}. How should you be credited? Press a button, or type one of: forum consent "
                f"C{request.id} named, forum consent C{request.id} role --role-description "
                f'"a city manager", forum consent C{request.id} anonymous, forum consent C{request.id} no.'
                "\nIf you choose role only or anonymous: your reply stays in the thread under "
                "your name, so its exact words point to you. To save it reworded, answer with: forum "
                f'consent C{request.id} anonymous --what "your reworded text" (or role, with '
                "--role-description)."
            ),
            choices=[
                ("Named", f"forum consent C{request.id} named"),
                ("Role only", f"forum consent C{request.id} role"),
                ("Anonymous", f"forum consent C{request.id} anonymous"),
                ("No thanks", f"forum consent C{request.id} no"),
            ],
            expires=timedelta(days=7),
        )
        return Reply(
            f"Asked {mention(author.as_member())} whether R{reply} may be saved as a practice, "
            "and how they want to be credited. Nothing is saved until they answer."
        )

    result = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    return result


def parse_request_id(raw: str) -> int:
    value = raw.strip().lstrip("#")
    value = value[1:] if value[:1] in "Cc" else value
    if not value.isdigit():
        raise ValueError(f"{raw!r} is not a request id; they look like C4")
    return int(value)


@forum_group.command("consent")
async def forum_consent(
    ctx: Context,
    request: Annotated[
        int,
        Opt(
            help="the request's id, like C4",
            converter=parse_request_id,
            metavar="REQUEST",
            suggest="capture-request",
        ),
    ],
    answer: Annotated[Consent, Opt(help="named, role, anonymous, or no")],
    *,
    role_description: Annotated[
        str, Opt(help="how to describe you if credited by role", max_length=200)
    ] = "",
    what: Annotated[str | None, Opt(help=REWORD, long=True, label="What you did")] = None,
) -> Reply:
    """Answer a request to save your forum reply as a practice.

    Your reply stays in the thread under your name: to be credited by role or anonymously, you may save it
    reworded with --what.
    Example: forum consent C4 role --role-description "a city manager in the Midwest"
    """
    member = ctx.member

    def apply(session: Session) -> Reply:
        req = session.get(CaptureRequest, request)
        if req is None:
            raise NotFound(f"There is no request C{request}.")
        row = session.get(ForumReply, req.reply_id)
        assert row is not None
        author = session.get(MemberRecord, row.member_id)
        occ = session.get(ForumOccurrence, row.occurrence_id)
        assert author is not None and occ is not None
        attribution = consent_answer(
            member, author, req.state, answer, role_description, f"forum consent C{request}"
        )
        if attribution is None:
            req.state = "declined"
            session.add(req)
            return Reply("Understood: your reply is not saved as a practice.")
        words = (what or "").strip() or row.text
        p = _capture(
            session,
            row,
            occ,
            author,
            title=practices.title_from_text(words),
            what=words,
            attribution=attribution,
            role_description=role_description,
            now=ctx.now(),
        )
        req.state = "accepted"
        session.add(req)
        note = still_visible(attribution, f"P{p.id}", IN_THREAD) if words == row.text else ""
        return Reply(
            f"Thank you. Saved as P{p.id}: {p.title}. Credited as: {practices.attribution_text(p)}. "
            f"Change it with: practice edit P{p.id}{note}"
        )

    return await ctx.store.run(apply)


class InviteChoice(str, Enum):
    ON = "on"
    OFF = "off"
    DECLINE = "decline"


@forum_group.command("invites")
async def forum_invites(
    ctx: Context, choice: Annotated[InviteChoice, Opt(help="on, off, or decline (this time)")]
) -> Reply:
    """Turn on or off the invitation to write up your practice after each forum.

    Example: forum invites off
    """
    if choice is InviteChoice.DECLINE:
        return Reply("No problem; nothing more about this one.")
    member = ctx.member

    def apply(session: Session) -> None:
        record = ensure_member(session, member)
        profile = session.get(MemberProfile, record.id) or MemberProfile(member_id=record.id or 0)
        profile.forum_invites = choice is InviteChoice.ON
        session.add(profile)

    await ctx.store.run(apply)
    if choice is InviteChoice.OFF:
        return Reply(
            "You will not be invited to write up practices after forums. Undo with: forum invites on"
        )
    return Reply("You will be invited to write up your practice after each forum you take part in.")


@forum_group.command("reminders")
async def forum_reminders(ctx: Context, choice: Annotated[OnOff, Opt(help="on or off")]) -> Reply:
    """Get the open forum's reminders (the day before, the hour before) by direct message too, in your zone.

    They follow your DM choices: none while `me reminders` is off, and none during your quiet hours.
    Example: forum reminders on
    """
    member, on = ctx.member, choice is OnOff.ON

    def apply(session: Session) -> bool:
        record = ensure_member(session, member)
        profile = session.get(MemberProfile, record.id) or MemberProfile(member_id=record.id or 0)
        profile.forum_reminders = on
        session.add(profile)
        return profile.dm_reminders

    dm_on = await ctx.store.run(apply)
    if not on:
        return Reply(
            "You will not get the open forum's reminders by direct message. Undo with: forum reminders on"
        )
    note = "" if dm_on else " Your reminders by direct message are off, though: turn them on: me reminders on"
    return Reply(
        "You will get the open forum's reminders by direct message, the day before and an hour "
        "before, in your time zone and outside your quiet hours." + note
    )


# ---- history ---------------------------------------------------------------------------------------


@forum_group.command("history")
async def forum_history(
    ctx: Context, *, count: Annotated[int, Opt(help="how many", min=1, max=50)] = 10
) -> Reply:
    """List past open forums with their topic, participants and practices."""
    now = ctx.now()

    def load(session: Session) -> tuple[list[forum.OccurrenceFacts], str]:
        past = (
            session.execute(
                select(ForumOccurrence)
                .where(col(ForumOccurrence.starts_at) <= now)
                .order_by(col(ForumOccurrence.starts_at).desc())
                .limit(count)
            )
            .scalars()
            .all()
        )
        return [forum.facts(session, o) for o in past], _zone(ctx, session)

    past, tz = await ctx.store.run(load)
    if not past:
        return Reply("No forum has taken place yet. See: forum next")
    items = tuple(
        Item(
            title=f"Open forum {f.occ.slot}: {f.occ.topic_text or '—'}",
            ref=f.occ.slot,
            fields=(
                ("When", forum.local(f.occ.starts_at, tz)),
                ("Status", f.occ.status),
                ("Took part", str(f.participants)),
                ("Practices", str(len(f.practices))),
            ),
            choices=(Choice("Show", f"forum show {f.occ.slot}"),),
        )
        for f in past
    )
    return Reply(f"The last {counted(len(items), 'forum')}:", items=items)


@forum_group.command("show")
async def forum_show(ctx: Context, date: ForumDate) -> Reply:
    """Show one forum: topic, time, who took part, practices captured, resources mentioned.

    Example: forum show 2026-03-03
    """

    def load(session: Session) -> tuple[forum.OccurrenceFacts, str]:
        return forum.facts(session, _occurrence(session, date)), _zone(ctx, session)

    f, tz = await ctx.store.run(load)
    facts = [
        ("When", forum.local(f.occ.starts_at, tz)),
        ("Status", f.occ.status),
        ("Topic", f.occ.topic_text or "—"),
        ("Took part", f"{counted(f.participants, 'member')}"),
    ]
    if f.occ.thread_link:
        facts.append(("Thread", f.occ.thread_link))
    if f.resources or f.links:
        facts.append(("Resources mentioned", "; ".join(f.mentioned())))
    items = tuple(
        Item(
            title=p.title,
            ref=f"P{p.id}",
            fields=(("Shared by", practices.attribution_text(p)),),
            choices=(Choice("Show", f"practice show P{p.id}"),),
        )
        for p in f.practices
    )
    return Reply(f"Open forum {f.occ.slot}", fields=tuple(facts), items=items)


def thread_reply(session: Session, member: Member, place: Place, text: str, link: str, now: datetime) -> bool:
    """A member wrote in a thread on their platform: record it if that thread is the open forum's."""
    if not place.thread_id or not text.strip():
        return False
    occ = _open_occurrence(session, now)
    if occ is None:
        return False
    in_main = occ.thread_id == place.thread_id and (occ.thread_platform or place.platform) == place.platform
    if not in_main and not _in_workspace_thread(session, occ, place):
        return False
    record_reply(session, occ, member, text.strip()[:4000], link, now)
    return True


def _in_workspace_thread(session: Session, occ: ForumOccurrence, place: Place) -> bool:
    """Is `place` the thread this forum opened in a workspace's own channel (forum channel)?"""
    found = session.execute(
        select(col(ForumThread.id)).where(
            col(ForumThread.occurrence_id) == occ.id,
            col(ForumThread.platform) == place.platform,
            col(ForumThread.thread_id) == place.thread_id,
        )
    ).first()
    return found is not None
