"""What the two keyword engines share: paging, collapsing by thread, coverage, and the stored
form of a document. Each engine (search.whoosh_keyword, search.tantivy_keyword) ranks with
its own BM25 and only answers the few questions of EngineView; the rest is written once here.
"""

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from search.documents import SearchDocument
from search.query import Filters, KeywordMatch, Leaf, QueryTerms, coverage, word_weights

__all__ = ["Filters", "KeywordMatch", "KeywordQuery", "QueryTerms", "RankedKeywordIndex"]

# Collapsed pages look at this many matches per wanted thread first, more if threads repeat.
COLLAPSE_POOL_FACTOR = 4


@dataclass(frozen=True)
class KeywordQuery:
    """What an engine runs: the sum of the leaves' scores, among documents that pass the
    filters and contain every one of `required_words` (folded, in any field)."""

    leaves: tuple[Leaf, ...]
    filters: Filters
    required_words: tuple[str, ...] = ()


class EngineView(Protocol):
    """One consistent snapshot of an engine's index. Keys are the engine's document addresses."""

    def top(
        self, query: KeywordQuery, limit: int | None, *, newest_first: bool = False
    ) -> tuple[list[tuple[object, float]], int]:
        """The best `limit` (all if None) (key, score), and how many documents match. Newest
        first orders by date and scores nothing (score 0)."""
        ...

    def threads(self, keys: Sequence[object]) -> list[int]: ...

    def created(self, keys: Sequence[object]) -> list[int]:
        """Creation times, in seconds."""
        ...

    def thread_count(self, query: KeywordQuery) -> int:
        """How many threads have a matching document."""
        ...

    def documents(self, keys: Sequence[object]) -> list[SearchDocument]: ...

    def doc_ids(self, keys: Sequence[object]) -> list[str]: ...

    def doc_frequency(self, field: str, term: str) -> int: ...

    def doc_count(self) -> int: ...


class RankedKeywordIndex:
    """KeywordStore.search written once over an engine's views (see EngineView)."""

    def _reading(self) -> AbstractContextManager[EngineView]:
        raise NotImplementedError

    def search(
        self,
        terms: QueryTerms,
        filters: Filters,
        *,
        limit: int,
        offset: int = 0,
        newest_first: bool = False,
        require_all: bool = False,
        with_documents: bool = True,
        collapse: bool = False,
    ) -> tuple[list[KeywordMatch], int]:
        """The page [offset, offset+limit) of matches, and how many documents match.

        By relevance, a document matches if it contains any word; with require_all (always
        when sorting by date) it must contain every word, exactly or folded. Without
        documents, matches carry only ids and scores, and no coverage (None). With collapse,
        a thread's best match stands for it, and total counts threads.
        """
        if terms.is_empty():
            return [], 0
        words = terms.words()
        query = KeywordQuery(
            tuple(terms.leaves()), filters,
            tuple(words) if require_all or newest_first else (),
        )
        wanted = offset + limit
        with self._reading() as view:
            if collapse:
                ranked = _collapsed(view, query, wanted, newest_first)
                total = view.thread_count(query)
            else:
                ranked, total = view.top(query, wanted, newest_first=newest_first)
            page = ranked[offset:wanted]
            keys = [key for key, _score in page]
            if not with_documents:
                doc_ids = view.doc_ids(keys)
                return [
                    KeywordMatch(doc_id, score, None, None)
                    for doc_id, (_key, score) in zip(doc_ids, page, strict=True)
                ], total
            documents = view.documents(keys)
            weights = word_weights(
                words, view.doc_count(), lambda word: view.doc_frequency("body_f", word)
            )
        return [
            KeywordMatch(doc.doc_id, score, doc, coverage(doc, words, weights))
            for doc, (_key, score) in zip(documents, page, strict=True)
        ], total


def _collapsed(
    view: EngineView, query: KeywordQuery, wanted: int, newest_first: bool
) -> list[tuple[object, float]]:
    """The best `wanted` threads, each by its best-scoring document (newest first: those
    best documents, newest first)."""
    if newest_first:
        # Every thread's best document, then the newest of those: needs every match.
        ranked, _total = view.top(query, None)
        best = _first_per_thread(ranked, view.threads([key for key, _s in ranked]))
        created = view.created([key for key, _s in best])
        order = sorted(range(len(best)), key=lambda i: (-created[i], i))
        return [(best[i][0], 0.0) for i in order[:wanted]]
    take = wanted * COLLAPSE_POOL_FACTOR
    while True:
        ranked, _total = view.top(query, take)
        best = _first_per_thread(ranked, view.threads([key for key, _s in ranked]))
        if len(best) >= wanted or len(ranked) < take:
            return best[:wanted]
        take *= COLLAPSE_POOL_FACTOR


def _first_per_thread(ranked: list, threads: list[int]) -> list:
    seen: set[int] = set()
    kept = []
    for item, thread in zip(ranked, threads, strict=True):
        if thread not in seen:
            seen.add(thread)
            kept.append(item)
    return kept


def in_batches(items: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# The stored form of a document, the same in both engines -------------------------------------


def document_json(doc: SearchDocument) -> str:
    return json.dumps(
        [doc.doc_id, doc.kind, doc.question_id, doc.answer_id, doc.title, doc.body,
         list(doc.tags), doc.created_at.astimezone(UTC).isoformat(), doc.answer_count,
         doc.has_accepted, doc.score],
        ensure_ascii=False,
    )


def document_from_json(text: str | bytes) -> SearchDocument:
    (doc_id, kind, question_id, answer_id, title, body, tags, created_at, answer_count,
     has_accepted, score) = json.loads(text)
    return SearchDocument(
        doc_id=doc_id, kind=kind, question_id=question_id, answer_id=answer_id, title=title,
        body=body, tags=tuple(tags), created_at=datetime.fromisoformat(created_at),
        answer_count=answer_count, has_accepted=has_accepted, score=score,
    )


def is_answered(doc: SearchDocument) -> bool:
    """The `answered` filter: an answer belongs to an answered thread by definition; a
    question is answered when it has answers."""
    return doc.kind == "answer" or doc.answer_count > 0


def timestamp(moment: datetime) -> int:
    return int(moment.timestamp())


def unique_ids(doc_ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(doc_ids))
