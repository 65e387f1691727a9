"""Vietnamese text for matching: words with offsets into the original, folded and de-obfuscated.

Members type with or without diacritics and in teencode, and people who want to insult someone
hide words: "đ.ị.t", "n g u", "l0n", "nguuuu". `tokenize` turns a text into words that carry
three things: the word as typed (lowercase NFC, leetspeak decoded), the word folded (no
diacritics, "đ" -> "d"), and its start/end offsets in the ORIGINAL string, so that reasons can
highlight exactly what the author wrote. Letters spelled out one by one ("n g u") become extra
candidate words over the same positions (see `Lattice`).
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Leetspeak in a word that has letters and no digits but these ("l0n", "0c ch0", "đ1t").
# Other words with digits are prices or model names ("125cc", "h264") and are left alone.
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "@": "a", "$": "s"}
# Characters that may sit between the letters of one word ("đ.ị.t", "d-m", "c*c", "đ'm").
JOINERS = frozenset(".-_*'`~+")
# Gap between letters spelled out one by one: spaces and joiners, nothing else.
MAX_SPELLED_GAP = 3
MAX_SPELLED_RUN = 12


@dataclass(frozen=True)
class Token:
    """One word: as typed (lowercase NFC), folded, and where it is in the original text."""

    text: str
    folded: str
    start: int
    end: int
    obfuscated: bool = False


@lru_cache(maxsize=4096)
def _base_and_marks(char: str) -> tuple[str, frozenset[str]]:
    if char == "đ":
        return "d", frozenset({"stroke"})
    decomposed = unicodedata.normalize("NFD", char)
    return decomposed[0], frozenset(decomposed[1:])


def fold(text: str) -> str:
    """Lowercase NFC text without diacritics: "Đăng Ký" -> "dang ky"."""
    normalized = unicodedata.normalize("NFC", text).lower()
    return "".join(_base_and_marks(char)[0] if not char.isascii() else char for char in normalized)


def has_marks(word: str) -> bool:
    return any(not char.isascii() and _base_and_marks(char)[1] for char in word)


def marks_compatible(typed: str, entry: str) -> bool:
    """True if `typed` is `entry` with some diacritics possibly left out, but none changed.

    "lon" and "lôn" are compatible with "lồn"; "lộn" (mistake) is not: its marks are different,
    so it is a different word.
    """
    if len(typed) != len(entry):
        return False
    for typed_char, entry_char in zip(typed, entry, strict=True):
        if typed_char == entry_char:
            continue
        typed_base, typed_marks = _base_and_marks(typed_char)
        entry_base, entry_marks = _base_and_marks(entry_char)
        if typed_base != entry_base or not typed_marks <= entry_marks:
            return False
    return True


def _characters(text: str) -> list[tuple[str, int, int]]:
    """(lowercase NFC character, start, end in `text`): a base letter keeps its combining marks."""
    characters = []
    index = 0
    while index < len(text):
        end = index + 1
        while end < len(text) and unicodedata.combining(text[end]):
            end += 1
        for char in unicodedata.normalize("NFC", text[index:end]).lower():
            characters.append((char, index, end))
        index = end
    return characters


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char in "@$"


def tokenize(text: str) -> list[Token]:
    """Words of `text` in order; joiners inside a word are dropped and leetspeak decoded."""
    characters = _characters(text)
    tokens = []
    index = 0
    while index < len(characters):
        if not _is_word_char(characters[index][0]):
            index += 1
            continue
        pieces = [[characters[index]]]
        index += 1
        while index < len(characters):
            char = characters[index][0]
            if _is_word_char(char):
                pieces[-1].append(characters[index])
                index += 1
            elif char in JOINERS and (after := _after_joiners(characters, index)) is not None:
                pieces.append([])
                index = after
            else:
                break
        tokens.append(_make_token(pieces))
    return tokens


def _after_joiners(characters: list[tuple[str, int, int]], index: int) -> int | None:
    """Index of the word character after a short run of joiners at `index` ("f**k"), or None."""
    end = index
    while end < len(characters) and end - index < 3 and characters[end][0] in JOINERS:
        end += 1
    if end < len(characters) and _is_word_char(characters[end][0]):
        return end
    return None


def _make_token(pieces: list[list[tuple[str, int, int]]]) -> Token:
    typed = "".join(char for piece in pieces for char, _, _ in piece)
    decoded = typed
    has_letters = any(char.isalpha() for char in typed)
    if has_letters and all(char in LEET for char in typed if not char.isalpha()):
        decoded = "".join(LEET.get(char, char) for char in typed)
    spelled_out = len(pieces) > 1 and any(len(piece) == 1 for piece in pieces)
    return Token(
        text=decoded,
        folded=fold(decoded),
        start=pieces[0][0][1],
        end=pieces[-1][-1][2],
        obfuscated=decoded != typed or spelled_out,
    )


_REPEATED_3 = re.compile(r"(.)\1\1+")
_REPEATED_2 = re.compile(r"(.)\1+")


def squeezed_variants(token: Token) -> list[Token]:
    """The token, then with letters repeated for emphasis cut to two and to one ("đmmm" -> "đm")."""
    variants = [token]
    if not _REPEATED_2.search(token.text):
        return variants
    for text in (_REPEATED_3.sub(r"\1\1", token.text), _REPEATED_2.sub(r"\1", token.text)):
        if all(text != variant.text for variant in variants):
            variants.append(Token(text, fold(text), token.start, token.end, token.obfuscated))
    return variants


@dataclass(frozen=True)
class Edge:
    """A candidate word spanning token positions [first, last), with its squeezed variants."""

    first: int
    last: int
    token: Token
    variants: tuple[Token, ...]


def _edge(first: int, last: int, token: Token) -> Edge:
    return Edge(first, last, token, tuple(squeezed_variants(token)))


class Lattice:
    """The words of a text plus letters spelled out one by one joined into candidate words.

    "thằng n g u" has tokens thằng, n, g, u (positions 0-3) and extra edges "ng" (1-3),
    "gu" (2-4) and "ngu" (1-4), so a lexicon finds "ngu" while "n" alone matches nothing.
    """

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self._edges: list[list[Edge]] = [
            [_edge(position, position + 1, token)] for position, token in enumerate(self.tokens)
        ]
        for first, last in self._spelled_runs():
            for start in range(first, last - 1):
                for end in range(start + 2, min(last, start + MAX_SPELLED_RUN) + 1):
                    self._edges[start].append(_edge(start, end, self._joined(start, end)))

    def edges_from(self, position: int) -> list[Edge]:
        return self._edges[position] if position < len(self._edges) else []

    def _spelled_runs(self) -> list[tuple[int, int]]:
        runs = []
        start = None
        for position, token in enumerate(self.tokens):
            single = len(token.text) == 1 and token.text.isalpha()
            joined = (
                start is not None
                and single
                and self._is_spelling_gap(self.tokens[position - 1].end, token.start)
            )
            if joined:
                continue
            if start is not None and position - start >= 2:
                runs.append((start, position))
            start = position if single else None
        if start is not None and len(self.tokens) - start >= 2:
            runs.append((start, len(self.tokens)))
        return runs

    def _is_spelling_gap(self, start: int, end: int) -> bool:
        gap = self.text[start:end]
        return 0 < len(gap) <= MAX_SPELLED_GAP and all(
            char in JOINERS or char == " " for char in gap
        )

    def _joined(self, start: int, end: int) -> Token:
        parts = self.tokens[start:end]
        text = "".join(token.text for token in parts)
        return Token(text, fold(text), parts[0].start, parts[-1].end, obfuscated=True)


def is_marked_text(tokens: list[Token]) -> bool:
    """Whether the author writes with diacritics, judged on ordinary (non-obfuscated) words.

    In such a text a bare "ngu" means "ngu" (stupid); typed without any diacritics it could as
    well be "ngủ" (sleep) or "ngữ" (language).
    """
    words = [token for token in tokens if len(token.text) >= 2 and token.text.isalpha()]
    marked = sum(1 for token in words if has_marks(token.text))
    return marked > 0 and marked >= 0.2 * len(words)
