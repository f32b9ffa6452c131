"""The Slack renderer: Block Kit replies, modals from forms and back, field errors, the app manifest."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from adapters.slack.render import (
    BOT_SCOPES,
    field_errors,
    form_to_modal,
    manifest,
    modal_metadata,
    modal_values,
    render_reply,
    time_tokens,
)
from bot.app import build_registry
from bot.commands import ArgumentError
from bot.messages import Choice, FieldKind, Item, Reply
from bot.messenger import render_times, time_mark

WHEN = datetime(2027, 3, 14, 15, 0, tzinfo=UTC)


def _valid_blocks(blocks: list[dict[str, Any]]) -> None:
    for block in Block.parse_all(blocks):
        block.validate_json()  # slack_sdk's own Block Kit limits


def _buttons(rendered: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in rendered["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_fallback_text_is_the_plain_text_with_times_rendered() -> None:
    reply = Reply(
        text=f"Forum on {time_mark(WHEN)}",
        fields=(("Where", "Zoom"),),
        items=(Item("Budget circles", "we met", (("Level", "local"),), ref="P1"),),
        choices=(Choice("RSVP yes", "convening rsvp 3 yes", "primary"),),
        footer="Say help for more",
    )
    out = render_reply(reply, tz_fallback="America/Chicago")
    assert out["text"] == render_times(reply.plain_text(), "America/Chicago")
    assert "Sun 14 Mar 2027, 10:00 CDT" in out["text"]
    assert out["blocks"][-1]["type"] == "context"
    _valid_blocks(out["blocks"])


def test_buttons_carry_commands_with_unique_action_ids_and_style_only_when_set() -> None:
    items = tuple(Item(f"P{n}", choices=(Choice("Open", f"practice show P{n}"),)) for n in range(3))
    reply = Reply(
        text="Found",
        items=items,
        choices=(
            Choice("Delete", "practice delete P1", "danger"),
            Choice("More", "practice search --page 2"),
        ),
    )
    buttons = _buttons(render_reply(reply))
    assert [b["value"] for b in buttons] == [
        "practice show P0",
        "practice show P1",
        "practice show P2",
        "practice delete P1",
        "practice search --page 2",
    ]
    assert len({b["action_id"] for b in buttons}) == len(buttons)
    assert all(b["action_id"].startswith("copbot:") for b in buttons)
    assert buttons[3]["style"] == "danger" and "style" not in buttons[0]


def test_many_choices_split_into_actions_blocks_of_at_most_25() -> None:
    reply = Reply(text="Pick", choices=tuple(Choice(str(n), f"datepoll vote {n}") for n in range(30)))
    out = render_reply(reply)
    actions = [b for b in out["blocks"] if b["type"] == "actions"]
    assert [len(b["elements"]) for b in actions] == [25, 5]
    _valid_blocks(out["blocks"])


def test_sixty_items_fit_in_fifty_blocks_with_and_n_more() -> None:
    items = tuple(
        Item(f"Practice {n}", "body", choices=(Choice("Open", f"practice show P{n}"),)) for n in range(60)
    )
    out = render_reply(Reply(text="Results", items=items, footer="page 1"))
    assert len(out["blocks"]) <= 50
    shown = sum(
        1 for b in out["blocks"] if b["type"] == "section" and b["text"]["text"].startswith("*Practice")
    )
    more = [b for b in out["blocks"] if b["type"] == "context" and "more" in b["elements"][0]["text"]]
    assert more and more[0]["elements"][0]["text"] == f"…and {60 - shown} more"
    assert out["blocks"][-1]["elements"][0]["text"] == "page 1"
    assert "60. Practice 59" in out["text"]  # the fallback still has everything
    _valid_blocks(out["blocks"])


def test_bold_converted_and_user_text_escaped_but_date_tokens_kept() -> None:
    reply = Reply(text=f"**Saved** <script>alert(1)</script> & {time_mark(WHEN)}")
    section = render_reply(reply)["blocks"][0]["text"]["text"]
    assert section.startswith("*Saved* &lt;script&gt;alert(1)&lt;/script&gt; &amp; ")
    assert (
        f"<!date^{int(WHEN.timestamp())}^{{date_short_pretty}} {{time}}|Sun 14 Mar 2027, 15:00 UTC>"
        in section
    )
    assert "<script>" not in render_reply(reply)["text"]


def test_time_tokens_use_format_in_zone_for_the_fallback() -> None:
    ts = int(WHEN.timestamp())
    assert time_tokens(f"at {time_mark(WHEN)}.", "America/Chicago") == (
        f"at <!date^{ts}^{{date_short_pretty}} {{time}}|Sun 14 Mar 2027, 10:00 CDT>."
    )


def test_long_text_truncated_to_3000_without_breaking_tokens() -> None:
    out = render_reply(Reply(text="x" * 2990 + time_mark(WHEN) + "y" * 100))
    text = out["blocks"][0]["text"]["text"]
    assert len(text) <= 3000 and text.endswith("…") and "<!date" not in text
    _valid_blocks(out["blocks"])


def test_practice_share_form_becomes_a_valid_modal() -> None:
    registry = build_registry()
    form = registry.commands["practice share"].to_form({"attribution": "role", "sectors": ["public"]})
    modal = form_to_modal(form, private_metadata="C123")
    View(**modal).validate_json()
    assert len(modal["title"]["text"]) <= 24
    assert [b["block_id"] for b in modal["blocks"]] == [f.name for f in form.fields]
    by_id = {b["block_id"]: b for b in modal["blocks"]}
    assert by_id["frameworks"]["element"]["type"] == "multi_static_select"
    assert by_id["sectors"]["element"]["type"] == "multi_static_select"
    assert by_id["sectors"]["element"]["initial_options"][0]["value"] == "public"
    assert by_id["attribution"]["element"]["initial_option"]["value"] == "role"
    assert by_id["what"]["element"]["multiline"] is True
    for f in form.fields:
        assert by_id[f.name]["optional"] is (not f.required)
        assert by_id[f.name]["element"]["action_id"] == "value"
    assert modal_metadata(modal["private_metadata"]) == {"command": "practice share", "meta": "C123"}


def _slack_state(modal: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """A view.state as Slack sends it on view_submission, from the modal's own elements."""
    values: dict[str, Any] = {}
    for block in modal["blocks"]:
        el = block["element"]
        answer = answers.get(block["block_id"])
        state: dict[str, Any] = {"type": el["type"]}
        if el["type"] in ("plain_text_input", "number_input"):
            state["value"] = answer
        elif el["type"] == "static_select":
            state["selected_option"] = next((o for o in el["options"] if o["value"] == answer), None)
        elif el["type"] == "multi_static_select":
            state["selected_options"] = [o for o in el["options"] if o["value"] in (answer or [])]
        elif el["type"] == "checkboxes":
            state["selected_options"] = el["options"] if answer else []
        values[block["block_id"]] = {el["action_id"]: state}
    return {"values": values}


def test_modal_values_round_trip_is_accepted_by_the_core() -> None:
    registry = build_registry()
    cmd = registry.commands["practice share"]
    modal = form_to_modal(cmd.to_form())
    state = _slack_state(
        modal,
        {
            "title": "Budget circles",
            "what": "We ran <b>circles</b>.",
            "attribution": "anonymous",
            "sectors": ["public", "nonprofit"],
            "frameworks": ["systems-thinking"],
            "tags": "budgeting,equity",
        },
    )
    values = modal_values(state)
    assert values["sectors"] == ["public", "nonprofit"] and values["region"] is None
    parsed = registry.bind_values(cmd, values, {})
    assert parsed.args["title"] == "Budget circles"
    assert [str(getattr(s, "value", s)) for s in parsed.args["sectors"]] == ["public", "nonprofit"]
    assert parsed.args["tags"] == ["budgeting", "equity"]
    assert modal_values(state["values"]) == values  # the bare values dict works too


def test_every_form_in_the_registry_renders_and_round_trips_kinds() -> None:
    registry = build_registry()
    for cmd in registry:
        modal = form_to_modal(cmd.to_form())
        View(**modal).validate_json()
        for block, field in zip(modal["blocks"], cmd.to_form().fields):
            if field.kind is FieldKind.FLAG:
                state = _slack_state({"blocks": [block]}, {field.name: True})
                assert modal_values(state) == {field.name: True}


def test_field_errors_shape_and_missing_required_field() -> None:
    registry = build_registry()
    cmd = registry.commands["practice share"]
    try:
        registry.bind_values(cmd, {"title": "x", "attribution": "named"}, {})
    except ArgumentError as exc:
        reply = Reply(text=str(exc), is_error=True, error_field=exc.field)
    else:
        raise AssertionError("missing --what should fail")
    body = field_errors(reply)
    assert body is not None and body["response_action"] == "errors"
    assert list(body["errors"]) == ["what"] and 0 < len(body["errors"]["what"]) <= 150
    assert field_errors(Reply(text="oops", is_error=True)) is None
    assert field_errors(Reply(text="fine", error_field="what")) is None


def test_manifest_has_the_command_shortcuts_and_only_the_used_scopes() -> None:
    m = manifest(build_registry())
    assert json.loads(json.dumps(m)) == m
    slash = m["features"]["slash_commands"]
    assert [s["command"] for s in slash] == ["/cop"] and 0 < len(slash[0]["usage_hint"]) <= 100
    assert "practice" in slash[0]["usage_hint"]
    shortcuts = {s["callback_id"]: s for s in m["features"]["shortcuts"]}
    save, share = shortcuts["practice.from-message"], shortcuts["practice.share"]
    assert save["type"] == "message" and save["name"] == "Save as practice"
    assert share["type"] == "global" and share["name"] == "Share a practice"
    assert sorted(m["oauth_config"]["scopes"]["bot"]) == sorted(
        [
            "commands",
            "chat:write",
            "im:write",
            "im:history",
            "app_mentions:read",
            "users:read",
            "channels:history",
            "files:write",
            "links:read",  # link_shared: copbot's own page links pasted in a channel unfurl into cards
            "links:write",
        ]
    )
    # message.channels: replies in the forum thread are recorded; the scope is channels:history
    assert set(m["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "app_mention",
        "link_shared",
        "message.channels",
        "message.im",
    }
    assert set(BOT_SCOPES) == set(m["oauth_config"]["scopes"]["bot"])
    settings = m["settings"]
    assert sorted(settings["event_subscriptions"]["bot_events"]) == [
        "app_home_opened",
        "app_mention",
        "link_shared",
        "message.channels",
        "message.im",
    ]
    assert settings["interactivity"]["is_enabled"] and settings["socket_mode_enabled"]
    assert settings["org_deploy_enabled"] is False
    assert m["features"]["app_home"]["home_tab_enabled"] and m["features"]["app_home"]["messages_tab_enabled"]
    assert "unfurl_domains" not in m["features"]
    assert manifest(build_registry(), unfurl_domain="cop.example.org")["features"]["unfurl_domains"] == [
        "cop.example.org"
    ]


def test_http_manifest_carries_the_request_url() -> None:
    m = manifest(build_registry(), socket_mode=False, request_url="https://cop.example.org/slack/events")
    assert m["settings"]["socket_mode_enabled"] is False
    assert m["features"]["slash_commands"][0]["url"] == "https://cop.example.org/slack/events"
    assert m["settings"]["interactivity"]["request_url"] == "https://cop.example.org/slack/events"
