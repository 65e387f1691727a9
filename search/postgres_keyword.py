"""The keyword index in PostgreSQL tables, ranked in each node's memory (search.ranking).

A write (one transaction, under the backend's commit lock) analyzes the documents with the
same functions as the Whoosh index (search.vietnamese.index_terms), so folding is identical,
and writes their postings as a new segment. A document whose words did not change (a vote, an
answer count) keeps its postings: only its row changes. Segments are merged in tiers of ten,
dropping the postings of documents that moved on; merged-away segments stay readable for a
while, for searches still running on the view they started with.

Each node keeps per document number what ranking needs (segment, thread, kind, flags, date,
field lengths), reads only the rows changed since its last refresh, and caches the postings
queries ask for, with their BM25 impacts, like the Whoosh index's decoded postings.

Folded words also pass through PostgreSQL's unaccent: the Vietnamese folding comes first and
decides; unaccent catches the letters it leaves ("ø", "ß", "ł"), in documents and queries alike.
"""

import math
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from search.documents import KINDS, SearchDocument, digest
from search.postings import PostingCache
from search.ranking import (
    TEXT_FIELDS,
    Filters,
    KeywordMatch,
    QueryTerms,
    bm25_impacts,
    rank,
)
from search.vietnamese import BIGRAM_JOINER, index_terms

FIELDS = (*TEXT_FIELDS, "tags")
FIELD_CODES = {field: code for code, field in enumerate(FIELDS)}
FOLDED_FIELDS = ("title_f", "body_f", "tag_words")
MERGE_FACTOR = 10  # this many segments of one size tier (1-9, 10-99, ... documents) merge
RETIRED_KEEP = "10 minutes"  # merged-away segments stay readable this long
MAX_TERM_BYTES = 512  # longer "words" are not indexed (a B-tree entry must fit a page)
_POSTING_BYTES = 6  # a cached posting: int32 document number + float16 impact
_UNACCENT_CACHE = 50_000
_EMPTY = (np.zeros(0, np.int32), np.zeros(0, np.float16))

_DOCUMENT_COLUMNS = (
    "doc_id, kind, question_id, answer_id, title, body, tags, created_at, answer_count,"
    " has_accepted, score"
)


@dataclass(frozen=True)
class _View:
    """What ranking needs per document number, as of change number `change`."""

    change: int
    segments: tuple[int, ...]  # live segments, oldest first
    doc_ids: np.ndarray  # object
    segment: np.ndarray  # int64: the segment holding the document's postings; -1: none
    thread: np.ndarray  # int64 question id
    is_answer: np.ndarray
    answered: np.ndarray  # an answer, or a question with answers
    accepted: np.ndarray
    created_ts: np.ndarray  # int64 seconds
    lengths: np.ndarray  # float32, one row per TEXT_FIELDS entry
    live: int
    averages: dict[str, float]

    @classmethod
    def empty(cls) -> "_View":
        return cls(
            change=-1, segments=(), doc_ids=np.empty(0, object),
            segment=np.zeros(0, np.int64), thread=np.zeros(0, np.int64),
            is_answer=np.zeros(0, bool), answered=np.zeros(0, bool), accepted=np.zeros(0, bool),
            created_ts=np.zeros(0, np.int64), lengths=np.zeros((len(TEXT_FIELDS), 0), np.float32),
            live=0, averages=dict.fromkeys(TEXT_FIELDS, 1.0),
        )

    @property
    def size(self) -> int:
        return len(self.segment)

    def with_changes(self, rows: list[tuple], segments: list[int], change: int) -> "_View":
        """A new view with the changed rows applied (copies: searches keep the old one)."""
        docnums = np.array([row[0] for row in rows], np.int64)
        size = max(self.size, int(docnums.max()) + 1) if len(rows) else self.size

        def grown(array: np.ndarray, fill) -> np.ndarray:
            shape = (*array.shape[:-1], size)
            new = np.full(shape, fill, array.dtype)
            new[..., : self.size] = array
            return new

        doc_ids = grown(self.doc_ids, None)
        segment = grown(self.segment, -1)
        thread = grown(self.thread, -1)
        is_answer = grown(self.is_answer, False)
        answered = grown(self.answered, False)
        accepted = grown(self.accepted, False)
        created_ts = grown(self.created_ts, 0)
        lengths = grown(self.lengths, 0.0)
        if rows:
            doc_ids[docnums] = [row[1] for row in rows]
            segment[docnums] = [-1 if row[2] is None else row[2] for row in rows]
            thread[docnums] = [row[3] for row in rows]
            is_answer[docnums] = [row[4] for row in rows]
            answered[docnums] = [row[4] or row[5] > 0 for row in rows]
            accepted[docnums] = [row[6] for row in rows]
            created_ts[docnums] = [row[7] for row in rows]
            lengths[:, docnums] = np.array([row[8] for row in rows], np.float32).T
        alive = segment >= 0
        live = int(alive.sum())
        averages = {
            field: max(float(lengths[i][alive].sum()) / max(live, 1), 1.0)
            for i, field in enumerate(TEXT_FIELDS)
        }
        return _View(change, tuple(segments), doc_ids, segment, thread, is_answer, answered,
                     accepted, created_ts, lengths, live, averages)


class _ViewPart:
    """All documents of a view as one part for search.ranking, with the query's postings."""

    def __init__(self, view: _View, postings: dict, folding: dict[str, str]):
        self.view = view
        self.count = view.size
        self.alive = view.segment >= 0
        self.created_ts = view.created_ts
        self._postings = postings
        self._folding = folding

    def postings(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        if field in FOLDED_FIELDS:
            term = self._folding.get(term, term)
        return self._postings.get((field, term), _EMPTY)

    def filter_mask(self, filters: Filters) -> np.ndarray:
        view = self.view
        mask = np.ones(self.count, bool)
        if filters.tag is not None:
            tagged = np.zeros(self.count, bool)
            tagged[self.postings("tags", filters.tag)[0]] = True
            mask &= tagged
        if filters.kind is not None:
            if filters.kind not in KINDS:
                return np.zeros(self.count, bool)
            mask &= view.is_answer == (filters.kind == "answer")
        if filters.answered is not None:
            mask &= view.answered == filters.answered
        if filters.accepted is not None:
            mask &= view.accepted == filters.accepted
        if filters.date_from is not None:
            mask &= view.created_ts >= _timestamp(filters.date_from)
        if filters.date_to is not None:
            mask &= view.created_ts <= _timestamp(filters.date_to)
        return mask

    def threads(self) -> np.ndarray:
        return self.view.thread


class PostgresKeywordIndex:
    """Keyword search over the backend's tables; thread-safe, any number of nodes."""

    def __init__(self, backend, *, posting_cache_mb: int = 160):
        self.backend = backend
        self._postings = PostingCache(posting_cache_mb << 20)
        self._unaccented: dict[str, str] = {}
        self._refresh_lock = threading.Lock()
        self._view = _View.empty()
        self.refresh()

    def _table(self, name: str) -> str:
        return self.backend.table(name)

    # Reading -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Apply the rows changed since this node's view (by any node), if any."""
        with self._refresh_lock:
            view = self._view
            with self.backend.pool.connection() as conn, conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                (changed,) = conn.execute(
                    f"SELECT changed FROM {self._table('state')}"
                ).fetchone()
                if changed == view.change:
                    return
                rows = conn.execute(
                    f"SELECT docnum, doc_id, segment, question_id, kind = 'answer', answer_count,"
                    f" has_accepted, extract(epoch FROM created_at)::bigint, lengths"
                    f" FROM {self._table('documents')} WHERE change > %s",
                    (view.change,),
                ).fetchall()
                segments = [
                    segment
                    for (segment,) in conn.execute(
                        f"SELECT id FROM {self._table('segments')}"
                        f" WHERE retired_at IS NULL ORDER BY id"
                    )
                ]
            self._view = view.with_changes(rows, segments, changed)
        gone = set(view.segments) - set(segments)
        if gone:
            self._postings.drop_segments(gone)

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
        """As search.keyword.KeywordIndex.search: the page of matches, and how many match."""
        if terms.is_empty():
            return [], 0
        view = self._view
        part = self._part(view, [(leaf.field, leaf.term) for leaf in terms.leaves()], filters)
        ranking = rank(
            [part], terms, filters, view.live, wanted=offset + limit,
            newest_first=newest_first, require_all=require_all or newest_first,
            collapse=collapse,
        )
        page = ranking.ranked[offset : offset + limit]
        doc_ids = [view.doc_ids[item.local] for item in page]
        documents = self.documents_by_id(doc_ids) if with_documents else {}
        return [
            KeywordMatch(doc_id, item.score, documents.get(doc_id), ranking.coverage(item.words))
            for doc_id, item in zip(doc_ids, page, strict=True)
            # A document removed since this node's view is left out of the page.
            if not with_documents or doc_id in documents
        ], ranking.total

    def filtered_doc_ids(self, filters: Filters) -> set[str]:
        """The ids of all live documents that pass the filters."""
        view = self._view
        part = self._part(view, [], filters)
        mask = part.alive & part.filter_mask(filters)
        return set(view.doc_ids[mask].tolist())

    def _part(self, view: _View, pairs: list[tuple[str, str]], filters: Filters) -> _ViewPart:
        if filters.tag is not None:
            pairs = [*pairs, ("tags", filters.tag)]
        folding = self._folding(term for field, term in pairs if field in FOLDED_FIELDS)
        keys = {
            (field, folding.get(term, term) if field in FOLDED_FIELDS else term)
            for field, term in pairs
        }
        return _ViewPart(view, self._load(view, keys), folding)

    def _load(self, view: _View, keys: set[tuple[str, str]]) -> dict:
        """(field, term) -> (document numbers, impacts) of the view's live postings."""
        found: dict[tuple[int, str, str], tuple] = {}
        missing = []
        for segment in view.segments:
            for field, term in keys:
                entry = self._postings.get((segment, field, term))
                if entry is None or _drifted(entry, view, field):
                    missing.append((segment, field, term))
                else:
                    found[segment, field, term] = entry
        if missing:
            found.update(self._fetch(view, missing))
        result = {}
        for field, term in keys:
            ids_parts, impact_parts = [], []
            for segment in view.segments:
                ids, impact, _average = found[segment, field, term]
                live = view.segment[ids] == segment
                ids_parts.append(ids[live])
                impact_parts.append(impact[live])
            if ids_parts:
                result[field, term] = (np.concatenate(ids_parts), np.concatenate(impact_parts))
        return result

    def _fetch(self, view: _View, keys: list[tuple[int, str, str]]) -> dict:
        segments = sorted({segment for segment, _field, _term in keys})
        pairs = sorted({(field, term) for _segment, field, term in keys})
        fetched = {}
        with self.backend.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT segment, field, term, docnums, counts FROM {self._table('postings')}"
                f" WHERE segment = ANY(%s) AND (field, term) IN"
                f" (SELECT * FROM unnest(%s::smallint[], %s::text[]))",
                (segments, [FIELD_CODES[f] for f, _t in pairs], [t for _f, t in pairs]),
                binary=True,
            ).fetchall()
        for segment, code, term, docnums, counts in rows:
            field = FIELDS[code]
            ids = np.frombuffer(docnums, "<i4")
            known = ids < view.size  # always: a view reads segments and rows together
            ids = ids[known]
            average = view.averages.get(field, 1.0)
            if field in TEXT_FIELDS:
                counts = np.frombuffer(counts, "<u2")[known].astype(np.float32)
                lengths = view.lengths[TEXT_FIELDS.index(field)][ids]
                impact = bm25_impacts(counts, lengths, average, field)
            else:
                impact = np.zeros(len(ids), np.float16)  # a filter term: no score
            fetched[segment, field, term] = (ids, impact, average)
        for key in keys:
            fetched.setdefault(key, (*_EMPTY, 0.0))
            self._postings.put(key, fetched[key])
        return fetched

    def warm(self, *, budget_mb: int = 96, min_share: float = 0.005) -> int:
        """Read the postings of frequent terms ahead of queries; returns how many."""
        view = self._view
        threshold = max(2, int(view.live * min_share))
        with self.backend.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT field, term, sum(entries) FROM {self._table('postings')}"
                f" WHERE segment = ANY(%s) AND entries >= %s"
                f" GROUP BY field, term ORDER BY 3 DESC",
                (list(view.segments), threshold),
            ).fetchall()
        budget = budget_mb << 20
        keys = set()
        for code, term, entries in rows:
            if budget < entries * _POSTING_BYTES:
                break
            budget -= entries * _POSTING_BYTES
            keys.add((FIELDS[code], term))
        if keys:
            self._load(view, keys)
        return len(keys)

    def question_documents(self, question_ids: Iterable[int]) -> dict[int, SearchDocument]:
        """The question document of each given thread that has one in the index."""
        rows = self._documents(
            "kind = 'question' AND question_id = ANY(%s)", [int(q) for q in question_ids]
        )
        return {doc.question_id: doc for doc in rows}

    def documents_by_id(self, doc_ids: Iterable[str]) -> dict[str, SearchDocument]:
        wanted = list(doc_ids)
        found = {doc.doc_id: doc for doc in self._documents("doc_id = ANY(%s)", wanted)}
        return {doc_id: found[doc_id] for doc_id in wanted if doc_id in found}

    def _documents(self, condition: str, values: list) -> list[SearchDocument]:
        if not values:
            return []
        with self.backend.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {_DOCUMENT_COLUMNS} FROM {self._table('documents')}"
                f" WHERE {condition} AND segment IS NOT NULL",
                (values,),
            ).fetchall()
        return [_document(row) for row in rows]

    def content_hashes(self) -> dict[str, str]:
        """doc_id -> content hash of every live document."""
        with self.backend.pool.connection() as conn:
            return dict(conn.execute(
                f"SELECT doc_id, content_hash FROM {self._table('documents')}"
                f" WHERE segment IS NOT NULL"
            ).fetchall())

    def all_documents(self) -> Iterator[SearchDocument]:
        """Every live document, read in batches so the index may change meanwhile."""
        doc_ids = list(self.content_hashes())
        for start in range(0, len(doc_ids), 500):
            yield from self.documents_by_id(doc_ids[start : start + 500]).values()

    def doc_count(self) -> int:
        return self._view.live

    # Writing -------------------------------------------------------------------------------

    def write(self, *, delete: Iterable[str], add: Iterable[SearchDocument]) -> None:
        """One transaction: delete the given ids, then add the given documents (a document
        both deleted and added is replaced). Then merges segments if due, and refreshes."""
        add = list({doc.doc_id: doc for doc in add}.values())
        adding = {doc.doc_id for doc in add}
        removing = [doc_id for doc_id in dict.fromkeys(delete) if doc_id not in adding]
        if not add and not removing:
            return
        documents = self._table("documents")
        with self.backend.transaction() as conn:
            existing = {
                doc_id: (segment, terms_hash)
                for doc_id, segment, terms_hash in conn.execute(
                    f"SELECT doc_id, segment, terms_hash FROM {documents}"
                    f" WHERE doc_id = ANY(%s)",
                    ([*adding, *removing],),
                )
            }
            leaving: Counter = Counter()  # segment -> its documents that move on or go
            gone = [d for d in removing if existing.get(d, (None,))[0] is not None]
            if gone:
                conn.execute(
                    f"UPDATE {documents} SET segment = NULL, title = '', body = '',"
                    f" change = {self.backend.next_change()} WHERE doc_id = ANY(%s)",
                    (gone,),
                )
                leaving.update(existing[doc_id][0] for doc_id in gone)
            same_words, new_words = [], []
            for doc in add:
                segment, terms_hash = existing.get(doc.doc_id, (None, None))
                if segment is not None and terms_hash == _terms_hash(doc):
                    same_words.append(doc)
                else:
                    new_words.append(doc)
                    if segment is not None:
                        leaving[segment] += 1
            if same_words:
                self._update_metadata(conn, same_words)
            if new_words:
                self._write_segment(conn, new_words, existing)
            if leaving:
                conn.cursor().executemany(
                    f"UPDATE {self._table('segments')} SET live = live - %s WHERE id = %s",
                    [(count, segment) for segment, count in leaving.items()],
                )
            self.backend.mark_changed(conn)
        self._merge_if_due()
        self.refresh()

    def _update_metadata(self, conn, docs: list[SearchDocument]) -> None:
        """Documents whose words are unchanged: their rows only (kind to score)."""
        conn.cursor().executemany(
            f"UPDATE {self._table('documents')} SET kind = %s, question_id = %s,"
            f" answer_id = %s, created_at = %s, answer_count = %s, has_accepted = %s,"
            f" score = %s, content_hash = %s, change = {self.backend.next_change()}"
            f" WHERE doc_id = %s",
            [
                (doc.kind, doc.question_id, doc.answer_id, doc.created_at, doc.answer_count,
                 doc.has_accepted, doc.score, doc.content_hash, doc.doc_id)
                for doc in docs
            ],
        )

    def _write_segment(self, conn, docs: list[SearchDocument], existing: dict) -> None:
        """A new segment with these documents' postings; their rows point to it."""
        (segment,) = conn.execute(f"SELECT {self.backend.next_change()}").fetchone()
        conn.execute(
            f"INSERT INTO {self._table('segments')} (id, documents, live) VALUES (%s, %s, %s)",
            (segment, len(docs), len(docs)),
        )
        analyzed = [_analyze(doc) for doc in docs]
        folding = self._folding(
            term
            for counts, _lengths in analyzed
            for field in FOLDED_FIELDS
            for term in counts[field]
        )
        values = []
        for doc, (_counts, lengths) in zip(docs, analyzed, strict=True):
            values.append((
                doc.kind, doc.question_id, doc.answer_id, doc.title, doc.body, list(doc.tags),
                doc.created_at, doc.answer_count, doc.has_accepted, doc.score, doc.content_hash,
                _terms_hash(doc), lengths, segment, doc.doc_id,
            ))
        documents = self._table("documents")
        columns = (
            "kind, question_id, answer_id, title, body, tags, created_at, answer_count,"
            " has_accepted, score, content_hash, terms_hash, lengths, segment"
        )
        old = [row for row in values if row[-1] in existing]
        new = [row for row in values if row[-1] not in existing]
        cursor = conn.cursor()
        if old:
            assignments = ", ".join(f"{name.strip()} = %s" for name in columns.split(","))
            cursor.executemany(
                f"UPDATE {documents} SET {assignments}, change = {self.backend.next_change()}"
                f" WHERE doc_id = %s",
                old,
            )
        if new:
            cursor.executemany(
                f"INSERT INTO {documents} ({columns}, doc_id, change) VALUES"
                f" ({', '.join(['%s'] * 15)}, {self.backend.next_change()})",
                new,
            )
        docnums = dict(conn.execute(
            f"SELECT doc_id, docnum FROM {documents} WHERE doc_id = ANY(%s)",
            ([doc.doc_id for doc in docs],),
        ).fetchall())
        postings: dict[tuple[int, str], tuple[list, list]] = {}
        order = sorted(range(len(docs)), key=lambda i: docnums[docs[i].doc_id])
        for i in order:
            docnum = docnums[docs[i].doc_id]
            for field, counter in analyzed[i][0].items():
                code = FIELD_CODES[field]
                for term, count in counter.items():
                    if field in FOLDED_FIELDS:
                        term = folding.get(term, term)
                    entry = postings.setdefault((code, term), ([], []))
                    entry[0].append(docnum)
                    entry[1].append(min(count, 65535))
        self._copy_postings(conn, segment, (
            (code, term, np.array(ids, "<i4"), np.array(counts, "<u2"))
            for (code, term), (ids, counts) in postings.items()
        ))

    def _copy_postings(self, conn, segment: int, rows) -> None:
        with conn.cursor().copy(
            f"COPY {self._table('postings')} (segment, field, term, entries, docnums, counts)"
            f" FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int8", "int2", "text", "int4", "bytea", "bytea"])
            for code, term, ids, counts in rows:
                if len(term.encode()) <= MAX_TERM_BYTES:
                    copy.write_row((segment, code, term, len(ids), ids.tobytes(), counts.tobytes()))

    def _merge_if_due(self) -> None:
        """Merge a full size tier of segments, and those more than half dead; forget
        segments merged away long enough ago."""
        with self.backend.transaction() as conn:
            conn.execute(
                f"DELETE FROM {self._table('segments')}"
                f" WHERE retired_at < now() - interval '{RETIRED_KEEP}'"
            )
            segments = conn.execute(
                f"SELECT id, documents, live FROM {self._table('segments')}"
                f" WHERE retired_at IS NULL"
            ).fetchall()
            empty = [segment for segment, _documents, live in segments if live <= 0]
            chosen = _merge_plan(segments)
            if not empty and not chosen:
                return
            if chosen:
                self._merge(conn, chosen)
            conn.execute(
                f"UPDATE {self._table('segments')} SET retired_at = now()"
                f" WHERE id = ANY(%s)",
                (empty + chosen,),
            )
            self.backend.mark_changed(conn)

    def _merge(self, conn, chosen: list[int]) -> None:
        """One segment with the live postings of the chosen ones."""
        documents = self._table("documents")
        owners = conn.execute(
            f"SELECT docnum, segment FROM {documents} WHERE segment = ANY(%s)", (chosen,)
        ).fetchall()
        if not owners:
            return
        size = max(docnum for docnum, _segment in owners) + 1
        owner = np.full(size, -1, np.int64)
        owner[[docnum for docnum, _s in owners]] = [segment for _d, segment in owners]
        (merged,) = conn.execute(f"SELECT {self.backend.next_change()}").fetchone()
        conn.execute(
            f"INSERT INTO {self._table('segments')} (id, documents, live) VALUES (%s, %s, %s)",
            (merged, len(owners), len(owners)),
        )
        parts: dict[tuple[int, str], list] = defaultdict(list)
        rows = conn.execute(
            f"SELECT segment, field, term, docnums, counts FROM {self._table('postings')}"
            f" WHERE segment = ANY(%s)",
            (chosen,),
            binary=True,
        )
        for segment, code, term, docnums, counts in rows:
            ids = np.frombuffer(docnums, "<i4")
            keep = (ids < size) & (owner[np.minimum(ids, size - 1)] == segment)
            if keep.any():
                parts[code, term].append((ids[keep], np.frombuffer(counts, "<u2")[keep]))
        self._copy_postings(conn, merged, (
            (code, term, np.concatenate([i for i, _c in pieces]),
             np.concatenate([c for _i, c in pieces]))
            for (code, term), pieces in parts.items()
        ))
        conn.execute(
            f"UPDATE {documents} SET segment = %s, change = {self.backend.next_change()}"
            f" WHERE segment = ANY(%s)",
            (merged, chosen),
        )

    # Folding with unaccent -----------------------------------------------------------------

    def _folding(self, terms: Iterable[str]) -> dict[str, str]:
        """Folded terms -> their form after unaccent, for those that are not plain ASCII
        (Vietnamese folds to ASCII, so that is rare); the others stay as they are."""
        terms = {term for term in terms if not term.isascii()}
        if not terms:
            return {}
        parts = {part for term in terms for part in term.split(BIGRAM_JOINER)}
        unaccented = self._unaccented
        unknown = [part for part in parts if part not in unaccented]
        if unknown:
            with self.backend.pool.connection() as conn:
                rows = conn.execute(
                    f"SELECT part, {self.backend.unaccent_sql('part')}"
                    f" FROM unnest(%s::text[]) AS part",
                    (unknown,),
                ).fetchall()
            if len(unaccented) > _UNACCENT_CACHE:
                unaccented = self._unaccented = {}
            for part, plain in rows:
                # Only a result that is still one word replaces it ("½" becomes " 1/2").
                word = plain.lower()
                unaccented[part] = word if word.isalnum() else part
        return {
            term: BIGRAM_JOINER.join(unaccented.get(p, p) for p in term.split(BIGRAM_JOINER))
            for term in terms
        }

    def close(self) -> None:
        self._postings = PostingCache(0)


def _analyze(doc: SearchDocument) -> tuple[dict[str, Counter], list[float]]:
    """Term counts per field, and the text fields' lengths, as the Whoosh index has them."""
    tag_words = " ".join(tag.replace("-", " ") for tag in doc.tags)
    terms = {
        "title": index_terms(doc.title, folded=False),
        "title_f": index_terms(doc.title, folded=True),
        "body": index_terms(doc.body, folded=False),
        "body_f": index_terms(doc.body, folded=True),
        "tag_words": index_terms(tag_words, folded=True),
    }
    counts = {field: Counter(words) for field, words in terms.items()}
    counts["tags"] = Counter(doc.tags)
    return counts, [float(len(terms[field])) for field in TEXT_FIELDS]


def _terms_hash(doc: SearchDocument) -> str:
    """Changes when the words to index change (title, body, tags), not with votes."""
    return digest("\x1f".join([doc.title, doc.body, ",".join(doc.tags)]))


def _merge_plan(segments: list[tuple[int, int, int]]) -> list[int]:
    """The smallest size tier with MERGE_FACTOR segments, and segments more than half dead."""
    tiers: dict[int, list[int]] = defaultdict(list)
    for segment, _documents, live in segments:
        if live > 0:
            tiers[int(math.log10(live))].append(segment)
    chosen = set()
    for tier in sorted(tiers):
        if len(tiers[tier]) >= MERGE_FACTOR:
            chosen.update(tiers[tier])
            break
    chosen.update(
        segment for segment, documents, live in segments if live > 0 and live * 2 < documents
    )
    return sorted(chosen)


def _drifted(entry: tuple, view: _View, field: str) -> bool:
    """Impacts depend on the average field length; past 5% they are computed again."""
    if field not in TEXT_FIELDS or len(entry[0]) == 0:
        return False
    return abs(entry[2] / view.averages[field] - 1) > 0.05


def _timestamp(moment: datetime) -> int:
    return int(moment.timestamp())


def _document(row: tuple) -> SearchDocument:
    (doc_id, kind, question_id, answer_id, title, body, tags, created_at, answer_count,
     has_accepted, score) = row
    return SearchDocument(
        doc_id=doc_id, kind=kind, question_id=question_id, answer_id=answer_id, title=title,
        body=body, tags=tuple(tags), created_at=created_at.astimezone(UTC),
        answer_count=answer_count, has_accepted=has_accepted, score=score,
    )
