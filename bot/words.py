"""Reading a command line into words: quotes group words where a person means them, and are text elsewhere.

Why not `shlex`: it refuses any line with a lone quote ("No closing quotation"), so every apostrophe in
an ordinary sentence (can't, mayor's) broke the command, and it cannot say where each word stood in the
line, which the last free-text parameter needs to keep the text exactly as it was typed.

The rules:

- Words are separated by whitespace.
- A quote at the start of a word (or right after the `=` of `--flag="..."`) followed by a non-space
  opens a group, when a quote of the matching kind later ends a word (a non-space before it, whitespace
  or the end of the line after it). The group is one word, its quotes removed. The kinds are "…", '…',
  “…” and ‘…’.
- Every other quote is an ordinary character: can't, mayor's, a lone " at the end, « guillemets ».
- A backslash is an ordinary character (C:\\Budget is a path, not an escape).

The scan is linear in the line's length: the candidate closing quotes of each kind are listed once, in
order, and a pointer per kind only moves forward (the openings are met in order too).
"""

from __future__ import annotations

PAIRS = {'"': '"', "'": "'", "“": "”", "‘": "’"}


class Word(str):
    """A word of a command line (quotes that grouped it removed) and where it stood: `line[start:end]`."""

    start: int
    end: int
    quote: str  # the opening quote when quotes grouped this word (so it is never a flag), else ""

    def __new__(cls, text: str, start: int, end: int, quote: str = "") -> Word:
        word = super().__new__(cls, text)
        word.start, word.end, word.quote = start, end, quote
        return word


class _Closers:
    """Where each kind of closing quote ends a word, and the next one after a given position."""

    def __init__(self, line: str) -> None:
        self.at: dict[str, list[int]] = {close: [] for close in set(PAIRS.values())}
        self.next: dict[str, int] = {close: 0 for close in self.at}
        last = len(line) - 1
        for i, ch in enumerate(line):
            if ch in self.at and i > 0 and not line[i - 1].isspace() and (i == last or line[i + 1].isspace()):
                self.at[ch].append(i)

    def after(self, close: str, position: int) -> int | None:
        found, n = self.at[close], self.next[close]
        while n < len(found) and found[n] <= position:
            n += 1
        self.next[close] = n
        return found[n] if n < len(found) else None


def _opens(line: str, i: int) -> bool:
    """A quote at `i` that could open a group: something other than whitespace follows it."""
    return line[i] in PAIRS and i + 1 < len(line) and not line[i + 1].isspace()


def split_words(line: str) -> list[Word]:
    """The words of a command line; never fails (see the module's rules)."""
    closers = _Closers(line)
    words: list[Word] = []
    n = len(line)
    i = 0
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        start = i
        while i < n and not line[i].isspace():
            i += 1
        quote_at = start
        if line.startswith("--", start):
            eq = line.find("=", start, i)
            quote_at = eq + 1 if eq != -1 and eq + 1 < i else -1
        if quote_at >= 0 and _opens(line, quote_at):
            close = closers.after(PAIRS[line[quote_at]], quote_at)
            if close is not None:
                grouped_by = line[quote_at] if quote_at == start else ""  # `--flag="a b"` stays a flag
                text = line[start:quote_at] + line[quote_at + 1 : close]
                words.append(Word(text, start, close + 1, grouped_by))
                i = close + 1
                continue
        words.append(Word(line[start:i], start, i))
    return words


def as_typed(words: list[str], line: str, *, keep_quotes: bool) -> str:
    """Several words as the member typed them, spacing and quotes kept (the last free-text parameter).

    Words next to each other in `line` come out as one stretch of the line; stretches that other words
    (flags) separated are joined by a space. One grouped word alone comes out without its quotes, unless
    `keep_quotes` (search queries, where "a phrase" means the phrase).
    """
    if not words:
        return ""
    if not line or not all(isinstance(w, Word) for w in words):  # words not read from a line
        return " ".join(f'"{w}"' if keep_quotes and any(c.isspace() for c in w) else w for w in words)
    typed: list[Word] = words  # type: ignore[assignment]
    if len(typed) == 1 and typed[0].quote and not keep_quotes:
        return str(typed[0])
    stretches: list[str] = []
    first = typed[0]
    for previous, word in zip(typed, typed[1:]):
        if line[previous.end : word.start].strip():  # something else stood between them
            stretches.append(line[first.start : previous.end])
            first = word
    stretches.append(line[first.start : typed[-1].end])
    return " ".join(stretches)


def quote(value: str) -> str:
    """`value` written so that `split_words` reads it back as one word that is not a flag (for command
    lines we build, such as the one a Discord slash command stands for). Surrounding whitespace is not
    kept: parameters strip it anyway."""
    value = value.strip()
    if value and not any(ch.isspace() for ch in value) and not value.startswith(("--", *PAIRS)):
        return value
    for opening, closing in PAIRS.items():  # the plainest: a quote the value does not use
        if closing not in value:
            return f"{opening}{value}{closing}"
    for opening, closing in PAIRS.items():  # else one that never ends a word inside the value
        if not any(ch == closing and value[k + 1].isspace() for k, ch in enumerate(value[:-1])):
            return f"{opening}{value}{closing}"
    return f'"{value}"'  # every kind of quote ends a word inside: the closest reading there is


def counted(n: int, one: str, many: str | None = None) -> str:
    """`n` with the noun agreeing: counted(1, "member") -> "1 member", counted(3, "reply", "replies") ->
    "3 replies". Replies say "2 members", never "2 member(s)"."""
    return f"{n} {one if n == 1 else (many or one + 's')}"
