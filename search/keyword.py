"""Keyword index: Whoosh stores and analyzes the documents; numpy scores the queries.

Whoosh's own matchers walk postings one document at a time in Python; on 100k documents a
three-word OR took ~220 ms. Here each query term's postings are decoded whole into numpy
arrays (search.postings; cached per immutable segment with their BM25 term-frequency part),
and scores are summed with vector operations, which also gives the exact number of matches
for free: ~5-15 ms per query at 100k posts. Queries are lists of terms, never parsed text,
so user input cannot inject query syntax.
"""

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from whoosh import fields, index
from whoosh.analysis import Token, Tokenizer

from search.documents import SearchDocument
from search.postings import PostingCache, SegmentArrays, posting_arrays
from search.vietnamese import bigrams, fold, index_terms

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
        return _unique(token for phrase in self.folded_phrases for token in phrase)

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


def _idf(doc_count: int, frequency: int) -> float:
    return float(np.log(1 + (doc_count - frequency + 0.5) / (frequency + 0.5)))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


@dataclass(frozen=True)
class KeywordMatch:
    doc_id: str
    score: float
    document: SearchDocument | None  # None when asked for ids only
    coverage: float  # share of the query's words (weighted by rarity) the document contains


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
    ) -> tuple[list[KeywordMatch], int]:
        """The page [offset, offset+limit) of matches, and how many documents match.

        By relevance, a document matches if it contains any word; with require_all (always
        when sorting by date) it must contain every word, exactly or folded. Without
        documents, matches carry only ids and scores (no stored fields read: faster).
        """
        if terms.is_empty():
            return [], 0
        leaves = terms.leaves()
        word_count = min(len(terms.words()), MAX_QUERY_WORDS)
        snapshot = self._acquire()
        try:
            ranked, total = self._rank(snapshot, leaves, word_count, filters, offset + limit,
                                       newest_first, require_all or newest_first)
            page = ranked[offset : offset + limit]
            matches = []
            with snapshot.lock:
                for docnum, score, doc_id, coverage in page:
                    document = None
                    if with_documents:
                        document = stored_to_document(snapshot.searcher.stored_fields(docnum))
                    matches.append(KeywordMatch(doc_id, score, document, coverage))
            return matches, total
        finally:
            self._release(snapshot)

    def _rank(self, snapshot, leaves, word_count, filters, wanted, newest_first, require_all):
        all_words = (1 << word_count) - 1
        doc_count = max(snapshot.doc_count, 1)
        df = {}
        with snapshot.lock:
            postings = {
                (segment_id, leaf.field, leaf.term): self._impacts(
                    snapshot, segment_id, reader, arrays, leaf.field, leaf.term
                )
                for segment_id, reader, _offset, arrays, _alive in snapshot.segments
                for leaf in leaves
            }
        for (_segment, field, term), (ids, _impact, _average) in postings.items():
            df[field, term] = df.get((field, term), 0) + len(ids)
        # Each word's weight for coverage: its idf in the folded body (rare words count more).
        word_weights = np.zeros(max(word_count, 1), np.float32)
        for leaf in leaves:
            if leaf.field == "body_f" and 0 <= leaf.word < word_count:
                # .get: an index with no segments yet (nothing indexed) has no postings at all
                word_weights[leaf.word] = _idf(doc_count, df.get((leaf.field, leaf.term), 0))
        word_weights /= max(float(word_weights.sum()), 1e-9)
        candidates: list[tuple] = []  # key, docnum, score, segment position, local, words
        total = 0
        for position, (segment_id, reader, offset, arrays, alive) in enumerate(snapshot.segments):
            scores = np.zeros(arrays.count, np.float32)
            words = np.zeros(arrays.count, np.uint32)
            for leaf in leaves:
                ids, impact, _average = postings[segment_id, leaf.field, leaf.term]
                if len(ids) == 0:
                    continue
                idf = _idf(doc_count, df[leaf.field, leaf.term])
                scores[ids] += np.float32(idf * leaf.boost) * impact
                # An exact match is also a folded match, which already marked the word.
                if leaf.word >= 0 and leaf.field not in EXACT_FIELDS:
                    words[ids] |= np.uint32(1 << leaf.word)
            usable = alive & (words == all_words) if require_all else alive & (scores > 0)
            usable &= self._filter_mask(snapshot, segment_id, reader, arrays, filters)
            matched = np.flatnonzero(usable)
            total += len(matched)
            if len(matched) == 0:
                continue
            # Documents that contain more of the query's words rank higher.
            coverage = np.bitwise_count(words[matched]).astype(np.float32) / max(word_count, 1)
            final = scores[matched] * (0.5 + 0.5 * coverage)
            keys = arrays.created_ts[matched].astype(np.float64) if newest_first else final
            if len(matched) > wanted:
                top = np.argpartition(-keys, wanted - 1)[:wanted]
            else:
                top = np.arange(len(matched))
            candidates.extend(
                (float(keys[i]), int(matched[i]) + offset, float(final[i]), position,
                 int(matched[i]), int(words[matched[i]]))
                for i in top
            )
        candidates.sort(key=lambda item: (-item[0], item[1]))
        ranked = []
        bits = np.uint32(1) << np.arange(len(word_weights), dtype=np.uint32)
        with snapshot.lock:
            for _key, docnum, score, position, local, word_mask in candidates[:wanted]:
                _segment_id, reader, _offset, arrays, _alive = snapshot.segments[position]
                coverage = float(word_weights[(np.uint32(word_mask) & bits) > 0].sum())
                ranked.append((docnum, score, arrays.doc_ids(reader)[local], coverage))
        return ranked, total

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
                    continue
                threshold = max(2, int(arrays.count * min_share))
                with snapshot.lock:
                    arrays.doc_ids(reader)
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
            b = BM25_B[field]
            norm = BM25_K1 * (1 - b + b * arrays.lengths[field][ids] / average)
            # float16 keeps three digits, plenty for ranking, in half the memory.
            impact = ((BM25_K1 + 1) * tfs / (tfs + norm)).astype(np.float16)
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
                    docnum = snapshot.searcher.document_number(
                        thread=str(question_id), kind="question"
                    )
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
                    docnum = snapshot.searcher.document_number(doc_id=doc_id)
                    if docnum is not None:
                        found[doc_id] = stored_to_document(snapshot.searcher.stored_fields(docnum))
            return found
        finally:
            self._release(snapshot)

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
