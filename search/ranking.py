"""Keyword ranking shared by both backends: query terms, filters, and BM25 with numpy.

A backend hands over its documents as parts (a Whoosh segment, or all of PostgreSQL's
documents at once), each numbered 0..count-1, with the BM25 term-frequency part ("impact")
of every posting. Scores are summed with vector operations, which also gives the exact
number of matches for free. Queries are lists of terms, never parsed text, so user input
cannot inject query syntax.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np

from search.documents import SearchDocument
from search.vietnamese import bigrams, fold

TEXT_FIELDS = ("title", "title_f", "body", "body_f", "tag_words")
EXACT_FIELDS = ("title", "body")  # the others hold folded text
# Field weights: a word in the title counts most, then a tag, then the body.
FIELD_BOOSTS = {"title": 3.0, "tag_words": 2.0, "body": 1.0}
# A bigram match means the compound itself matched ("dịch vụ"), not two stray syllables.
BIGRAM_BOOST = 3.0
# When diacritics were typed, a folded-only match counts this much of an exact match.
FOLDED_SHARE = 0.4
BM25_K1 = 1.2
BM25_B = {"title": 0.5, "title_f": 0.5, "body": 0.75, "body_f": 0.75, "tag_words": 0.3}
MAX_QUERY_WORDS = 32  # words beyond this are ignored (a match mask has 32 bits)


@dataclass(frozen=True)
class Filters:
    tag: str | None = None
    kind: str | None = None  # "question" | "answer"
    answered: bool | None = None  # thread has answers (answers always belong to one)
    accepted: bool | None = None  # question: has an accepted answer; answer: is accepted
    date_from: datetime | None = None
    date_to: datetime | None = None


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
        return unique(token for phrase in self.folded_phrases for token in phrase)

    def is_empty(self) -> bool:
        return not self.folded_phrases

    def leaves(self) -> list["Leaf"]:
        """(field, term, boost, word) for every term to look up; word -1 marks a bigram."""
        folded_words = self.words()[:MAX_QUERY_WORDS]
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


@dataclass(frozen=True)
class Leaf:
    field: str
    term: str
    boost: float
    word: int


@dataclass(frozen=True)
class KeywordMatch:
    doc_id: str
    score: float
    document: SearchDocument | None  # None when asked for ids only
    coverage: float  # share of the query's words (weighted by rarity) the document contains


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def idf(doc_count: int, frequency: int) -> float:
    return float(np.log(1 + (doc_count - frequency + 0.5) / (frequency + 0.5)))


def bm25_impacts(counts: np.ndarray, lengths: np.ndarray, average: float, field: str):
    """BM25's term-frequency part of each posting; only idf and boost are left for query time.
    float16 keeps three digits, plenty for ranking, in half the memory."""
    b = BM25_B[field]
    norm = BM25_K1 * (1 - b + b * lengths / average)
    return ((BM25_K1 + 1) * counts / (counts + norm)).astype(np.float16)


class RankPart(Protocol):
    """Documents numbered 0..count-1, as a backend holds them."""

    count: int
    alive: np.ndarray  # bool per document: False for deleted ones
    created_ts: np.ndarray  # int64 seconds per document

    def postings(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, BM25 impacts) of a term; may include deleted documents."""
        ...

    def filter_mask(self, filters: Filters) -> np.ndarray: ...

    def threads(self) -> np.ndarray:
        """The question id of each document, for collapsing results by thread."""
        ...


@dataclass(frozen=True)
class Ranked:
    part: int
    local: int  # the document's number in its part
    score: float
    words: int  # bit mask of the query words the document contains (folded, any field)


@dataclass(frozen=True)
class Ranking:
    ranked: list[Ranked]  # best first, at most `wanted`
    total: int  # matching documents (threads, when collapsed)
    word_weights: np.ndarray  # each query word's share of the query, by rarity

    def coverage(self, words: int) -> float:
        bits = np.uint32(1) << np.arange(len(self.word_weights), dtype=np.uint32)
        return float(self.word_weights[(np.uint32(words) & bits) > 0].sum())


def rank(
    parts: Sequence[RankPart],
    terms: QueryTerms,
    filters: Filters,
    doc_count: int,
    *,
    wanted: int,
    newest_first: bool = False,
    require_all: bool = False,
    collapse: bool = False,
) -> Ranking:
    """The best `wanted` matches over all parts, and how many documents match.

    By relevance, a document matches if it contains any word; with require_all it must
    contain every word, exactly or folded. Documents that contain more of the query's words
    rank higher. With collapse, each thread counts once, by its best-scoring document.
    """
    leaves = terms.leaves()
    word_count = min(len(terms.words()), MAX_QUERY_WORDS)
    all_words = (1 << word_count) - 1
    doc_count = max(doc_count, 1)
    postings = [
        {(leaf.field, leaf.term): part.postings(leaf.field, leaf.term) for leaf in leaves}
        for part in parts
    ]
    df: Counter = Counter()
    for by_term in postings:
        for key, (ids, _impact) in by_term.items():
            df[key] += len(ids)
    # Each word's weight for coverage: its idf in the folded body (rare words count more).
    word_weights = np.zeros(max(word_count, 1), np.float32)
    for leaf in leaves:
        if leaf.field == "body_f" and 0 <= leaf.word < word_count:
            word_weights[leaf.word] = idf(doc_count, df[leaf.field, leaf.term])
    word_weights /= max(float(word_weights.sum()), 1e-9)
    columns: list[tuple] = []  # per part: locals, final scores, sort keys, word masks
    total = 0
    for position, part in enumerate(parts):
        scores = np.zeros(part.count, np.float32)
        words = np.zeros(part.count, np.uint32)
        for leaf in leaves:
            ids, impact = postings[position][leaf.field, leaf.term]
            if len(ids) == 0:
                continue
            weight = idf(doc_count, df[leaf.field, leaf.term]) * leaf.boost
            scores[ids] += np.float32(weight) * impact
            # An exact match is also a folded match, which already marked the word.
            if leaf.word >= 0 and leaf.field not in EXACT_FIELDS:
                words[ids] |= np.uint32(1 << leaf.word)
        usable = part.alive & (words == all_words) if require_all else part.alive & (scores > 0)
        usable &= part.filter_mask(filters)
        matched = np.flatnonzero(usable)
        total += len(matched)
        if len(matched) == 0:
            continue
        coverage = np.bitwise_count(words[matched]).astype(np.float32) / max(word_count, 1)
        final = scores[matched] * (0.5 + 0.5 * coverage)
        keys = part.created_ts[matched].astype(np.float64) if newest_first else final
        columns.append((position, matched, final, keys, words[matched]))
    if collapse:
        return _collapsed(parts, columns, wanted, newest_first, word_weights)
    candidates = []
    for position, matched, final, keys, words in columns:
        top = _top(keys, wanted)
        candidates.extend(
            (float(keys[i]), position, int(matched[i]), float(final[i]), int(words[i]))
            for i in top
        )
    candidates.sort(key=lambda item: (-item[0], item[1], item[2]))
    ranked = [
        Ranked(position, local, score, words)
        for _key, position, local, score, words in candidates[:wanted]
    ]
    return Ranking(ranked, total, word_weights)


def _top(keys: np.ndarray, wanted: int) -> np.ndarray:
    if len(keys) > wanted:
        return np.argpartition(-keys, wanted - 1)[:wanted]
    return np.arange(len(keys))


def _collapsed(
    parts: Sequence[RankPart],
    columns: list[tuple],
    wanted: int,
    newest_first: bool,
    word_weights: np.ndarray,
) -> Ranking:
    """The best `wanted` threads, each by its best-scoring document, and how many match."""
    if not columns:
        return Ranking([], 0, word_weights)
    positions = np.concatenate([np.full(len(c[1]), c[0], np.int32) for c in columns])
    matched = np.concatenate([c[1] for c in columns])
    final = np.concatenate([c[2] for c in columns])
    keys = np.concatenate([c[3] for c in columns])
    words = np.concatenate([c[4] for c in columns])
    threads = np.concatenate([parts[c[0]].threads()[c[1]] for c in columns])
    if newest_first:
        # Every thread's best document first, then the newest of those.
        order = np.lexsort((-final, threads))  # stable: ties keep part and number order
        first = np.ones(len(order), bool)
        first[1:] = threads[order][1:] != threads[order][:-1]
        best = order[first]
        chosen = best[_top(keys[best], wanted)]
        chosen = chosen[np.lexsort((chosen, -keys[chosen]))]
    else:
        chosen = _first_threads(threads, final, wanted)
    ranked = [
        Ranked(int(positions[i]), int(matched[i]), float(final[i]), int(words[i]))
        for i in chosen
    ]
    return Ranking(ranked, _count_distinct(threads), word_weights)


def _first_threads(threads: np.ndarray, scores: np.ndarray, wanted: int) -> np.ndarray:
    """Going down the scores, the first document of each thread, until `wanted` threads:
    only the top of the scores is sorted, more of it when threads repeat a lot."""
    take = min(len(scores), wanted * 4)
    while True:
        if take < len(scores):
            top = np.argpartition(-scores, take - 1)[:take]
        else:
            top = np.arange(len(scores))
        top = top[np.lexsort((top, -scores[top]))]
        _threads, first = np.unique(threads[top], return_index=True)
        chosen = top[np.sort(first)]
        if len(chosen) >= wanted or take == len(scores):
            return chosen[:wanted]
        take = min(len(scores), take * 4)


def _count_distinct(threads: np.ndarray) -> int:
    if len(threads) and threads.min() >= 0 and threads.max() < 50_000_000:
        seen = np.zeros(int(threads.max()) + 1, bool)
        seen[threads] = True
        return int(np.count_nonzero(seen))
    return len(np.unique(threads))
