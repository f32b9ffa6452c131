"""Reading command lines: ordinary sentences in any language are text, quotes group only where meant.

The properties are checked on the tokenizer alone and through the dispatcher (a proposal stored and read
back exactly as typed; a search on any sentence answers without an error), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.commands import MAX_LINE
from bot.words import Word, as_typed, quote, split_words
from tests.harness import Harness

# Real words and punctuation from several languages, as members type them.
FIRST_WORDS = [
    "We",
    "Our",
    "The",
    "Keeping",
    "Nous",
    "L'équipe",
    "Aujourd'hui",
    "Die",
    "Wir",
    "¿Qué",
    "Los",
    "我们",
    "市长办公室",
    "予算",
    "예산",
    "Élus",
    "Ça",
    "Mayor's",
    "It's",
    "Don't",
    "São",
    "Zürich's",
]
WORDS = FIRST_WORDS + [
    "didn't",
    "can't",
    "won't",
    "mayor's",
    "office",
    "hours",
    "staff",
    "budget;",
    "hiring,",
    "freeze.",
    "o'clock",
    "'90s",
    "mayors'",
    "rock'n'roll",
    "“public",
    "private”",
    "“office hours”",
    "‘pilot’",
    "it’s",
    '"quoted"',
    "'single'",
    '"lone',
    "lone'",
    "“",
    "”",
    "‘",
    "’",
    '"',
    "'",
    "«",
    "»",
    "« réunion »",
    "«bonjour»",
    "—",
    "–",
    "…",
    "-",
    "(see",
    "notes)",
    "&",
    "%",
    "#7",
    "50/50",
    "C:\\Budget",
    "e-mail",
    "c'est",
    "l'été",
    "réunion",
    "élus",
    "déjà",
    "naïve",
    "Bürgermeister",
    "„Haushalt“",
    "Straße",
    "año",
    "pasó?",
    "¡Sí!",
    "会議",
    "「市民」",
    "『予算』",
    "，",
    "。",
    "회의",
    "市民の声",
    "🙂",
    "Δήμαρχος",
    "городской",
    "?",
    "!",
    ":",
    ";",
    "--",
    "x=y",
    "=",
    "@",
    "*",
    "word*",
    "-word",
]
sentences = (
    st.lists(st.sampled_from(WORDS), max_size=25)
    .flatmap(lambda rest: st.sampled_from(FIRST_WORDS).map(lambda first: " ".join([first, *rest])))
    .filter(lambda sentence: len(sentence) <= 300)
)  # the longest topic or search there is
many_spaces = st.lists(
    st.tuples(st.sampled_from(WORDS), st.sampled_from([" ", "  ", "\t", " \n "])), min_size=1, max_size=20
)


# ---- the tokenizer -------------------------------------------------------------------------------------


@given(st.text(max_size=300))
def test_any_text_is_read_and_every_word_is_where_it_stood(line: str) -> None:
    words = split_words(line)
    previous_end = 0
    for w in words:
        assert isinstance(w, Word) and previous_end <= w.start < w.end <= len(line)
        assert not line[previous_end : w.start].strip()  # only whitespace between words
        if not w.quote and "=" not in line[w.start : w.end]:
            assert str(w) == line[w.start : w.end]
        previous_end = w.end
    assert not line[previous_end:].strip()


@given(st.text(max_size=200))
def test_quote_is_read_back_as_the_same_single_non_flag_word(value: str) -> None:
    kinds_closing_inside = sum(
        any(ch == close and value[k + 1].isspace() for k, ch in enumerate(value[:-1]))
        for close in ('"', "'", "”", "’")
    )
    if kinds_closing_inside == 4:
        return  # no quote kind can hold it (documented); never typed by a member
    words = split_words("x " + quote(value))
    assert [str(w) for w in words[1:]] == [value.strip()]
    assert words[1].quote or not value.strip().startswith("--")


@given(many_spaces)
def test_the_rest_of_a_line_keeps_its_spacing_and_quotes(parts: list[tuple[str, str]]) -> None:
    text = "".join(word + gap for word, gap in parts).strip()
    line = "cmd " + text
    words = split_words(line)[1:]
    one_grouped = len(words) == 1 and words[0].quote
    assert as_typed(list(words), line, keep_quotes=True) == text
    if not one_grouped:
        assert as_typed(list(words), line, keep_quotes=False) == text


def test_quotes_group_where_a_person_means_them() -> None:
    assert split_words('practice search "public private"')[2:] == ["public private"]
    assert split_words("--title “Office hours” --what=‘a b’ 'c d'") == [
        "--title",
        "Office hours",
        "--what=a b",
        "c d",
    ]
    assert split_words("we can't hire, the mayor's office said '") == [
        "we",
        "can't",
        "hire,",
        "the",
        "mayor's",
        "office",
        "said",
        "'",
    ]
    assert split_words("« guillemets »  stay") == ["«", "guillemets", "»", "stay"]
    assert split_words('"" x') == ["", "x"]


def test_a_line_of_unclosed_quotes_is_read_in_one_pass() -> None:
    line = '"a ' * (MAX_LINE // 3)  # every word opens a quote that never closes
    assert len(split_words(line)) == MAX_LINE // 3
    line = "'a' " + "'b " * (MAX_LINE // 3) + "c'"  # one late closing quote for thousands of openings
    assert split_words(line)[0] == "a" and split_words(line)[1].startswith("b 'b")


# ---- through the dispatcher ----------------------------------------------------------------------------

SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SLOW
@given(sentence=sentences)
async def test_any_sentence_is_proposed_and_read_back_exactly(app: App, sentence: str) -> None:
    bot = Harness(app)
    reply = await bot.one(f"forum propose {sentence}", "ana")
    if reply.is_error:  # the same topic again (hypothesis repeats itself): it is said so, nothing else
        assert reply.text.startswith("That topic is already proposed as T"), reply.text
        return
    number = reply.text.split(":", 1)[0].removeprefix("Proposed T")
    assert reply.text == f"Proposed T{number}: {sentence}"
    topics = await bot.ok("forum topics")
    assert [i.title for i in topics.items if i.ref == f"T{number}"] == [sentence]


@SLOW
@given(sentence=sentences)
async def test_a_search_for_any_sentence_answers_without_an_error(app: App, sentence: str) -> None:
    reply = await Harness(app).one(f"practice search {sentence}", "ana")
    assert not reply.is_error, reply.text


EVERYDAY = [
    ("forum propose Keeping staff when we can't hire", "Keeping staff when we can't hire"),
    (
        "forum propose « Garder le personnel » quand on ne peut pas recruter",
        "« Garder le personnel » quand on ne peut pas recruter",
    ),
    ('forum propose "Keeping staff"', "Keeping staff"),
    ("forum propose The “hiring freeze” we didn't want '", "The “hiring freeze” we didn't want '"),
]


async def test_everyday_sentences_are_stored_as_typed(app: App) -> None:
    bot = Harness(app)
    for line, stored in EVERYDAY:
        assert (await bot.ok(line, "ana")).text.endswith(f": {stored}")
    await bot.ok(
        "practice share --title 'Office hours' --what \"We didn't stop hiring; we ran office hours.\" "
        "--attribution named",
        "ana",
    )
    endorsed = await bot.ok("practice endorse P1 we didn't try it  exactly, but “close”", "bob")
    assert not endorsed.is_error
    shown = await bot.ok("practice show P1", "bob")
    assert "Office hours" in shown.text + str(shown.items)
    assert "We didn't stop hiring; we ran office hours." in shown.text + str(shown.items)
    found = await bot.ok("practice search mayor's office", "bob")
    assert found.text == 'No practices found for "mayor\'s office". Try fewer words or filters.'
    assert [i.ref for i in (await bot.ok("practice search didn't stop 'office hours", "bob")).items] == ["P1"]
    assert [i.ref for i in (await bot.ok('practice search "office hours"', "bob")).items] == ["P1"]
    assert (await bot.ok('practice search "hours office"', "bob")).items == ()  # a phrase, in its order


async def test_a_long_sentence_is_searched_by_its_first_words_and_says_so(app: App) -> None:
    reply = await Harness(app).ok(
        "practice search how did other cities keep their staff when they "
        "couldn't hire during a long budget freeze last year"
    )
    assert "(searched for the first 12 words; 6 more left out)" in reply.text


async def test_a_mebibyte_line_is_refused_with_the_limit_and_the_commands_example(app: App) -> None:
    text = await Harness(app).fails("forum reply " + "a" * (1 << 20), "ana")
    assert f"the limit is {MAX_LINE:,}" in text and "1,048,588 characters" in text
    assert "Example: forum reply We started weekly budget office hours" in text
