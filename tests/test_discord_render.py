"""The Discord renderer builds real discord.py objects and payloads within Discord's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import discord
import pytest

from adapters.discord.commands import (
    BOOLEAN,
    INTEGER,
    STRING,
    SUB_COMMAND,
    SUB_COMMAND_GROUP,
    DiscordLimitError,
    command_tree_payload,
    slash_options,
)
from adapters.discord.render import command_for_custom_id, form_to_modals, modal_values, render_reply
from bot.app import build_registry
from bot.messages import Choice, FieldKind, Item, Reply, Visibility
from bot.messenger import time_mark

REGISTRY = build_registry()


def _inputs(modal: discord.ui.Modal) -> list[discord.ui.Item]:
    return [child.component for child in modal.children]  # type: ignore[attr-defined]


def test_time_markers_become_discord_timestamps_and_bold_is_kept() -> None:
    when = datetime(2026, 3, 3, 17, 0, tzinfo=UTC)
    reply = Reply(f"**Forum** opens {time_mark(when)}", fields=(("When", time_mark(when)),))
    out = render_reply(reply)
    stamp = f"<t:{int(when.timestamp())}:f>"
    assert out.content == f"**Forum** opens {stamp}"
    assert out.embeds[0].fields[0].value == stamp


def test_eleven_items_give_ten_embeds_and_a_note() -> None:
    items = tuple(
        Item(f"Practice {n}", body="b" * 5000, fields=(("Level", "local"),), ref=f"P{n}") for n in range(11)
    )
    out = render_reply(Reply("Results", items=items, visibility=Visibility.PUBLIC))
    assert len(out.embeds) <= 10
    assert sum(len(e) for e in out.embeds) <= 6000
    assert f"and {11 - len(out.embeds)} more" in out.content
    small = render_reply(Reply("Results", items=tuple(Item(f"P{n}", ref=f"P{n}") for n in range(11))))
    assert len(small.embeds) == 10 and small.content.endswith("and 1 more")
    first = small.embeds[0]
    assert first.title == "P0" and first.footer.text == "P0"


def test_long_texts_are_clipped_to_discord_limits() -> None:
    reply = Reply(
        "x" * 3000,
        fields=tuple((f"n{i}" * 200, "v" * 2000) for i in range(30)),
        items=(Item("t" * 300, body="ok"),),
    )
    out = render_reply(reply)
    assert len(out.content) <= 2000
    for embed in out.embeds:
        assert len(embed.fields) <= 25 and len(embed.title or "") <= 256
        assert all(len(f.name or "") <= 256 and len(f.value or "") <= 1024 for f in embed.fields)
    assert sum(len(e) for e in out.embeds) <= 6000 and "more" in out.content
    assert render_reply(Reply("", items=(Item("t" * 300),))).embeds[0].title == "t" * 255 + "…"


def test_buttons_resolve_back_to_commands_in_a_persistent_view() -> None:
    long_command = "practice vote P1 " + "x" * 120
    reply = Reply(
        "Vote",
        choices=(
            Choice("Yes", "datepoll vote 3 yes", "primary"),
            Choice("Drop", "practice withdraw P1", "danger"),
            Choice("Long", long_command),
        ),
        items=(Item("P2", choices=(Choice("Save", "practice save P2"),)),),
        visibility=Visibility.PRIVATE,
    )
    out = render_reply(reply)
    assert out.ephemeral is True
    assert out.view is not None and out.view.timeout is None and out.view.is_persistent()
    buttons = [c for c in out.view.children if isinstance(c, discord.ui.Button)]
    assert all(len(b.custom_id or "") <= 100 for b in buttons)
    assert [command_for_custom_id(b.custom_id or "") for b in buttons] == [
        "datepoll vote 3 yes",
        "practice withdraw P1",
        None,
        "practice save P2",
    ]
    assert [b.style for b in buttons] == [
        discord.ButtonStyle.primary,
        discord.ButtonStyle.danger,
        discord.ButtonStyle.secondary,
        discord.ButtonStyle.secondary,
    ]
    assert render_reply(Reply("hi", visibility=Visibility.PUBLIC)).ephemeral is False
    assert render_reply(Reply("hi")).view is None


def test_at_most_25_buttons() -> None:
    out = render_reply(Reply("Pick", choices=tuple(Choice(str(n), f"pick {n}") for n in range(30))))
    assert out.view is not None and len(out.view.children) == 25
    assert "5 more options" in out.content


def test_practice_share_form_becomes_modals_of_at_most_five_inputs() -> None:
    cmd = REGISTRY.commands["practice share"]
    form = cmd.to_form()
    modals = form_to_modals(form)
    assert all(len(m.children) <= 5 and len(m.title) <= 45 for m in modals)
    assert modals[0].title.endswith(f"(1/{len(modals)})")
    ids = [item.custom_id for m in modals for item in _inputs(m)]
    assert sorted(ids) == sorted(f.name for f in form.fields) and len(ids) == len(set(ids))
    by_name = {item.custom_id: item for m in modals for item in _inputs(m)}
    for f in form.fields:
        assert by_name[f.name].required == f.required
        if f.kind is FieldKind.LONG_TEXT:
            assert by_name[f.name].style is discord.TextStyle.paragraph
        if f.kind is FieldKind.MULTI_CHOICE:
            assert isinstance(by_name[f.name], discord.ui.Select) and by_name[f.name].max_values == len(
                f.choices
            )
    json.dumps([m.to_dict() for m in modals])


def test_submitted_modal_values_bind_to_the_command() -> None:
    cmd = REGISTRY.commands["practice share"]
    modals = form_to_modals(cmd.to_form())
    filled = {
        "title": "Budget town halls",
        "what": "We held open budget sessions.",
        "attribution": ["named"],
        "sectors": ["public", "nonprofit"],
        "tags": "budget, outreach",
    }
    for modal in modals:  # the real submit path: a modal-submit components payload
        components = []
        for item in _inputs(modal):
            value = filled.get(item.custom_id)
            if isinstance(item, discord.ui.Select):
                components.append(
                    {"type": 18, "component": {"type": 3, "custom_id": item.custom_id, "values": value or []}}
                )
            else:
                components.append(
                    {"type": 18, "component": {"type": 4, "custom_id": item.custom_id, "value": value or ""}}
                )
        modal._refresh(None, components, {})  # type: ignore[arg-type]
    values = modal_values(modals)
    assert values["sectors"] == ["public", "nonprofit"] and values["attribution"] == "named"
    parsed = REGISTRY.bind_values(cmd, values, {})
    assert parsed.args["title"] == "Budget town halls"
    assert [s.value for s in parsed.args["sectors"]] == ["public", "nonprofit"]
    assert parsed.args["tags"] == ["budget", "outreach"]


def test_practice_search_options() -> None:
    options = slash_options(REGISTRY.commands["practice search"])
    required = [o["required"] for o in options]
    assert required == sorted(required, reverse=True)
    by_name = {o["name"]: o for o in options}
    assert by_name["query"]["type"] == STRING
    assert by_name["page"]["type"] == INTEGER
    assert (by_name["page"]["min_value"], by_name["page"]["max_value"]) == (1, 1000)
    assert [c["value"] for c in by_name["level"]["choices"]][:2] == ["local", "county"]
    # A long list, or one the member may pick several of, is suggested as they type (not a fixed menu).
    assert by_name["policy_area"]["autocomplete"] is True and "choices" not in by_name["policy_area"]
    assert by_name["sector"]["autocomplete"] is True and "comma-separated" in by_name["sector"]["description"]
    assert all(1 <= len(o["description"]) <= 100 and len(o["name"]) <= 32 for o in options)


def test_bool_and_member_params_get_their_types() -> None:
    types = {o["type"] for c in REGISTRY for o in slash_options(c)}
    assert BOOLEAN in types and 6 in types


def _commands_in(payloads: list[dict]) -> list[str]:
    found = []
    for top in payloads:
        prefix = [] if top["name"] == "cop" else [top["name"]]
        for node in top["options"]:
            if node["type"] == SUB_COMMAND:
                found.append(" ".join(prefix + [node["name"]]))
            else:
                assert node["type"] == SUB_COMMAND_GROUP and len(node["options"]) <= 25
                found += [" ".join(prefix + [node["name"], s["name"]]) for s in node["options"]]
    return [f.replace("-", " ") for f in found]


def _check_limits(node: dict) -> None:
    assert len(node["name"]) <= 32 and node["name"] == node["name"].lower()
    assert 1 <= len(node["description"]) <= 100
    assert len(node.get("options", [])) <= 25 and len(node.get("choices", [])) <= 25
    for child in node.get("options", []):
        _check_limits(child)


def test_one_cop_command_is_too_big_today_and_says_what_to_split() -> None:
    with pytest.raises(DiscordLimitError, match="8000.*practice"):
        command_tree_payload(REGISTRY)


def test_command_tree_fits_discord_limits_with_one_command_per_group() -> None:
    payloads = command_tree_payload(REGISTRY, per_group=True)
    json.dumps(payloads)
    for payload in payloads:
        _check_limits(payload)
    assert len(payloads) <= 100
    names = _commands_in(payloads)
    assert sorted(names) == sorted(c.path.replace("-", " ") for c in REGISTRY)
    assert len(names) == len(set(names))
    practice = next(p for p in payloads if p["name"] == "practice")
    search = next(o for o in practice["options"] if o["name"] == "search")
    assert search["options"] == slash_options(REGISTRY.commands["practice search"])
