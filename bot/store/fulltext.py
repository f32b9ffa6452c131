"""Full-text search on the database's own engine, behind one function.

A member's query is read once into a small structure (words, "quoted phrases", prefix*, -excluded,
OR), then written out as an FTS5 MATCH expression on SQLite (bm25 ranking, Porter stemming) or a
`tsquery` on PostgreSQL (`ts_rank_cd` over a weighted `tsvector` with a GIN index). Only letters and
digits ever reach either engine's syntax, so no input can break the query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from bot.errors import ArgumentError

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')
MAX_QUERY_LENGTH = 300
MAX_TERMS = 12


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]
    prefix: bool = False


@dataclass
class Query:
    """All clauses must match (AND); a clause matches when any of its terms does (OR)."""

    clauses: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    ignored: int = 0  # words or phrases past MAX_TERMS: a long sentence is searched by its first ones

    def __bool__(self) -> bool:
        return bool(self.clauses)


def parse_query(raw: str) -> Query:
    """Read a search line the way web search boxes do: words, "phrases", prefix*, -not, OR."""
    if len(raw) > MAX_QUERY_LENGTH:
        raise ArgumentError(
            f"The search is too long ({len(raw)} characters, limit {MAX_QUERY_LENGTH}). "
            'Use a few key words, for example: practice search "participatory budgeting"'
        )
    query = Query()
    pending_or = False
    count = 0
    for m in _TOKEN.finditer(raw.replace("“", '"').replace("”", '"')):
        negated, phrase, bare = m.group(1) == "-", m.group(2), m.group(3)
        if bare is not None and bare.upper() == "OR" and query.clauses:
            pending_or = True
            continue
        if bare is not None:
            negated = bare.startswith("-") and len(bare) > 1
            body = bare[1:] if negated else bare
            prefix = body.endswith("*")
            words = tuple(w.lower() for w in _WORD.findall(body))
        else:
            prefix = False
            words = tuple(w.lower() for w in _WORD.findall(phrase or ""))
        if not words:
            continue
        count += 1
        if count > MAX_TERMS:
            query.ignored += 1
            continue
        term = Term(words, prefix and len(words) == 1)
        if negated:
            query.excluded.append(term)
        elif pending_or:
            query.clauses[-1].append(term)
        else:
            query.clauses.append([term])
        pending_or = False
    return query


def words_of(text: str) -> tuple[str, ...]:
    """The words search sees in `text`: letters and digits, lower-cased ("Results-Based": results, based)."""
    return tuple(w.lower() for w in _WORD.findall(text))


MAX_PHRASE_WORDS = 6


def _bare_word(clause: list[Term]) -> str | None:
    """The one plain word of a clause that is a single unquoted, unprefixed word; else None."""
    if len(clause) == 1 and len(clause[0].words) == 1 and not clause[0].prefix:
        return clause[0].words[0]
    return None


def phrases(query: Query) -> set[str]:
    """Every phrase a vocabulary could know in `query`: each term, and runs of consecutive plain words
    (so `results based accountability` typed without quotes is seen as one phrase too)."""
    found = {" ".join(t.words) for clause in query.clauses for t in clause if not t.prefix}
    found |= {" ".join(t.words) for t in query.excluded if not t.prefix}
    bare = [_bare_word(c) for c in query.clauses]
    for i in range(len(bare)):
        for j in range(i + 2, min(len(bare), i + MAX_PHRASE_WORDS) + 1):
            run = bare[i:j]
            if None in run:
                break
            found.add(" ".join(w for w in run if w))
    return found


def expand(query: Query, synonyms: Mapping[str, Sequence[str]]) -> Query:
    """`query` with each known phrase widened to the names that mean the same (an acronym finds the full
    term, and the full term its acronym). `synonyms` maps a phrase (words joined by one space) to its other
    names. A run of plain words that names a term becomes that phrase or its other names."""
    if not synonyms:
        return query

    def others(key: str) -> list[Term]:
        return [Term(w) for w in (words_of(s) for s in synonyms.get(key, ())) if w]

    clauses: list[list[Term]] = []
    bare = [_bare_word(c) for c in query.clauses]
    i = 0
    while i < len(query.clauses):
        run_end = next(
            (
                j
                for j in range(min(len(bare), i + MAX_PHRASE_WORDS), i + 1, -1)
                if None not in bare[i:j] and " ".join(w for w in bare[i:j] if w) in synonyms
            ),
            None,
        )
        if run_end is not None:
            words = tuple(w for w in bare[i:run_end] if w)
            clauses.append([Term(words), *others(" ".join(words))])
            i = run_end
            continue
        clause = list(query.clauses[i])
        for t in query.clauses[i]:
            if not t.prefix:
                clause += [o for o in others(" ".join(t.words)) if o not in clause]
        clauses.append(clause)
        i += 1
    excluded = list(query.excluded)
    for t in query.excluded:
        if not t.prefix:
            excluded += [o for o in others(" ".join(t.words)) if o not in excluded]
    return Query(clauses, excluded)


def ignored_note(raw: str) -> str:
    """What to tell a member whose search was longer than MAX_TERMS words (empty otherwise)."""
    ignored = parse_query(raw).ignored if len(raw) <= MAX_QUERY_LENGTH else 0
    return f" (searched for the first {MAX_TERMS} words; {ignored} more left out)" if ignored else ""


def to_fts5(query: Query, column: str | None = None) -> str:
    """The FTS5 MATCH expression for `query`; with `column`, its wanted words must be in that column
    (the excluded ones still in none)."""

    def term(t: Term) -> str:
        return '"' + " ".join(t.words) + '"' + ("*" if t.prefix else "")

    parts = []
    for clause in query.clauses:
        rendered = [term(t) for t in clause]
        parts.append(rendered[0] if len(rendered) == 1 else "(" + " OR ".join(rendered) + ")")
    expr = " AND ".join(parts)
    if column is not None:
        expr = "{" + column + "} : (" + expr + ")"
    for t in query.excluded:
        expr += f" NOT {term(t)}"
    return expr


def to_tsquery(query: Query, weight: str = "") -> str:
    """The tsquery text for `query`; with `weight` (e.g. "A"), its wanted words must carry that weight."""

    def term(t: Term, w: str = weight) -> str:
        if t.prefix:
            return f"{t.words[0]}:*{w}"
        joined = " <-> ".join(f"{x}:{w}" if w else x for x in t.words)
        return f"({joined})" if len(t.words) > 1 else joined

    parts = []
    for clause in query.clauses:
        rendered = [term(t) for t in clause]
        parts.append(rendered[0] if len(rendered) == 1 else "(" + " | ".join(rendered) + ")")
    parts += [f"!{term(t, '')}" for t in query.excluded]
    return " & ".join(parts)


@dataclass(frozen=True)
class Index:
    """Where one kind of document is indexed.

    SQLite: an FTS5 table whose rowid is the document's id and which holds only searchable documents
    (its triggers leave the others out). PostgreSQL: a tsvector column with a GIN index, partial on
    `searchable_sql`.
    """

    table: str
    fts_table: str
    vector_column: str
    headline_sql: str  # PostgreSQL: the text to excerpt, in terms of alias d
    bm25_weights: tuple[float, ...]  # SQLite: one per FTS5 column
    searchable_sql: str = "1=1"  # PostgreSQL: which rows are searchable, in terms of alias d
    title_column: str = "title"  # SQLite: the FTS5 column whose matches are candidates first
    title_weight: str = "A"  # PostgreSQL: the tsvector weight the title carries


@dataclass(frozen=True)
class IdSet:
    """The documents a filter allows: the rows of `table` where `where` holds, whose `column` is the
    document's id (`where` names `table`'s columns unqualified, with bound parameters). Written both
    ways: as the set of ids, and as a check of one id (an index probe: `column` should lead an index).
    `key`, when the documents carry the filter in the index itself (PostgreSQL: a lexeme of their vector,
    such as "tag=equity"), is the same set as that key: the search then finds words and filters in one
    index lookup."""

    table: str
    column: str
    where: str
    key: str | None = None

    def ids(self) -> str:
        return f"SELECT {self.column} FROM {self.table} WHERE {self.where}"

    def holds(self, doc_id: str) -> str:
        return f"EXISTS (SELECT 1 FROM {self.table} WHERE {self.table}.{self.column} = {doc_id} AND {self.where})"


@dataclass(frozen=True)
class Hit:
    id: int
    rank: float
    snippet: str


MARK_START = "**"
MARK_END = "**"


# Ranking touches at most this many candidates per query. A broad query ("budget" matches a quarter of
# a million practices) is ranked among its newest CANDIDATES title matches (SQLite: within its newest
# TITLE_WINDOW x CANDIDATES matches) and its newest CANDIDATES other matches, not among all of them; a
# query with fewer matches than that is ranked in full.
CANDIDATES = 1000
TITLE_WINDOW = 5  # SQLite: title matches are candidates among the newest 5 x CANDIDATES matches


def search(
    session: Session,
    index: Index,
    query: Query,
    *,
    id_sets: Sequence[IdSet] = (),
    params: dict[str, Any] | None = None,
    limit: int = 10,
    offset: int = 0,
    candidates: int | None = None,
) -> list[Hit]:
    """The searchable documents matching `query`, best first, each with a highlighted excerpt.

    `id_sets` are the filters (with bound `params`); a hit must be in all of them. On SQLite each is
    checked per candidate by an index probe; on PostgreSQL a filter kept as a key in the vector is looked
    up with the words, and the planner chooses how to check the others.

    The cost follows the page, not the number of matches: the candidates are the newest `candidates`
    documents matching in the title and the newest `candidates` (default CANDIDATES) matching anywhere
    (both found in index order, without scoring), only those are ranked, and only the returned page is
    excerpted, all in one statement. When a query matches fewer than `candidates` documents every match
    is ranked.
    """
    if not query:
        return []
    sql, bind = statement(
        session.get_bind().dialect.name,
        index,
        query,
        id_sets=id_sets,
        params=params,
        limit=limit,
        offset=offset,
        candidates=candidates,
    )
    return [Hit(int(r[0]), float(r[1]), r[2] or "") for r in session.execute(text(sql), bind)]


def statement(
    dialect: str,
    index: Index,
    query: Query,
    *,
    id_sets: Sequence[IdSet] = (),
    params: dict[str, Any] | None = None,
    limit: int = 10,
    offset: int = 0,
    candidates: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """search()'s statement and its parameters, for a caller that reads more about each hit in the same
    round trip (`SELECT ... FROM (<statement>) hits JOIN ...`): its rows are `id, rank, snippet`, best
    first, the rank higher for a better match on both engines. `query` must not be empty."""
    bind: dict[str, Any] = dict(params or {})
    bind.update(limit=limit, offset=offset, cap=max(candidates or CANDIDATES, limit + offset))
    if dialect == "sqlite":
        bind["q"] = to_fts5(query)
        bind["qt"] = to_fts5(query, index.title_column)
        fts = index.fts_table
        weights = ", ".join(str(w) for w in index.bm25_weights)
        # FTS5 walks its matches newest first and each filter is checked per match by an index probe
        # (building a filter's whole set of ids instead costs what the set holds: a fifth of the store
        # for a common tag).
        restrict = "".join(f" AND {s.holds(f'{fts}.rowid')}" for s in id_sets)
        newest = f"FROM {fts} WHERE {fts} MATCH :{{}}{restrict} ORDER BY {fts}.rowid DESC LIMIT :cap"
        # Title matches are looked for among the newest TITLE_WINDOW x cap matches only (filtered or not:
        # the window is where the newest matches are, so a narrow filter does not widen it): a column
        # filter reads position lists, so walking every match of a common word for them would cost what
        # ranking them all does.
        bind["wide"] = bind["cap"] * TITLE_WINDOW
        window = (
            f"SELECT coalesce(min(id), 0) FROM (SELECT {fts}.rowid AS id FROM {fts} WHERE {fts} MATCH :q"
            f" ORDER BY {fts}.rowid DESC LIMIT :wide)"
        )
        newest_titles = newest.format("qt").replace(
            f"{restrict} ORDER BY", f" AND {fts}.rowid >= ({window}){restrict} ORDER BY", 1
        )
        # bm25 is lower for a better match: negated on the way out.
        sql = (
            f"WITH cand AS MATERIALIZED (SELECT id FROM (SELECT {fts}.rowid AS id {newest_titles}) "
            f"UNION SELECT id FROM (SELECT {fts}.rowid AS id {newest.format('q')})), "
            f"page AS MATERIALIZED (SELECT {fts}.rowid AS id, bm25({fts}, {weights}) AS rank FROM {fts} "
            f"WHERE {fts} MATCH :q AND {fts}.rowid >= (SELECT min(id) FROM cand) "
            f"AND +{fts}.rowid IN (SELECT id FROM cand) ORDER BY rank, {fts}.rowid DESC "
            "LIMIT :limit OFFSET :offset) "
            f"SELECT page.id AS id, -page.rank AS rank, "
            f"snippet({fts}, -1, '{MARK_START}', '{MARK_END}', '…', 14) AS snippet "
            f"FROM page CROSS JOIN {fts} ON {fts}.rowid = page.id WHERE {fts} MATCH :q "
            f"ORDER BY page.rank, page.id DESC"
        )
        return sql, bind
    bind["q"] = to_tsquery(query)
    vec = f"d.{index.vector_column}"
    extra = f" AND ({index.searchable_sql})" + "".join(
        f" AND d.id IN ({s.ids()})" for s in id_sets if s.key is None
    )
    # PostgreSQL: the candidates are the first matches the GIN index (or a scan, when the planner expects
    # plenty) finds, ranked as they are read; the title weighs most in the rank itself ('A'). Filters kept
    # as keys in the vector are looked up with the words, so only documents passing them are read.
    matches = "to_tsquery('english', :q)"
    if keys := [s.key for s in id_sets if s.key is not None]:
        bind["keys"] = " & ".join("'" + k.replace("\\", "\\\\").replace("'", "''") + "'" for k in keys)
        matches = f"({matches} && CAST(:keys AS tsquery))"
    sql = (
        "WITH q AS MATERIALIZED (SELECT to_tsquery('english', :q) AS q), "
        f"cand AS MATERIALIZED (SELECT d.id, ts_rank({vec}, q.q, 1) AS rank FROM {index.table} d, q "
        f"WHERE {vec} @@ {matches}{extra} LIMIT :cap), "
        "page AS (SELECT id, rank FROM cand ORDER BY rank DESC, id DESC LIMIT :limit OFFSET :offset) "
        f"SELECT page.id AS id, page.rank AS rank, ts_headline('english', {index.headline_sql}, q.q, "
        f"'StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=18, MinWords=8, MaxFragments=1, "
        "FragmentDelimiter=…') AS snippet "
        f"FROM page JOIN {index.table} d ON d.id = page.id, q ORDER BY page.rank DESC, page.id DESC"
    )
    return sql, bind


def count(session: Session, index: Index, query: Query) -> int:
    """How many searchable documents match `query` (no ranking, no excerpts)."""
    if not query:
        return 0
    if session.get_bind().dialect.name == "sqlite":
        sql = f"SELECT count(*) FROM {index.fts_table} WHERE {index.fts_table} MATCH :q"
        return int(session.execute(text(sql), {"q": to_fts5(query)}).scalar_one())
    sql = (
        f"SELECT count(*) FROM {index.table} d WHERE d.{index.vector_column} @@ to_tsquery('english', :q) "
        f"AND ({index.searchable_sql})"
    )
    return int(session.execute(text(sql), {"q": to_tsquery(query)}).scalar_one())
