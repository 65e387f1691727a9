"""What both keyword engines (Whoosh, tantivy) are asked: a query as index terms with boosts,
filters, and what comes back (KeywordMatch). Queries are lists of terms, never parsed text,
so user input cannot inject query syntax.

The engines score with their own BM25; what is computed here, the same for both, is a
match's coverage: the rarity-weighted share of the query's words a document contains.
"""

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from search.documents import SearchDocument
from search.vietnamese import bigrams, fold, folded_words, index_terms

TEXT_FIELDS = ("title", "title_f", "body", "body_f", "tag_words")
FOLDED_FIELDS = ("title_f", "body_f", "tag_words")  # the others hold exact (NFC) text
# Field weights: a word in the title counts most, then a tag, then the body.
FIELD_BOOSTS = {"title": 3.0, "tag_words": 2.0, "body": 1.0}
# A bigram match means the compound itself matched ("dịch vụ"), not two stray syllables.
BIGRAM_BOOST = 3.0
# When diacritics were typed, a folded-only match counts this much of an exact match.
FOLDED_SHARE = 0.4
# BM25 length normalization per field: short fields (titles, tags) are normalized less.
BM25_K1 = 1.2
BM25_B = {"title": 0.5, "title_f": 0.5, "body": 0.75, "body_f": 0.75, "tag_words": 0.3}
MAX_QUERY_WORDS = 32  # words beyond this are ignored


@dataclass(frozen=True)
class Filters:
    tag: str | None = None
    kind: str | None = None  # "question" | "answer"
    answered: bool | None = None  # thread has answers (answers always belong to one)
    accepted: bool | None = None  # question: has an accepted answer; answer: is accepted
    date_from: datetime | None = None
    date_to: datetime | None = None


@dataclass(frozen=True)
class Leaf:
    field: str
    term: str
    boost: float
    word: int  # the query word (index in QueryTerms.words()) it stands for; -1: a bigram


@dataclass(frozen=True)
class KeywordMatch:
    doc_id: str
    score: float
    document: SearchDocument | None  # None when asked for ids only
    # The rarity-weighted share of the query's words the document contains (None when asked
    # for ids only).
    coverage: float | None


@dataclass(frozen=True)
class QueryTerms:
    """A query as index terms: folded words always; exact words if diacritics are known.

    Exact words come from the user (typed with diacritics, weight 1) or from the diacritic
    restorer (weight below 1, by its confidence). Folded matching is the fallback.
    """

    folded_phrases: tuple[tuple[str, ...], ...]
    exact_phrases: tuple[tuple[str, ...], ...] | None = None
    exact_weight: float = 1.0

    @classmethod
    def from_phrases(
        cls,
        typed: list[list[str]],
        *,
        typed_with_diacritics: bool,
        restored: list[list[str]] | None = None,
        restored_weight: float = 0.0,
    ) -> "QueryTerms":
        folded = tuple(tuple(fold(token) for token in phrase) for phrase in typed)
        if typed_with_diacritics:
            return cls(folded, tuple(tuple(p) for p in typed), 1.0)
        if restored is not None and restored_weight > 0:
            return cls(folded, tuple(tuple(p) for p in restored), restored_weight)
        return cls(folded)

    @property
    def typed_with_diacritics(self) -> bool:
        return self.exact_phrases is not None and self.exact_weight >= 1.0

    def words(self) -> list[str]:
        """The query's distinct folded words, at most MAX_QUERY_WORDS."""
        return unique(token for phrase in self.folded_phrases for token in phrase)[
            :MAX_QUERY_WORDS
        ]

    def is_empty(self) -> bool:
        return not self.folded_phrases

    def leaves(self) -> list[Leaf]:
        """Every (field, term, boost) to look up: the query both engines run is their sum."""
        folded_words = self.words()
        word_index = {word: i for i, word in enumerate(folded_words)}
        folded_share = FOLDED_SHARE if self.typed_with_diacritics else 1.0
        leaves: dict[tuple[str, str], Leaf] = {}

        def add(field: str, term: str, boost: float, word: int) -> None:
            key = (field, term)
            if key not in leaves:
                leaves[key] = Leaf(field, term, boost, word)

        for word in folded_words:
            add("title_f", word, FIELD_BOOSTS["title"] * folded_share, word_index[word])
            add("body_f", word, FIELD_BOOSTS["body"] * folded_share, word_index[word])
            add("tag_words", word, FIELD_BOOSTS["tag_words"], word_index[word])
        # Bigrams are indexed folded only; the exact syllables already reward diacritics.
        for phrase in self.folded_phrases:
            for pair in bigrams(list(phrase)):
                add("title_f", pair, FIELD_BOOSTS["title"] * BIGRAM_BOOST, -1)
                add("body_f", pair, FIELD_BOOSTS["body"] * BIGRAM_BOOST, -1)
        if self.exact_phrases is not None:
            weight = self.exact_weight
            for phrase in self.exact_phrases:
                for token in phrase:
                    word = word_index.get(fold(token), -1)
                    add("title", token, FIELD_BOOSTS["title"] * weight, word)
                    add("body", token, FIELD_BOOSTS["body"] * weight, word)
        return list(leaves.values())


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def idf(doc_count: int, frequency: int) -> float:
    return math.log(1 + (doc_count - frequency + 0.5) / (frequency + 0.5))


def document_text_fields(doc: SearchDocument) -> dict[str, str]:
    """The text of each indexed field (title_f and body_f are analyzed folded)."""
    return {
        "title": doc.title,
        "title_f": doc.title,
        "body": doc.body,
        "body_f": doc.body,
        "tag_words": " ".join(tag.replace("-", " ") for tag in doc.tags),
    }


def is_folded(field: str) -> bool:
    return field in FOLDED_FIELDS


def field_terms(doc: SearchDocument) -> dict[str, list[str]]:
    """Each text field's index terms (search.vietnamese.index_terms): what both engines index."""
    return {
        field: index_terms(text, folded=is_folded(field))
        for field, text in document_text_fields(doc).items()
    }


def word_weights(words: list[str], doc_count: int, frequency: Callable[[str], int]) -> list[float]:
    """Each query word's share of the query for coverage: its idf in the folded body (rare
    words count more), normalized to sum to 1. `frequency(word)` is the engine's document
    frequency of the word in body_f. Engines count deleted documents in a frequency until
    their segments merge, and not in doc_count: a frequency is capped at the count."""
    doc_count = max(doc_count, 1)
    weights = [idf(doc_count, min(frequency(word), doc_count)) for word in words]
    total = sum(weights)
    return [w / total for w in weights] if total > 1e-9 else [0.0] * len(words)


def coverage(doc: SearchDocument, words: list[str], weights: list[float]) -> float:
    """The weighted share of the query's (folded) words the document contains, in any field."""
    text = "\n".join((doc.title, doc.body, " ".join(tag.replace("-", " ") for tag in doc.tags)))
    present = folded_words(text)
    return sum(weight for word, weight in zip(words, weights, strict=True) if word in present)
