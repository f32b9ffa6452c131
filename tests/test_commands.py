"""The command declarations: parsing, errors with examples, help and the form, without a database."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import pytest

from bot.commands import CommandGroup, CommandRegistry, Opt, describe_commands
from bot.errors import ArgumentError, CommandError
from bot.messages import FieldKind, Member
from bot.permissions import Role


class Colour(str, Enum):
    RED = "red"
    DARK_BLUE = "dark-blue"


group = CommandGroup("thing", "things for tests")


@group.command("find")
async def find(
    ctx: object,
    words: Annotated[str, Opt(help="what to look for")] = "",
    *,
    tag: Annotated[list[str], Opt(help="a tag")] = [],
    colour: Annotated[Colour | None, Opt(help="a colour")] = None,
    page: Annotated[int, Opt(min=1, max=10)] = 1,
    exact: bool = False,
) -> None:
    """Find things.

    Longer description.
    Example: thing find "red apples" --tag fruit
    """


@group.command("make", role=Role.COORDINATOR, form=True)
async def make(
    ctx: object,
    *,
    title: Annotated[str, Opt(max_length=20)],
    body: Annotated[str, Opt(long=True)] = "",
    who: Member | None = None,
) -> None:
    """Make a thing.

    Example: thing make --title Apple
    """


@pytest.fixture
def registry() -> CommandRegistry:
    r = CommandRegistry()
    r.include(group)
    return r


def test_quotes_flags_and_defaults(registry: CommandRegistry) -> None:
    parsed = registry.parse(
        'thing find "public private" partners --tag a --tag b,c --colour "Dark Blue"', Role.MEMBER
    )
    assert parsed.command.path == "thing find"
    assert parsed.args == {
        "words": '"public private" partners',
        "tag": ["a", "b", "c"],
        "colour": Colour.DARK_BLUE,
        "page": 1,
        "exact": False,
    }


def test_curly_quotes_and_equals_and_bool_flags(registry: CommandRegistry) -> None:
    parsed = registry.parse("Thing FIND “public private” --page=3 --exact", Role.MEMBER)
    assert parsed.args["words"] == "public private"
    assert parsed.args["page"] == 3
    assert parsed.args["exact"] is True


def test_bad_choice_names_argument_suggests_and_lists_allowed(registry: CommandRegistry) -> None:
    with pytest.raises(ArgumentError) as err:
        registry.parse("thing find x --colour rde", Role.MEMBER)
    assert "--colour" in str(err.value) and "Did you mean red?" in str(err.value)
    assert "Allowed: red, dark-blue" in str(err.value)


def test_number_out_of_range_and_not_a_number(registry: CommandRegistry) -> None:
    with pytest.raises(ArgumentError, match="--page: must be at most 10, got 11"):
        registry.parse("thing find --page 11", Role.MEMBER)
    with pytest.raises(
        ArgumentError, match="--page: expected a whole number, got 'two'. Example: thing find"
    ):
        registry.parse("thing find --page two", Role.MEMBER)


def test_unknown_option_suggests_nearest(registry: CommandRegistry) -> None:
    with pytest.raises(ArgumentError, match="has no option --tags. Did you mean --tag?"):
        registry.parse("thing find --tags x", Role.MEMBER)


def test_missing_required_argument_shows_example(registry: CommandRegistry) -> None:
    with pytest.raises(ArgumentError) as err:
        registry.parse("thing make --body hello", Role.COORDINATOR)
    assert "Missing --title" in str(err.value) and "Example: thing make --title Apple" in str(err.value)


def test_too_long_text_is_refused_with_its_length(registry: CommandRegistry) -> None:
    with pytest.raises(ArgumentError, match="--title is too long: 21 characters, the limit is 20"):
        registry.parse("thing make --title " + "x" * 21, Role.COORDINATOR)


def test_a_lone_quote_is_text_and_a_quoted_whole_loses_only_its_grouping_quotes(
    registry: CommandRegistry,
) -> None:
    assert registry.parse('thing find "oops', Role.MEMBER).args["words"] == '"oops'
    assert (
        registry.parse("thing find we can't  hire 'yet", Role.MEMBER).args["words"] == "we can't  hire 'yet"
    )
    assert registry.parse('thing find "public private"', Role.MEMBER).args["words"] == "public private"
    assert registry.parse("thing find « oui »", Role.MEMBER).args["words"] == "« oui »"


def test_a_quoted_word_is_never_a_flag_but_flag_equals_quotes_are(registry: CommandRegistry) -> None:
    parsed = registry.parse('thing find "--exact" --colour="dark blue"', Role.MEMBER)
    assert parsed.args["words"] == "--exact" and parsed.args["exact"] is False
    assert parsed.args["colour"] is Colour.DARK_BLUE


def test_text_around_flags_keeps_each_stretch_as_typed(registry: CommandRegistry) -> None:
    parsed = registry.parse("thing find mayor's  office --tag x then   more", Role.MEMBER)
    assert parsed.args["words"] == "mayor's  office then   more"


def test_a_line_over_the_limit_is_refused_before_it_is_read_with_the_commands_example(
    registry: CommandRegistry,
) -> None:
    from bot.commands import MAX_LINE

    with pytest.raises(ArgumentError) as err:
        registry.parse("thing find " + "x " * (1 << 19), Role.MEMBER)  # a MiB
    assert f"the limit is {MAX_LINE:,}" in str(err.value)
    assert 'Example: thing find "red apples" --tag fruit' in str(err.value)
    with pytest.raises(ArgumentError, match=r"contains a control character \(U\+0000\)"):
        registry.parse("thing find a\x00b", Role.MEMBER)  # refused where it would be stored, naming it


def test_unknown_command_suggests_nearest_runnable(registry: CommandRegistry) -> None:
    with pytest.raises(CommandError) as err:
        registry.parse("thing fnd", Role.MEMBER)
    assert "Did you mean: thing find" in str(err.value)
    assert "thing make" not in str(err.value)  # members cannot run it, so it is not suggested


def test_member_mention_resolves_through_the_adapters_mapping(registry: CommandRegistry) -> None:
    ana = Member("slack", "U1", "Ana")
    parsed = registry.parse("thing make --title x --who <@U1>", Role.COORDINATOR, {"<@U1>": ana})
    assert parsed.args["who"] == ana
    with pytest.raises(ArgumentError, match="not a member mention"):
        registry.parse("thing make --title x --who ana", Role.COORDINATOR)


def test_help_text_and_usage_come_from_the_declaration(registry: CommandRegistry) -> None:
    cmd = registry.commands["thing find"]
    assert cmd.usage() == "thing find [words] [--tag TAG ...] [--colour red|dark-blue] [--page N] [--exact]"
    text = cmd.help_text()
    assert "Find things." in text and "Longer description." in text
    assert 'Example: thing find "red apples" --tag fruit' in text


def test_form_is_derived_from_parameters(registry: CommandRegistry) -> None:
    form = registry.commands["thing make"].to_form()
    kinds = {f.name: (f.kind, f.required) for f in form.fields}
    assert kinds["title"] == (FieldKind.TEXT, True)
    assert kinds["body"] == (FieldKind.LONG_TEXT, False)
    assert form.command == "thing make"


def test_values_from_a_form_are_validated_like_text(registry: CommandRegistry) -> None:
    cmd = registry.commands["thing find"]
    parsed = registry.bind_values(cmd, {"words": "x", "colour": "red", "tag": ["a", "b"]}, {})
    assert parsed.args["colour"] is Colour.RED and parsed.args["tag"] == ["a", "b"]
    with pytest.raises(ArgumentError):
        registry.bind_values(cmd, {"colour": "green"}, {})


def test_reference_lists_every_command_with_role(registry: CommandRegistry) -> None:
    ref = describe_commands(registry, registry.groups)
    assert "### thing — things for tests" in ref
    assert "`thing make --title TITLE [--body BODY] [--who @MEMBER]` *(coordinator)*" in ref


def test_handlers_must_be_async_and_documented() -> None:
    g = CommandGroup("bad")
    with pytest.raises(TypeError, match="docstring"):

        @g.command("x")
        async def undocumented(ctx: object) -> None:
            pass

    with pytest.raises(TypeError, match="async"):

        @g.command("y")
        def sync(ctx: object) -> None:
            """Doc."""


def test_verbatim_parameter_keeps_phrases_quoted() -> None:
    g = CommandGroup("q")

    @g.command("find")
    async def q_find(ctx: object, words: Annotated[str, Opt(verbatim=True)] = "") -> None:
        """Find."""

    r = CommandRegistry()
    r.include(g)
    assert r.parse('q find "housing private" fund', Role.MEMBER).args["words"] == '"housing private" fund'


def test_with_page_replaces_any_page_option() -> None:
    from bot.commands import with_page

    assert (
        with_page('practice search "public private" --tag x', 2)
        == 'practice search "public private" --tag x --page 2'
    )
    assert (
        with_page("resource search adaptive --page 2 --area systems-thinking", 3)
        == "resource search adaptive --area systems-thinking --page 3"
    )
    assert with_page("search budget --page=4", 5) == "search budget --page 5"


def test_a_rule_between_two_fields_is_declared_once_and_checked_with_any_part_of_a_form() -> None:
    parts = CommandGroup("part", "")

    @parts.command("add", form=True)
    async def add(
        ctx: object,
        *,
        title: Annotated[str, Opt(max_length=20)],
        colour: Annotated[Colour, Opt(help="a colour")],
        shade: Annotated[str, Opt(help="which blue, e.g. navy", needed_if=("colour", "dark-blue"))] = "",
        page: Annotated[int, Opt(min=1, max=10)] = 1,
    ) -> None:
        """Add a part.

        Example: part add --title Lid --colour red
        """

    r = CommandRegistry()
    r.include(parts)
    cmd = r.commands["part add"]
    with pytest.raises(
        ArgumentError, match=r"--shade is needed when --colour is dark-blue: which blue, e\.g\. navy"
    ) as e:
        r.parse("part add --title Lid --colour 'dark blue'", Role.MEMBER)
    assert e.value.field == "shade"
    assert (
        r.parse("part add --title Lid --colour dark-blue --shade navy", Role.MEMBER).args["shade"] == "navy"
    )
    # One page of a form: only the fields on it, by the same rules, naming the field.
    r.check_values(cmd, {"title": "Lid", "colour": "red"}, {})
    r.check_values(cmd, {"page": "3"}, {})  # title is on another page: not asked for here
    for values, field, words in (
        ({"title": "", "colour": "red"}, "title", "Missing --title"),
        ({"title": "x" * 21}, "title", "too long"),
        ({"page": "eleven"}, "page", "expected a whole number"),
        ({"colour": "dark-blue", "shade": ""}, "shade", "--shade is needed"),
    ):
        with pytest.raises(ArgumentError, match=words) as e:
            r.check_values(cmd, values, {})
        assert e.value.field == field
    with pytest.raises(TypeError, match="needed_if a parameter it lacks"):

        @parts.command("bad")
        async def bad(ctx: object, *, shade: Annotated[str, Opt(needed_if=("colour", "red"))] = "") -> None:
            """Bad."""


def test_an_id_with_its_letter_is_a_text_field_in_forms_and_a_plain_number_is_a_number() -> None:
    from bot.app import build_registry

    registry = build_registry()
    capture = {f.name: f for f in registry.commands["forum capture"].to_form({"reply": "R12"}).fields}
    assert capture["reply"].kind is FieldKind.TEXT  # a number field could not hold "R12"
    assert registry.commands["forum capture"].to_form({"reply": "R12"}).prefilled["reply"] == "R12"
    search = {f.name: f for f in registry.commands["practice search"].to_form().fields}
    assert search["page"].kind is FieldKind.NUMBER
