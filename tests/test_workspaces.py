"""Identity scoped by workspace (issue 12): a Slack member is (workspace, user id).

At the real boundary, signed requests from another workspace are refused and change nothing; in the core,
the same user id in another workspace is another member with its own role; COPBOT_ADMINS keeps its old
form; and a database made before workspaces were stored is migrated and then adopted by the Slack start.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from bot.app import build_app
from bot.config import ConfigError, load_settings
from bot.messages import Incoming, Member, Place, Reply
from bot.store.db import current_revision, make_engine, upgrade
from bot.store.models import AuditEntry
from tests import fake_slack as fs
from tests.conftest import PG_URL
from tests.test_slack_adapter import SlackWorld, slack, slack_world  # noqa: F401 - `slack` is a fixture

TEAM, ELSEWHERE = fs.TEAM, fs.OTHER_TEAM


# ---- the Slack boundary ---------------------------------------------------------------------------------


def _form(command: str) -> dict[str, Any]:
    """A modal as the bot opens it, for a command whose fields are `member` and `role`."""
    return {
        "type": "modal",
        "callback_id": "copbot_form",
        "private_metadata": json.dumps({"command": command}),
        "blocks": [
            {"type": "input", "block_id": "member", "element": {"type": "plain_text_input"}},
            {"type": "input", "block_id": "role", "element": {"type": "plain_text_input"}},
        ],
    }


def _from_elsewhere(command: str) -> list[fs.Request]:
    """One request of every kind, each from the admin's user id but another workspace."""
    return [
        fs.slash_command(command, team=ELSEWHERE),
        fs.app_mention(f"<@{fs.BOT_USER}> {command}", team=ELSEWHERE),
        fs.message(command, team=ELSEWHERE),
        fs.home_opened(team=ELSEWHERE),
        fs.block_action(command, team=ELSEWHERE),
        fs.message_action("We publish a one-page budget explainer.", team=ELSEWHERE),
        fs.global_shortcut(team=ELSEWHERE),
        fs.view_submission(
            _form("role grant"),
            {"member": fs.text_value("<@U0BOB>"), "role": fs.text_value("admin")},
            team=ELSEWHERE,
        ),
    ]


async def test_requests_from_another_workspace_are_refused_and_grant_nothing(
    slack: SlackWorld,  # noqa: F811 - the fixture
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    grant = "role grant <@U0BOB> admin"
    for _ in range(3):  # the report: 3 of 3 tries granted roles
        status, body = await slack.send(
            fs.slash_command(grant, team=ELSEWHERE, response_url=slack.fake.response_url())
        )
        assert status == 200 and body == "This app does not serve this workspace; nothing was done."
    for request in _from_elsewhere(grant):
        assert (await slack.send(request))[0] == 200
    await slack.settle()
    for table in ("role_grant", "member", "audit_log", "practice", "practice_proposal"):
        assert await slack.count(table) == 0, table
    # The replay guard remembers each signed request by its signature (it names nobody), before the
    # workspace is looked at; nothing else is kept.
    from sqlalchemy import text

    kept = await slack.app.store.run(
        lambda s: s.execute(text("SELECT event_id FROM processed_event")).scalars().all()
    )
    assert all(key.startswith("signed:") for key in kept), kept
    assert [c.method for c in slack.fake.calls if c.method != "auth.test"] == []  # (bolt's own auth check)
    assert slack.fake.responses == []
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 3 + 8
    assert refusals[0] == (
        f"Slack: refused a request (slash command) from workspace {ELSEWHERE} "
        f"(this installation serves {TEAM})"
    )
    assert {m.split("(")[1].split(")")[0] for m in refusals} == {
        "slash command",
        "app_mention event",
        "message event",
        "app_home_opened event",
        "block_actions",
        "message_action",
        "shortcut",
        "view_submission",
    }
    assert "role grant" not in caplog.text and "budget explainer" not in caplog.text  # no body is logged
    # The same request from the workspace this installation serves is the admin's: the refusal above is real.
    await slack.cop(grant)
    assert await slack.count("role_grant") == 1 and "is now admin" in slack.last_response()["text"]


async def test_members_and_grants_carry_the_workspace(slack: SlackWorld) -> None:  # noqa: F811
    await slack.cop("role grant <@U0BOB|bob> coordinator")
    rows = await slack.app.store.run(
        lambda s: s.execute(text("SELECT platform, workspace, user_id FROM role_grant")).all()
    )
    assert [tuple(r) for r in rows] == [("slack", TEAM, "U0BOB")]
    members = await slack.app.store.run(
        lambda s: s.execute(text("SELECT DISTINCT workspace FROM member")).scalars().all()
    )
    assert members == [TEAM]
    await slack.cop("role list", user="U0BOB", name="bob")
    assert f"slack:{TEAM}:U0BOB" in slack.last_response()["text"]


async def test_an_org_wide_install_serves_every_workspace_of_its_org_and_no_other(
    database_url: str, tmp_path: Path
) -> None:
    installed = {"team_id": None, "enterprise_id": "E0STATEGOV", "is_enterprise_install": True}
    async with slack_world(database_url, tmp_path, installed=installed) as world:
        await world.send(
            fs.slash_command(
                "role grant <@U0BOB|bob> coordinator",
                team="T0AGENCY2",
                enterprise="E0STATEGOV",
                response_url=world.fake.response_url(),
            )
        )
        await world.settle()
        assert "<@U0BOB> is now coordinator" in world.last_response()["text"]
        status, body = await world.send(
            fs.slash_command("role grant <@U0CY|cy> admin", team="T0AGENCY2", enterprise="E0ELSEWHR")
        )
        assert status == 200 and "does not serve" in body
        await world.settle()
        rows = await world.app.store.run(
            lambda s: s.execute(text("SELECT workspace, user_id FROM role_grant")).all()
        )
        assert [tuple(r) for r in rows] == [("E0STATEGOV", "U0BOB")]


# ---- the core: roles on (platform, workspace, user id) --------------------------------------------------


@pytest.fixture
async def grid(database_url: str, tmp_path: Path) -> Any:
    settings = load_settings(
        _env_file=None,
        database_url=database_url,
        data_dir=tmp_path / "data",
        admins=f"console:root,slack:U0ANA,slack:{ELSEWHERE}:U0DEE",
    )
    app = build_app(settings)
    await app.serve_workspace("slack", TEAM)
    yield app
    app.close()


async def _say(app: Any, who: Member, words: str) -> Reply:
    [reply] = await app.dispatch(Incoming(member=who, place=Place("slack", "C0GENERAL"), text=words))
    return reply


async def test_an_admins_user_id_from_another_workspace_is_not_an_admin(grid: Any) -> None:
    ana_here = Member("slack", "U0ANA", "Ana", TEAM)
    ana_elsewhere = Member("slack", "U0ANA", "Ana", ELSEWHERE)
    assert not (await _say(grid, ana_here, "role list")).is_error
    refused = await _say(grid, ana_elsewhere, "role grant slack:U0BOB admin")
    assert refused.is_error and "you are a member" in refused.text
    # a COPBOT_ADMINS entry naming its workspace is an admin there only
    assert not (await _say(grid, Member("slack", "U0DEE", "Dee", ELSEWHERE), "role list")).is_error
    assert (await _say(grid, Member("slack", "U0DEE", "Dee", TEAM), "role list")).is_error
    assert await grid.store.run(lambda s: s.execute(text("SELECT count(*) FROM role_grant")).scalar()) == 0


async def test_the_same_user_id_in_another_workspace_has_its_own_role(grid: Any) -> None:
    ana = Member("slack", "U0ANA", "Ana", TEAM)
    granted = await _say(grid, ana, f"role grant slack:{ELSEWHERE}:U0BOB coordinator")
    assert "is now coordinator" in granted.text
    assert not (await _say(grid, Member("slack", "U0BOB", "Bob", ELSEWHERE), "role list")).is_error
    assert (await _say(grid, Member("slack", "U0BOB", "Bob", TEAM), "role list")).is_error
    # an id written without a workspace (as buttons made before this change) means the served workspace
    await _say(grid, ana, "role grant slack:U0CY coordinator")
    assert not (await _say(grid, Member("slack", "U0CY", "Cy", TEAM), "role list")).is_error
    listed = (await _say(grid, ana, "role list")).plain_text()
    assert f"slack:{ELSEWHERE}:U0BOB" in listed and f"slack:{TEAM}:U0CY" in listed
    assert f"slack:{TEAM}:U0ANA" in listed  # the admin from configuration, in the workspace served


def test_copbot_admins_accepts_both_forms_and_explains_a_bad_entry(tmp_path: Path) -> None:
    settings = load_settings(
        _env_file=None, data_dir=tmp_path, admins=f"slack:U0ANA, slack:{ELSEWHERE}:U0DEE,console:me"
    )
    assert settings.bootstrap_admins == {
        ("slack", "", "U0ANA"),
        ("slack", ELSEWHERE, "U0DEE"),
        ("console", "", "me"),
    }
    settings.serve_workspace("slack", TEAM)
    assert ("slack", TEAM, "U0ANA") in settings.bootstrap_admins
    assert settings.is_bootstrap_admin(Member("slack", "U0ANA", workspace=TEAM))
    assert not settings.is_bootstrap_admin(Member("slack", "U0ANA", workspace=ELSEWHERE))
    for bad in ("slack", "slack:", "slack:T1:U2:x", "slack::U2"):
        with pytest.raises(ConfigError) as err:
            load_settings(_env_file=None, data_dir=tmp_path, admins=bad)
        assert "COPBOT_ADMINS" in str(err.value) and "slack:T0123ABCD:U045EF6GH" in str(err.value)


# ---- the migration --------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database nothing has been applied to yet, of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    request.getfixturevalue("postgres_url")  # skips, or fails under COPBOT_REQUIRE_POSTGRES, without a server
    admin_url = make_url(PG_URL)
    admin = make_engine(admin_url.render_as_string(hide_password=False))
    name = f"copbot_migration_{uuid.uuid4().hex[:10]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


_BEFORE = """
INSERT INTO member (id, platform, user_id, display_name, created_at) VALUES
  (1, 'slack', 'U0ANA', 'Ana', :now), (2, 'slack', 'U0BOB', 'Bob', :now),
  (3, 'console', 'root', 'Root', :now);
INSERT INTO role_grant (platform, user_id, scope, role, granted_by, granted_at) VALUES
  ('slack', 'U0BOB', 'community', 1, 'Ana', :now), ('console', 'cora', 'community', 1, 'test', :now);
INSERT INTO audit_log (at, platform, user_id, actor_name, action, detail) VALUES
  (:now, 'slack', 'U0ANA', 'Ana', 'role grant', 'slack:U0BOB (Bob) member -> coordinator');
INSERT INTO unreachable_member (platform, user_id, reason, first_at, last_at, failures) VALUES
  ('slack', 'U0BOB', 'cannot_dm_bot', :now, :now, 1);
INSERT INTO forum_settings (cadence, platform, channel_id, facilitator_platform, facilitator_user_id,
  facilitator_name, announce_days, prompt, join_info, holiday_country, updated_at) VALUES
  ('', 'slack', 'C0FORUM', 'slack', 'U0ANA', 'Ana', 7, '', '', 'US', :now);
"""

_IDENTITIES = {
    "member": "SELECT platform, workspace, user_id FROM member",
    "role_grant": "SELECT platform, workspace, user_id FROM role_grant",
    "audit_log": "SELECT platform, workspace, user_id FROM audit_log",
    "unreachable_member": "SELECT platform, workspace, user_id FROM unreachable_member",
    "forum_settings": "SELECT facilitator_platform, facilitator_workspace, facilitator_user_id "
    "FROM forum_settings",
}


def _head(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    from bot.store.db import alembic_config

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def _identities(session: Session) -> dict[str, list[tuple[str, ...]]]:
    return {table: sorted(tuple(r) for r in session.execute(text(sql))) for table, sql in _IDENTITIES.items()}


async def test_a_database_from_before_workspaces_is_migrated_and_adopted_by_the_slack_start(
    empty_database: str, tmp_path: Path
) -> None:
    engine = make_engine(empty_database)
    upgrade(engine, "0010")
    with engine.begin() as conn:
        for statement in filter(str.strip, _BEFORE.split(";")):
            conn.execute(
                text(statement).bindparams(bindparam("now", type_=DateTime(timezone=True))),
                {"now": datetime(2026, 1, 5, 10, 0, tzinfo=UTC)},
            )
    upgrade(engine)
    assert current_revision(engine) == _head(engine)
    with Session(engine) as session:
        before = _identities(session)
    assert before["member"] == [("console", "", "root"), ("slack", "", "U0ANA"), ("slack", "", "U0BOB")]
    engine.dispose()

    settings = load_settings(
        _env_file=None,
        database_url=empty_database,
        data_dir=tmp_path / "data",
        admins="console:root,slack:U0ANA",
    )
    app = build_app(settings)
    try:
        # Typed before Slack ever started on this version: an id with no known workspace yet.
        root = Member("console", "root", "Root")
        await app.dispatch(
            Incoming(
                member=root, place=Place("console", "general"), text=f"role grant slack:{TEAM}:U0BOB admin"
            )
        )
        await app.serve_workspace("slack", TEAM)  # what the Slack adapter does once auth.test answers
        after = await app.store.run(_identities)
        assert after["member"] == [
            ("console", "", "root"),
            ("slack", TEAM, "U0ANA"),
            ("slack", TEAM, "U0BOB"),
        ]
        # Bob's old grant and the one just made name the same person: the new one stays, the old keeps ""
        assert after["role_grant"] == [
            ("console", "", "cora"),
            ("slack", "", "U0BOB"),
            ("slack", TEAM, "U0BOB"),
        ]
        assert ("slack", TEAM, "U0ANA") in after["audit_log"]
        assert after["unreachable_member"] == [("slack", TEAM, "U0BOB")]
        assert after["forum_settings"] == [("slack", TEAM, "U0ANA")]
        bob = Member("slack", "U0BOB", "Bob", TEAM)
        assert not (await _say(app, bob, "role list")).is_error
    finally:
        app.close()


async def test_forgetting_a_slack_member_scrubs_their_ids_old_and_new_and_no_one_elses(grid: Any) -> None:
    ana, bob = Member("slack", "U0ANA", "Ana", TEAM), Member("slack", "U0BOB", "Bob", TEAM)
    await _say(grid, ana, "role grant slack:U0BOB coordinator")
    await _say(grid, ana, "role grant slack:U0BOBBY coordinator")

    def legacy(session: Session) -> None:  # written before ids carried a workspace
        session.add(
            AuditEntry(
                platform="slack",
                user_id="U0ANA",
                actor_name="Ana",
                action="role grant",
                detail="slack:U0BOB (Bob) member -> coordinator",
            )
        )

    await grid.store.run(legacy)
    await _say(grid, bob, "me timezone Europe/London")  # now copbot stores something about Bob
    assert "forgotten you" in (await _say(grid, bob, "me forget --confirm")).text
    details = await grid.store.run(lambda s: s.execute(text("SELECT detail FROM audit_log")).scalars().all())
    assert "a forgotten member member -> coordinator" in details
    assert not any("U0BOB " in d or d.startswith(f"slack:{TEAM}:U0BOB (") for d in details)
    assert any(d.startswith(f"slack:{TEAM}:U0BOBBY") for d in details)  # another member's id stays
