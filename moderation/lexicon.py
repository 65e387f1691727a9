"""Phrase lists matched on whole words, diacritics-insensitively, teencode-aware, with an allowlist.

A lexicon file has one entry a line, columns separated by a tab or by two or more spaces,
and `#` starts a comment:

    phrase          category    severity    [exact]
    đm              profanity   review
    cặc             profanity   review      exact
    giết =mày       threat      severe

An entry matches a word typed with the same diacritics or with some left out ("dm", "đm");
different diacritics make a different word, so "lộn" never matches "lồn". An `exact` word must
be typed with all its diacritics, because its bare form is an ordinary word ("cac" is usually
"các", "may" is "máy"): the fourth column makes every word of the entry exact, a leading "="
only that word. An exact word with no diacritics at all (like "ngu") only counts in a text
written with diacritics, where a bare word is what it says, not "ngủ" typed without marks.
Obfuscated spellings ("c.ặ.c", "l0n", "n g u") match by their folded form alone: nobody spells
"các" out letter by letter.

An allowlist file has one phrase a line; a match that lies inside an allowlisted phrase
("hạt óc chó", "buồi sáng" typed for "buổi sáng", "chết đi được") is dropped. Allowlisted
phrases match folded.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .text import (
    Lattice,
    Token,
    fold,
    has_marks,
    is_marked_text,
    marks_compatible,
    tokenize,
)

SEVERITIES = ("review", "severe")
_COLUMN_GAP = re.compile(r"\t+| {2,}")


@dataclass(frozen=True)
class LexiconEntry:
    phrase: str
    words: tuple[str, ...]
    category: str
    severity: str = "review"
    exact_words: tuple[bool, ...] = ()


@dataclass(frozen=True)
class Match:
    """An entry found in a text: token positions [first, last) and offsets [start, end)."""

    entry: LexiconEntry
    first: int
    last: int
    start: int
    end: int


def make_entry(
    phrase: str, category: str, severity: str = "review", exact: bool = False
) -> LexiconEntry:
    """An entry from its written form; `exact` makes every word exact, "=word" just that one."""
    words: list[str] = []
    exact_words: list[bool] = []
    for written in phrase.split():
        word_is_exact = exact or written.startswith("=")
        for token in tokenize(written.removeprefix("=")):
            words.append(token.text)
            exact_words.append(word_is_exact)
    if not words:
        raise ValueError(f"lexicon phrase has no words: {phrase!r}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r} for {phrase!r}")
    return LexiconEntry(" ".join(words), tuple(words), category, severity, tuple(exact_words))


def read_lexicon_file(path: str | Path) -> list[LexiconEntry]:
    entries = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        columns = _COLUMN_GAP.split(line)
        if len(columns) < 3 or len(columns) > 4 or columns[3:] not in ([], ["exact"]):
            raise ValueError(f"{path}:{number}: expected phrase, category, severity[, exact]")
        entries.append(make_entry(columns[0], columns[1], columns[2], columns[3:] == ["exact"]))
    return entries


def read_phrase_file(path: str | Path) -> list[str]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


class _Trie:
    """Phrases keyed by their folded words; `walk` yields every phrase found in a lattice."""

    def __init__(self):
        self._root: dict = {}

    def add(self, folded_words: Iterable[str], payload) -> None:
        node = self._root
        for word in folded_words:
            node = node.setdefault(word, {})
        node.setdefault(None, []).append(payload)

    def walk(self, lattice: Lattice) -> Iterator[tuple[object, int, int, tuple[Token, ...]]]:
        for position in range(len(lattice.tokens)):
            yield from self._walk_from(self._root, lattice, position, position, ())

    def _walk_from(self, node, lattice, first, position, path):
        for edge in lattice.edges_from(position):
            for variant in edge.variants:
                child = node.get(variant.folded)
                if child is None:
                    continue
                words = (*path, variant)
                for payload in child.get(None, ()):
                    yield payload, first, edge.last, words
                yield from self._walk_from(child, lattice, first, edge.last, words)


class Lexicon:
    """Finds lexicon entries in a text, minus those inside allowlisted phrases."""

    def __init__(self, entries: Iterable[LexiconEntry], allowlist: Iterable[str] = ()):
        self.entries = tuple(entries)
        self._trie = _Trie()
        for entry in self.entries:
            self._trie.add((fold(word) for word in entry.words), entry)
        self._allowlist = _Trie()
        for phrase in allowlist:
            folded = [token.folded for token in tokenize(phrase)]
            if folded:
                self._allowlist.add(folded, phrase)

    @classmethod
    def load(cls, path: str | Path, allowlist_path: str | Path | None = None) -> "Lexicon":
        allowlist = read_phrase_file(allowlist_path) if allowlist_path else []
        return cls(read_lexicon_file(path), allowlist)

    def find(self, text: str, marked_text: bool | None = None) -> list[Match]:
        """Entries in `text`, longest first where they overlap; offsets index `text` itself.

        `marked_text` says whether the author writes with diacritics (see `is_marked_text`);
        pass it when a post has several fields so that all are judged alike.
        """
        lattice = Lattice(text)
        if marked_text is None:
            marked_text = is_marked_text(lattice.tokens)
        allowed = [(first, last) for _, first, last, _ in self._allowlist.walk(lattice)]
        found: dict[tuple[LexiconEntry, int, int], Match] = {}
        for entry, first, last, words in self._trie.walk(lattice):
            if (entry, first, last) in found or not _words_agree(entry, words, marked_text):
                continue
            if any(a <= first and last <= b for a, b in allowed):
                continue
            found[(entry, first, last)] = Match(entry, first, last, words[0].start, words[-1].end)
        return _drop_contained(sorted(found.values(), key=lambda m: (m.start, m.start - m.end)))


def _words_agree(entry: LexiconEntry, words: tuple[Token, ...], marked_text: bool) -> bool:
    for entry_word, exact, token in zip(entry.words, entry.exact_words, words, strict=True):
        if token.obfuscated:
            continue
        if not marks_compatible(token.text, entry_word):
            return False
        if exact and token.text != entry_word:
            return False
        if exact and not has_marks(entry_word) and not marked_text:
            return False
    return True


def _drop_contained(matches: list[Match]) -> list[Match]:
    """Keep "địt mẹ mày" and drop the "địt mẹ" inside it: one finding per stretch of text.

    `matches` are sorted by start, longest first, so any match that contains another comes
    before it; matches over exactly the same text (two entries) are all kept.
    """
    kept: list[Match] = []
    cover: tuple[int, int] | None = None  # the span reaching furthest right so far
    for match in matches:
        contained = (
            cover is not None
            and cover[1] >= match.end
            and (cover[0], cover[1]) != (match.start, match.end)
        )
        if not contained:
            kept.append(match)
        if cover is None or match.end > cover[1]:
            cover = (match.start, match.end)
    return kept
