"""Keyword index on Whoosh: Whoosh stores and analyzes the documents; numpy scores queries.

Whoosh's own matchers walk postings one document at a time in Python; on 100k documents a
three-word OR took ~220 ms. Here each query term's postings are decoded whole into numpy
arrays (search.postings; cached per immutable segment with their BM25 term-frequency part),
and search.ranking sums the scores with vector operations: ~5-15 ms per query at 100k posts.
"""

import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from whoosh import fields, index
from whoosh.analysis import Token, Tokenizer

from search.documents import SearchDocument
from search.postings import PostingCache, SegmentArrays, posting_arrays
from search.ranking import (
    TEXT_FIELDS,
    Filters,
    KeywordMatch,
    QueryTerms,
    bm25_impacts,
    rank,
)
from search.vietnamese import index_terms

__all__ = ["Filters", "KeywordIndex", "KeywordMatch", "QueryTerms"]

_POSTING_BYTES = 6  # a cached posting: int32 docnum + float16 impact
WARM_MIN_SEGMENT = 5000  # after a commit, warm the postings of new segments this big


class VietnameseAnalyzer(Tokenizer):
    """Whoosh analyzer: exact syllables, or folded syllables and bigrams (index_terms)."""

    def __init__(self, folded: bool = False):
        self.folded = folded

    def __eq__(self, other):
        return type(other) is type(self) and other.folded == self.folded

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        terms = index_terms(value, folded=self.folded) if tokenize else [value]
        for position, text in enumerate(terms, start_pos):
            token.text = text
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = position
            yield token


def _text_field(folded: bool) -> fields.TEXT:
    return fields.TEXT(analyzer=VietnameseAnalyzer(folded), phrase=False)


def make_schema() -> fields.Schema:
    return fields.Schema(
        doc_id=fields.ID(stored=True, unique=True),
        kind=fields.ID(),
        thread=fields.ID(),  # the question id, to find a thread's question
        title=_text_field(folded=False),
        title_f=_text_field(folded=True),
        body=_text_field(folded=False),
        body_f=_text_field(folded=True),
        tag_words=_text_field(folded=True),
        tags=fields.KEYWORD(commas=True),
        answered=fields.BOOLEAN(),
        has_accepted=fields.BOOLEAN(),
        created_ts=fields.NUMERIC(bits=64, signed=False, sortable=True, default=0),
        document=fields.STORED(),  # everything needed to rebuild the SearchDocument
        content_hash=fields.STORED(),
    )


def document_fields(doc: SearchDocument) -> dict:
    return {
        "doc_id": doc.doc_id,
        "kind": doc.kind,
        "thread": str(doc.question_id),
        "title": doc.title,
        "title_f": doc.title,
        "body": doc.body,
        "body_f": doc.body,
        "tag_words": " ".join(tag.replace("-", " ") for tag in doc.tags),
        "tags": ",".join(doc.tags),
        # An answer belongs to an answered thread by definition.
        "answered": doc.kind == "answer" or doc.answer_count > 0,
        "has_accepted": doc.has_accepted,
        "created_ts": _timestamp(doc.created_at),
        "document": _to_stored(doc),
        "content_hash": doc.content_hash,
    }


def _timestamp(moment: datetime) -> int:
    return int(moment.timestamp())


def _to_stored(doc: SearchDocument) -> tuple:
    return (doc.kind, doc.question_id, doc.answer_id, doc.title, doc.body, doc.tags,
            doc.created_at.astimezone(UTC).isoformat(), doc.answer_count, doc.has_accepted,
            doc.score)


def stored_to_document(stored: dict) -> SearchDocument:
    (kind, question_id, answer_id, title, body, tags, created_at, answer_count, has_accepted,
     score) = stored["document"]
    return SearchDocument(
        doc_id=stored["doc_id"], kind=kind, question_id=question_id, answer_id=answer_id,
        title=title, body=body, tags=tuple(tags), created_at=datetime.fromisoformat(created_at),
        answer_count=answer_count, has_accepted=has_accepted, score=score,
    )


class _Snapshot:
    """A searcher plus the numpy view of its segments; closed when replaced and unused."""

    def __init__(self, searcher, arrays_by_segment: dict):
        self.searcher = searcher
        self.lock = threading.Lock()  # Whoosh readers seek shared files: one reader at a time
        self.users = 0
        self.retired = False
        self.segments = []
        for reader, offset in searcher.reader().leaf_readers():
            if reader.doc_count_all() == 0:
                continue  # an empty index has an EmptyReader, which has no segment
            segment_id = reader.segment().segment_id()
            arrays = arrays_by_segment.get(segment_id) or SegmentArrays(reader, TEXT_FIELDS)
            arrays_by_segment[segment_id] = arrays
            self.segments.append((segment_id, reader, offset, arrays,
                                  SegmentArrays.alive_mask(reader)))
        self.doc_count = searcher.doc_count_all()
        self.averages = {
            field: max(searcher.field_length(field) / max(self.doc_count, 1), 1.0)
            for field in TEXT_FIELDS
        }


class _SegmentPart:
    """One segment of a snapshot, as search.ranking reads it."""

    def __init__(self, keyword: "KeywordIndex", snapshot: _Snapshot, segment: tuple):
        self.keyword = keyword
        self.snapshot = snapshot
        self.segment_id, self.reader, self.offset, self.arrays, self.alive = segment
        self.count = self.arrays.count
        self.created_ts = self.arrays.created_ts

    def postings(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        with self.snapshot.lock:
            ids, impact, _average = self.keyword._impacts(
                self.snapshot, self.segment_id, self.reader, self.arrays, field, term
            )
        return ids, impact

    def filter_mask(self, filters: Filters) -> np.ndarray:
        return self.keyword._filter_mask(
            self.snapshot, self.segment_id, self.reader, self.arrays, filters
        )

    def threads(self) -> np.ndarray:
        with self.snapshot.lock:
            return self.arrays.threads(self.reader)


class KeywordIndex:
    """The Whoosh index. One writer at a time (the caller's lock); searches run concurrently."""

    def __init__(
        self, directory: Path, *, posting_cache_mb: int = 160, write_buffer_mb: int = 512
    ):
        """write_buffer_mb: postings Whoosh keeps in memory before sorting them through temporary
        files; 10k posts fit in 512 MB (about 250 MB of real memory), which indexes twice as
        fast as the default 128 MB. Only a big batch (sync) ever fills it."""
        self.directory = directory
        self.write_buffer_mb = write_buffer_mb
        directory.mkdir(parents=True, exist_ok=True)
        if index.exists_in(str(directory)):
            self.index = index.open_dir(str(directory))
        else:
            self.index = index.create_in(str(directory), make_schema())
        self._postings = PostingCache(posting_cache_mb << 20)
        self._arrays: dict[str, SegmentArrays] = {}
        self._swap_lock = threading.Lock()
        self._snapshot = self._open_snapshot()

    # Snapshots -----------------------------------------------------------------------------

    def _open_snapshot(self) -> _Snapshot:
        snapshot = _Snapshot(self.index.searcher(), self._arrays)
        live = {segment_id for segment_id, *_ in snapshot.segments}
        for segment_id in list(self._arrays):
            if segment_id not in live:
                del self._arrays[segment_id]
        return snapshot

    def refresh(self) -> None:
        """Switch to the latest commit (also one made by another process), if any."""
        current = self._snapshot
        if current.searcher.up_to_date():
            return
        fresh = self._open_snapshot()
        with self._swap_lock:
            old, self._snapshot = self._snapshot, fresh
            old.retired = True
            close_now = old.users == 0
        if close_now:
            old.searcher.close()

    def _acquire(self) -> _Snapshot:
        with self._swap_lock:
            snapshot = self._snapshot
            snapshot.users += 1
            return snapshot

    def _release(self, snapshot: _Snapshot) -> None:
        with self._swap_lock:
            snapshot.users -= 1
            close_now = snapshot.retired and snapshot.users == 0
        if close_now:
            snapshot.searcher.close()

    # Searching -----------------------------------------------------------------------------

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
        documents, matches carry only ids and scores (no stored fields read: faster). With
        collapse, a thread's best match stands for it, and threads are counted.
        """
        if terms.is_empty():
            return [], 0
        snapshot = self._acquire()
        try:
            parts = [_SegmentPart(self, snapshot, segment) for segment in snapshot.segments]
            ranking = rank(
                parts, terms, filters, snapshot.doc_count, wanted=offset + limit,
                newest_first=newest_first, require_all=require_all or newest_first,
                collapse=collapse,
            )
            matches = []
            with snapshot.lock:
                for item in ranking.ranked[offset : offset + limit]:
                    part = parts[item.part]
                    doc_id = part.arrays.doc_ids(part.reader)[item.local]
                    document = None
                    if with_documents:
                        stored = snapshot.searcher.stored_fields(part.offset + item.local)
                        document = stored_to_document(stored)
                    coverage = ranking.coverage(item.words)
                    matches.append(KeywordMatch(doc_id, item.score, document, coverage))
            return matches, ranking.total
        finally:
            self._release(snapshot)

    def warm(
        self, *, budget_mb: int = 96, min_share: float = 0.005, new_segments_only: bool = False
    ) -> int:
        """Decode the postings of frequent terms ahead of queries; returns how many.

        A term in many documents is both likely in queries and slow to decode the first
        time (~10 ms per 60k postings). Rare terms decode in well under a millisecond.
        """
        snapshot = self._acquire()
        warmed = 0
        try:
            budget = budget_mb << 20
            for segment_id, reader, _offset, arrays, _alive in snapshot.segments:
                if new_segments_only and arrays.warmed:
                    continue
                arrays.warmed = True
                if new_segments_only and arrays.count < WARM_MIN_SEGMENT:
                    with snapshot.lock:
                        arrays.doc_ids(reader)
                        arrays.threads(reader)
                    continue
                threshold = max(2, int(arrays.count * min_share))
                with snapshot.lock:
                    arrays.doc_ids(reader)
                    arrays.threads(reader)
                    frequent = [
                        (info.doc_frequency(), field, text)
                        for field in TEXT_FIELDS
                        for text, info in reader.iter_field(field)
                        if info.doc_frequency() >= threshold
                    ]
                frequent.sort(reverse=True)
                for postings, field, text in frequent:
                    if budget < postings * _POSTING_BYTES:
                        break
                    budget -= postings * _POSTING_BYTES
                    with snapshot.lock:
                        self._impacts(snapshot, segment_id, reader, arrays, field, text.decode())
                    warmed += 1
            return warmed
        finally:
            self._release(snapshot)

    def _impacts(self, snapshot, segment_id, reader, arrays, field, term):
        """(docnums, BM25 term-frequency part, average field length used), cached.

        Only the idf and the boost are left for query time. The part depends on the average
        field length, which commits shift a little; past 5% the entry is computed again.
        """
        average = snapshot.averages[field]
        key = (segment_id, field, term)
        entry = self._postings.get(key)
        if entry is None or abs(entry[2] / average - 1) > 0.05:
            ids, tfs = self._decode(reader, field, term)
            impact = bm25_impacts(tfs, arrays.lengths[field][ids], average, field)
            entry = (ids, impact, average)
            self._postings.put(key, entry)
        return entry

    def _term_ids(self, segment_id, reader, field, term) -> np.ndarray:
        key = (segment_id, field, term)
        entry = self._postings.get(key)
        if entry is None:
            ids, _tfs = self._decode(reader, field, term)
            entry = (ids, np.zeros(0, np.float32), 0.0)
            self._postings.put(key, entry)
        return entry[0]

    @staticmethod
    def _decode(reader, field, term) -> tuple[np.ndarray, np.ndarray]:
        if (field, term) in reader:
            return posting_arrays(reader.postings(field, term))
        return np.zeros(0, np.int32), np.zeros(0, np.float32)

    def _term_mask(self, snapshot, segment_id, reader, count, field, term) -> np.ndarray:
        with snapshot.lock:
            ids = self._term_ids(segment_id, reader, field, term)
        mask = np.zeros(count, bool)
        mask[ids] = True
        return mask

    def _filter_mask(self, snapshot, segment_id, reader, arrays, filters: Filters) -> np.ndarray:
        mask = np.ones(arrays.count, bool)
        term_filters = [
            ("tags", filters.tag),
            ("kind", filters.kind),
            ("answered", filters.answered),
            ("has_accepted", filters.accepted),
        ]
        for field, value in term_filters:
            if value is None:
                continue
            if isinstance(value, bool):
                # BOOLEAN fields index "t"/"f"; the postings of True give the True documents.
                has = self._term_mask(snapshot, segment_id, reader, arrays.count, field, True)
                mask &= has if value else ~has
            else:
                mask &= self._term_mask(snapshot, segment_id, reader, arrays.count, field, value)
        if filters.date_from is not None:
            mask &= arrays.created_ts >= _timestamp(filters.date_from)
        if filters.date_to is not None:
            mask &= arrays.created_ts <= _timestamp(filters.date_to)
        return mask

    def filtered_doc_ids(self, filters: Filters) -> set[str]:
        """The ids of all live documents that pass the filters."""
        snapshot = self._acquire()
        try:
            allowed: set[str] = set()
            for segment_id, reader, _offset, arrays, alive in snapshot.segments:
                mask = alive & self._filter_mask(snapshot, segment_id, reader, arrays, filters)
                with snapshot.lock:
                    doc_ids = arrays.doc_ids(reader)
                allowed.update(doc_ids[mask].tolist())
            return allowed
        finally:
            self._release(snapshot)

    def question_documents(self, question_ids: Iterable[int]) -> dict[int, SearchDocument]:
        """The question document of each given thread that has one in the index."""
        snapshot = self._acquire()
        try:
            found = {}
            with snapshot.lock:
                for question_id in question_ids:
                    docnum = self._live_docnum(snapshot, SegmentArrays.questions, question_id)
                    if docnum is not None:
                        stored = snapshot.searcher.stored_fields(docnum)
                        found[question_id] = stored_to_document(stored)
            return found
        finally:
            self._release(snapshot)

    def documents_by_id(self, doc_ids: Iterable[str]) -> dict[str, SearchDocument]:
        snapshot = self._acquire()
        try:
            found = {}
            with snapshot.lock:
                for doc_id in doc_ids:
                    docnum = self._live_docnum(snapshot, SegmentArrays.positions, doc_id)
                    if docnum is not None:
                        found[doc_id] = stored_to_document(snapshot.searcher.stored_fields(docnum))
            return found
        finally:
            self._release(snapshot)

    @staticmethod
    def _live_docnum(snapshot, table, key) -> int | None:
        """The live document `key` names in a per-segment table (SegmentArrays.positions:
        by doc_id, SegmentArrays.questions: by question id), as a searcher docnum."""
        for _segment_id, reader, offset, arrays, alive in snapshot.segments:
            position = table(arrays, reader).get(key)
            if position is not None and alive[position]:
                return offset + position
        return None

    def content_hashes(self) -> dict[str, str]:
        """doc_id -> content hash of every live document."""
        snapshot = self._acquire()
        try:
            with snapshot.lock:
                return {
                    stored["doc_id"]: stored["content_hash"]
                    for _docnum, stored in snapshot.searcher.reader().iter_docs()
                }
        finally:
            self._release(snapshot)

    def all_documents(self) -> Iterator[SearchDocument]:
        """Every live document, read in batches so the index may change meanwhile."""
        doc_ids = list(self.content_hashes())
        for start in range(0, len(doc_ids), 500):
            yield from self.documents_by_id(doc_ids[start : start + 500]).values()

    def doc_count(self) -> int:
        return self._snapshot.searcher.doc_count()

    # Writing -------------------------------------------------------------------------------

    def write(self, *, delete: Iterable[str], add: Iterable[SearchDocument]) -> None:
        """One commit: delete the given ids, then add the given documents.

        To replace a document, delete its id and add it again in the same call.
        """
        writer = self.index.writer(timeout=30.0, limitmb=self.write_buffer_mb)
        try:
            for doc_id in delete:
                writer.delete_by_term("doc_id", doc_id)
            for doc in add:
                writer.add_document(**document_fields(doc))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        self.refresh()
        # A merge may have made a big new segment: decode it here, not in a search.
        self.warm(new_segments_only=True, budget_mb=16)

    def close(self) -> None:
        with self._swap_lock:
            snapshot = self._snapshot
            snapshot.retired = True
            close_now = snapshot.users == 0
        if close_now:
            snapshot.searcher.close()
