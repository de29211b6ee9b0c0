"""Word lists that flag messages mentioning suicide, self-harm, violence or abuse.

A hit only flags the conversation for the workers (queue position and a banner); it is never
shown to the young person and decides nothing about them. The lists favour catching clear
statements over avoiding every false positive. Talk about others ("tog livet av sig") fires.

Word list format (``wordlists/{sv,no,en}.txt``, UTF-8), one entry per line::

    # "#" starts a comment; blank lines are ignored
    suicide     självmord*
    self_harm   "skär mig"

``category pattern``, separated by tabs or spaces. Categories: ``suicide``, ``self_harm``,
``violence``, ``abuse`` (sexual abuse, grooming, abuse at home, honour-related coercion).
A pattern is one or more words; ``*`` ends a word to match any ending (3+ letters first).
The words must appear in order with at most 2 other words between each pair (``vill dö``
matches "vill bara dö"); in double quotes they form an exact phrase (``"hänga mig"`` does
not match "hänga med mig"). Patterns are normalised like messages (:func:`normalise`), and
a word with doubled letters also matches it typed single ("vill" matches "vil", "villlll").
Teams' own (category, pattern) pairs are validated by :func:`parse_pattern`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

CATEGORIES: tuple[str, ...] = ("suicide", "self_harm", "violence", "abuse")
LANGUAGES: tuple[str, ...] = ("sv", "no", "en")
MAX_GAP = 2  # other words allowed between two words of an unquoted pattern
PREFIX_MIN = 3  # letters needed before a "*"; also the length of the prefix index key

_RUN = re.compile(r"(.)\1\1+")  # a character repeated 3+ times (only letters are squashed)
_TOKEN = re.compile(r"[\w@$]+")
_DOUBLE = re.compile(r"(.)\1+")
_LEET = str.maketrans("013457@$", "oieastas")
_SYMBOLS = str.maketrans("", "", "@$")
_EDGES = "\"'.,!?;:()[]{}<>«»“”‘’…-–—/*"  # punctuation often stuck to a word


def _squash(run: re.Match[str]) -> str:
    return run[1] if run[1].isalpha() else run[0]


def _fold(token: str) -> str:
    if any(char.isalpha() for char in token):
        return _RUN.sub(_squash, token.translate(_LEET))
    return token.translate(_SYMBOLS)  # a number stays a number


def normalise(text: str) -> list[str]:
    """Split ``text`` into lowercase words, undoing common texting tricks.

    NFKC and lowercase; letters repeated 3+ times become one ("dööööö" -> "dö"); in words
    that contain a letter, 0 1 3 4 5 7 @ $ become o i e a s t a s ("s3lvmord"); anything
    that is not a letter or digit separates words. Numbers stay as they are.
    """
    text = _RUN.sub(_squash, unicodedata.normalize("NFKC", text).lower())
    words: list[str] = []
    for chunk in text.split():  # split and strip first: much faster than a regex alone
        if not chunk.isalpha():
            chunk = chunk.strip(_EDGES)
            if not chunk.isalpha():
                for part in _TOKEN.findall(chunk):
                    words.extend(word for word in map(_fold, part.split("_")) if word)
                continue
        words.append(chunk)
    return words


@dataclass(frozen=True, slots=True)
class Word:
    """One normalised pattern word; ``prefix`` if it was written with a trailing ``*``."""

    text: str
    prefix: bool = False
    forms: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        loose = _DOUBLE.sub(r"\1", self.text)  # "vill" -> "vil", "misshandl" -> "mishandl"
        keep = loose != self.text and (not self.prefix or len(loose) >= PREFIX_MIN)
        object.__setattr__(self, "forms", (self.text, loose) if keep else (self.text,))

    def matches(self, token: str) -> bool:
        return token.startswith(self.forms) if self.prefix else token in self.forms

    def __str__(self) -> str:
        return self.text + "*" if self.prefix else self.text


@dataclass(frozen=True, slots=True)
class Pattern:
    """A parsed word list entry. ``source`` ("sv.txt:12") is for messages only."""

    category: str
    words: tuple[Word, ...]
    exact: bool = False  # written in double quotes: no words between
    source: str = field(default="", compare=False)

    def __str__(self) -> str:
        body = " ".join(str(word) for word in self.words)
        return f'"{body}"' if self.exact else body


def parse_pattern(category: str, pattern: str, source: str = "") -> Pattern:
    """Validate one entry; raises ``ValueError`` with a message fit to show a team admin."""
    category = category.strip().lower()
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}")
    body = pattern.strip()
    exact = len(body) >= 2 and body[0] == body[-1] == '"'
    if exact:
        body = body[1:-1]
    if '"' in body:
        raise ValueError(f"quote the whole pattern or nothing: {pattern!r}")
    words: list[Word] = []
    for raw in body.split():
        prefix = raw.endswith("*")
        stem = raw[:-1] if prefix else raw
        if "*" in stem:
            raise ValueError(f"'*' may only end a word: {raw!r}")
        parts = normalise(stem)
        if not parts:
            raise ValueError(f"no letters or digits in {raw!r}")
        if prefix and len(parts[-1]) < PREFIX_MIN:
            raise ValueError(f"need at least {PREFIX_MIN} letters before '*': {raw!r}")
        words.extend(Word(part) for part in parts[:-1])
        words.append(Word(parts[-1], prefix))
    if not words:
        raise ValueError("empty pattern")
    return Pattern(category, tuple(words), exact, source)


def parse_lines(lines: Iterable[str], source: str) -> list[Pattern]:
    """Parse word list lines; errors name ``source`` and the 1-based line number."""
    entries: list[Pattern] = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        where = f"{source}:{number}"
        fields = text.split(None, 1)
        if len(fields) != 2:
            raise ValueError(f"{where}: expected 'category pattern', got {text!r}")
        try:
            entries.append(parse_pattern(fields[0], fields[1], where))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc
    return entries


def _follow(words: tuple[Word, ...], tokens: list[str], pos: int, step: int, gap: int) -> bool:
    """Whether ``words`` follow (step 1) or precede (step -1) ``tokens[pos]`` within ``gap``."""
    if not words:
        return True
    first, rest = words[0], words[1:]
    for at in range(pos + step, pos + step * (gap + 2), step):
        if not 0 <= at < len(tokens):
            break
        if first.matches(tokens[at]) and _follow(rest, tokens, at, step, gap):
            return True
    return False


class _Indexed:
    """A pattern split around its anchor, the longest word, which is what the index holds.
    ``needs``: words (or a "word*"'s first letters) that must occur; a cheap first test."""

    __slots__ = ("anchor", "left", "needs", "pattern", "right")

    def __init__(self, pattern: Pattern) -> None:
        words = pattern.words
        at = max(range(len(words)), key=lambda k: (len(words[k].text), not words[k].prefix))
        self.pattern = pattern
        self.anchor = words[at]
        self.left = tuple(reversed(words[:at]))
        self.right = words[at + 1 :]
        self.needs = frozenset(
            w.text[:PREFIX_MIN] if w.prefix else w.text for w in words if len(w.forms) == 1
        )

    def fits(self, tokens: list[str], pos: int) -> bool:
        gap = 0 if self.pattern.exact else MAX_GAP
        return _follow(self.right, tokens, pos, 1, gap) and _follow(self.left, tokens, pos, -1, gap)


class WordList:
    """Patterns indexed by their anchor word, so a message costs a dictionary look-up or
    two per word, not a check of every pattern. ``checks`` counts the candidate patterns
    examined since creation (for tests and diagnostics)."""

    def __init__(self, entries: Iterable[Pattern | tuple[str, str]] = ()) -> None:
        self._patterns: dict[Pattern, None] = {}  # ordered set
        self._exact: dict[str, tuple[_Indexed, ...]] = {}  # whole anchor word
        self._prefix: dict[str, tuple[_Indexed, ...]] = {}  # first letters of a "word*"
        self.checks = 0
        self.extend(entries)

    def extend(self, entries: Iterable[Pattern | tuple[str, str]]) -> None:
        """Add entries in place; (category, pattern) pairs go through :func:`parse_pattern`.
        Nothing is added if any pair is invalid. Duplicates are ignored."""
        parsed = [e if isinstance(e, Pattern) else parse_pattern(*e, "team") for e in entries]
        for pattern in parsed:
            if pattern in self._patterns:
                continue
            self._patterns[pattern] = None
            item = _Indexed(pattern)
            forms = item.anchor.forms
            if item.anchor.prefix:
                index, keys = self._prefix, {form[:PREFIX_MIN] for form in forms}
            else:
                index, keys = self._exact, set(forms)
            for key in keys:
                index[key] = (*index.get(key, ()), item)

    def copy(self) -> WordList:
        """An independent copy (cheap: index values are shared immutable tuples)."""
        new = WordList()
        new._patterns = dict(self._patterns)
        new._exact = dict(self._exact)
        new._prefix = dict(self._prefix)
        return new

    @property
    def patterns(self) -> tuple[Pattern, ...]:
        return tuple(self._patterns)

    def __len__(self) -> int:
        return len(self._patterns)

    def match(self, text: str) -> set[str]:
        """The categories ``text`` hits; empty if none."""
        return {pattern.category for pattern in self._scan(normalise(text), first_only=True)}

    def explain(self, text: str) -> list[Pattern]:
        """Every pattern ``text`` hits (for showing a worker why a banner appeared)."""
        return self._scan(normalise(text), first_only=False)

    def _scan(self, tokens: list[str], first_only: bool) -> list[Pattern]:
        present = set(tokens)
        keys = present | {token[:PREFIX_MIN] for token in present}
        viable: dict[str, list[_Indexed]] = {}  # per distinct word: patterns worth checking
        for token in present:
            items = [*self._exact.get(token, ()), *self._prefix.get(token[:PREFIX_MIN], ())]
            items = [i for i in items if i.anchor.matches(token) and i.needs <= keys]
            if items:
                viable[token] = items
        hits: list[Pattern] = []
        done: set[str] = set()
        for pos in [pos for pos, token in enumerate(tokens) if token in viable] if viable else ():
            for item in viable[tokens[pos]]:
                if first_only and item.pattern.category in done:
                    continue
                self.checks += 1
                if item.fits(tokens, pos):
                    hits.append(item.pattern)
                    done.add(item.pattern.category)
            if first_only and len(done) == len(CATEGORIES):
                break
        return hits


@cache
def _builtin_entries(language: str) -> tuple[Pattern, ...]:
    name = f"{language}.txt"
    path = resources.files("lykta.risk") / "wordlists" / name
    return tuple(parse_lines(path.read_text(encoding="utf-8-sig").splitlines(), name))


@cache
def _builtin_list(languages: tuple[str, ...]) -> WordList:
    return WordList(entry for language in languages for entry in _builtin_entries(language))


def load_builtin(languages: Iterable[str] = LANGUAGES) -> WordList:
    """The shipped lists (all languages by default), as a fresh copy the caller may extend.

    Files are read and indexed once per process; later calls only copy the index.
    """
    chosen = (languages,) if isinstance(languages, str) else tuple(dict.fromkeys(languages))
    unknown = [language for language in chosen if language not in LANGUAGES]
    if unknown:
        raise ValueError(f"no word list for {', '.join(unknown)}; have {', '.join(LANGUAGES)}")
    return _builtin_list(chosen).copy()
