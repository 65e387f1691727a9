"""SearchEngine: keyword, semantic and hybrid search over a forum's questions and answers.

The caller feeds SearchDocuments (upsert, remove, or sync with the full list) from a
background job, never from a request, and asks search() / similar_questions() from anywhere.
One writer at a time; searches run concurrently with writes and see each commit when done.
The index lives in a backend (search.backends): Whoosh files by default, or PostgreSQL.
"""

import contextlib
import logging
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import threadpoolctl

from search.backends import RESTORER_FILE, SearchBackend, WhooshBackend
from search.documents import Hit, SearchDocument, SearchResults, SyncReport, normalize_space
from search.encoders import Encoder
from search.ranking import Filters, QueryTerms
from search.restorer import MIN_VIETNAMESE_SHARE, DiacriticRestorer, Restoration
from search.snippets import highlight
from search.vectors import VectorEntry, VectorStore
from search.vietnamese import has_diacritics, phrases, vietnamese_share

__all__ = ["MODES", "RESTORER_FILE", "SORTS", "SearchEngine", "score_fusion"]

log = logging.getLogger(__name__)

MODES = ("hybrid", "keyword", "semantic")
SORTS = ("relevance", "newest")
MAX_PAGE = 100
# Collapsed ranked results draw on more candidates, since a thread's hits become one.
COLLAPSE_POOL_FACTOR = 3
# Similar questions: among similarities (0..1) this close, answered threads come first.
ANSWERED_BONUS = 0.06
ACCEPTED_BONUS = 0.04
SIMILAR_TEXT_WORDS = 40  # a draft's first words are enough to find its neighbours
# Raw similarity -> score: raw 0.2 (off-topic drafts score 0.3 or so) is 0, raw 0.6 is 1.
# Calibrated with multilingual-e5-small on the seed's 116 suggestion drafts, where the best
# relevant thread's raw similarity had median 0.54 and the best wrong one's 0.40.
SIMILARITY_FLOOR, SIMILARITY_FULL = 0.2, 0.6
SYNC_BATCH = 10_000  # documents per keyword commit during sync: fewer segment merges
EMBED_CHUNK = 256  # passages per encoder call; each chunk's vectors are stored at once


@dataclass(frozen=True)
class UnderstoodQuery:
    """A user's query as the engine uses it."""

    text: str
    terms: QueryTerms
    folded_words: frozenset[str]  # for highlighting
    word_count: int
    typed_with_diacritics: bool
    restoration: Restoration | None  # set when diacritics were put back
    vietnamese_share: float  # share of tokens that could be Vietnamese: low for English
    semantic_text: str  # what the encoder reads

    def fusion_weights(self) -> tuple[float, float]:
        """(keyword, semantic) weights for score fusion.

        Short queries are names and terms: keyword leads. Long ones are sentences: semantic
        leads. Without diacritics the encoders are lost (recall@1 about 0.05), so semantic
        counts only as much as the restorer is sure of the diacritics it put back.
        """
        if self.word_count <= 2:
            keyword, semantic = 1.0, 0.7
        elif self.word_count >= 6:
            keyword, semantic = 0.7, 1.0
        else:
            keyword, semantic = 1.0, 1.0
        if not self.typed_with_diacritics:
            if self.restoration is not None:
                semantic *= 0.3 + 0.7 * self.restoration.confidence
            elif self.vietnamese_share >= MIN_VIETNAMESE_SHARE:
                semantic *= 0.6  # Vietnamese the restorer could not place
            else:
                keyword *= 0.5  # another language: the multilingual encoder does better
        return keyword, semantic


class SearchEngine:
    """Search over one index: keyword index, passage vectors, diacritics restorer."""

    def __init__(
        self,
        index: Path | str | SearchBackend,
        encoder: Encoder,
        *,
        vector_store: VectorStore | None = None,
        restore_diacritics: bool = True,
        candidates: int = 100,
        posting_cache_mb: int = 160,
        refresh_seconds: float = 1.0,
        restorer_save_every: int = 500,
        blas_threads: int | None = 1,
    ):
        """`index` is a directory for the embedded Whoosh backend, or a backend such as
        search.postgres.PostgresBackend (posting_cache_mb is then the backend's own setting).

        blas_threads sets numpy's BLAS thread count for the whole process, like the
        encoder's torch_threads: vector search is one matrix-vector product, and on a small
        shared machine one thread per request is both faster and steadier (at 100k passages
        under load, p50/p95 16/24 ms with one thread, 20/36 ms with two). None leaves it."""
        if blas_threads is not None:
            threadpoolctl.threadpool_limits(blas_threads, user_api="blas")
        if isinstance(index, str | Path):
            index = WhooshBackend(Path(index), posting_cache_mb=posting_cache_mb)
        self.backend = index
        self.encoder = encoder
        self.restore_diacritics = restore_diacritics
        self.candidates = candidates  # per mode, for hybrid fusion and semantic ranking
        self.refresh_seconds = refresh_seconds
        self.restorer_save_every = restorer_save_every
        self._write_lock = threading.Lock()
        self.keyword = self.backend.keyword
        self.vectors = vector_store or self.backend.open_vectors(encoder.name)
        self._load_restorer()
        self._restorer_unsaved = 0
        self._has_written = False  # a writing process keeps its own restorer up to date
        self._closed = False
        self._encoder_error: bool | None = None  # None until the encoder has been tried
        self._last_refresh = time.monotonic()

    # Writing -------------------------------------------------------------------------------

    def upsert(self, docs: Iterable[SearchDocument]) -> None:
        """Add or replace documents; only text that changed is embedded again."""
        by_id = {doc.doc_id: doc for doc in docs}
        if not by_id:
            return
        with self._writing():
            self._write(list(by_id.values()), [])
            self._save_restorer_if_due()

    def remove(self, doc_ids: Iterable[str]) -> None:
        self.update([], doc_ids)

    def update(self, docs: Iterable[SearchDocument], removals: Iterable[str]) -> None:
        """Add or replace `docs` and remove `removals` in one commit: a keyword commit costs
        far more than the documents in it, so writers batch what they can."""
        by_id = {doc.doc_id: doc for doc in docs}
        removals = [doc_id for doc_id in dict.fromkeys(removals) if doc_id not in by_id]
        if not by_id and not removals:
            return
        with self._writing():
            self._write(list(by_id.values()), removals)
            self._save_restorer_if_due()

    def sync(self, all_docs: Iterable[SearchDocument]) -> SyncReport:
        """Make the index hold exactly `all_docs`: add, update, remove; re-embed changed text.

        Also repairs whatever a crash left out of step, since both the keyword index and the
        vectors keep a hash of each document they hold.
        """
        started = time.monotonic()
        wanted = {doc.doc_id: doc for doc in all_docs}
        report = SyncReport()
        with self._writing():
            indexed = self.keyword.content_hashes()
            changed = [
                doc for doc in wanted.values() if indexed.get(doc.doc_id) != doc.content_hash
            ]
            stale_vectors = [
                doc for doc in wanted.values()
                if indexed.get(doc.doc_id) == doc.content_hash
                and self.vectors.text_hash(doc.doc_id) != doc.text_hash
            ]
            removed = [doc_id for doc_id in indexed if doc_id not in wanted]
            orphans = [doc_id for doc_id in self.vectors.doc_ids() if doc_id not in wanted]
            report.added = sum(doc.doc_id not in indexed for doc in changed)
            report.updated = len(changed) - report.added
            report.removed = len(removed)
            report.unchanged = len(wanted) - len(changed)
            if stale_vectors:
                report.notes.append(f"re-embedded {len(stale_vectors)} documents' stale vectors")
            for start in range(0, len(changed), SYNC_BATCH):
                batch = changed[start : start + SYNC_BATCH]
                report.embedded_passages += self._write(batch, [], indexed)
            report.embedded_passages += self._embed(stale_vectors)
            if removed:
                self._write([], removed, indexed)
            if orphans:
                self.vectors.remove(orphans)
            fingerprint = _fingerprint(doc.text_hash for doc in wanted.values())
            if self.restorer.source_fingerprint != fingerprint:
                self.restorer = _build_restorer(wanted.values())
                report.notes.append("rebuilt the diacritics restorer")
                self._restorer_unsaved += 1
            if changed or removed or orphans or stale_vectors:
                self.vectors.save()
            if self._restorer_unsaved:
                self._save_restorer()
        report.seconds = time.monotonic() - started
        return report

    def rebuild_restorer(self) -> None:
        """Count the restorer's vocabulary again from every indexed document."""
        with self._writing():
            self.restorer = _build_restorer(self.keyword.all_documents())
            self._save_restorer()

    @contextlib.contextmanager
    def _writing(self):
        """One writer: a thread lock, and the backend's lock for writers in other processes
        (a worker and a `reindex` command, say). Starts from what others wrote meanwhile."""
        with self._write_lock, self.backend.writing():
            self.keyword.refresh()
            self.vectors.refresh()
            if not self._restorer_unsaved and self._restorer_changed():
                self._load_restorer()
            yield

    def _write(
        self,
        docs: list[SearchDocument],
        removals: list[str],
        indexed: dict[str, str] | None = None,
    ) -> int:
        """Embed (vectors stored as they come), then commit the keyword index; returns the
        number of passages embedded. `indexed` (id -> hash of what the keyword index holds)
        saves looking up which documents are new.

        A crash between the steps leaves hashes that disagree, which sync() repairs; vectors
        already stored are kept, since they are keyed by the hash of their text.
        """
        self._has_written = True
        touched = [doc.doc_id for doc in docs] + removals
        if indexed is not None:
            touched = [doc_id for doc_id in touched if doc_id in indexed]
        previous = self.keyword.documents_by_id(touched)
        embedded = self._embed(docs)
        self.keyword.write(delete=list(previous), add=docs)
        if removals:
            self.vectors.remove(removals)
        for old in previous.values():
            self.restorer.remove(_restorer_text(old))
            self.restorer.source_fingerprint -= _hash_number(old.text_hash)
        for doc in docs:
            self.restorer.add(_restorer_text(doc))
            self.restorer.source_fingerprint += _hash_number(doc.text_hash)
        self.restorer.source_fingerprint %= 1 << 64
        self._restorer_unsaved += len(docs) + len(removals)
        return embedded

    def _embed(self, docs: list[SearchDocument]) -> int:
        """Embed the documents whose text changed since they were last embedded, a chunk at
        a time, storing each chunk's vectors at once; returns the number of passages."""
        pending = [doc for doc in docs if self.vectors.text_hash(doc.doc_id) != doc.text_hash]
        embedded = 0
        chunk: list[tuple[SearchDocument, list[str]]] = []
        size = 0
        for doc in pending:
            passages = doc.passages()
            chunk.append((doc, passages))
            size += len(passages)
            if size >= EMBED_CHUNK:
                embedded += self._embed_chunk(chunk)
                chunk, size = [], 0
        if chunk:
            embedded += self._embed_chunk(chunk)
        return embedded

    def _embed_chunk(self, chunk: list[tuple[SearchDocument, list[str]]]) -> int:
        vectors = self.encoder.encode_passages([text for _doc, texts in chunk for text in texts])
        entries, start = [], 0
        for doc, texts in chunk:
            rows = vectors[start : start + len(texts)]
            entries.append(VectorEntry(doc.doc_id, doc.text_hash, rows))
            start += len(texts)
        self.vectors.add(entries)
        return start

    # Restorer persistence ------------------------------------------------------------------

    def _load_restorer(self) -> None:
        self.restorer, self._restorer_stamp = self.backend.load_restorer()

    def _save_restorer(self) -> None:
        self._restorer_stamp = self.backend.save_restorer(self.restorer)
        self._restorer_unsaved = 0

    def _restorer_changed(self) -> bool:
        stamp = self.backend.restorer_stamp()
        return stamp is not None and stamp != self._restorer_stamp

    def _save_restorer_if_due(self) -> None:
        if self._restorer_unsaved >= self.restorer_save_every:
            self._save_restorer()

    # Reading -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """See changes written by another process (a worker) to the same index directory."""
        self._last_refresh = time.monotonic()
        self.keyword.refresh()
        self.vectors.refresh()
        if not self._has_written and self._restorer_changed():
            self._load_restorer()

    def _refresh_if_due(self) -> None:
        if time.monotonic() - self._last_refresh >= self.refresh_seconds:
            self.refresh()

    def understand(self, query: str) -> UnderstoodQuery:
        """Tokens, folded words, and diacritics put back if they were left out."""
        typed = phrases(query)
        with_diacritics = has_diacritics(query)
        restoration = None
        share = 1.0 if with_diacritics else vietnamese_share(query)
        if typed and not with_diacritics and self.restore_diacritics:
            restored = self.restorer.restore(query)
            if restored.changed:
                restoration = restored
        terms = QueryTerms.from_phrases(
            typed,
            typed_with_diacritics=with_diacritics,
            restored=[list(p) for p in restoration.phrases] if restoration else None,
            restored_weight=0.5 * restoration.confidence if restoration else 0.0,
        )
        words = terms.words()
        return UnderstoodQuery(
            text=query,
            terms=terms,
            folded_words=frozenset(words),
            word_count=len(words),
            typed_with_diacritics=with_diacritics,
            restoration=restoration,
            vietnamese_share=share,
            semantic_text=restoration.text if restoration else normalize_space(query),
        )

    def search(
        self,
        query: str,
        *,
        mode: str = "hybrid",
        tag: str | None = None,
        kind: str | None = None,
        answered: bool | None = None,
        accepted: bool | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        sort: str = "relevance",
        limit: int = 10,
        offset: int = 0,
        collapse: bool = False,
    ) -> SearchResults:
        """One page of results. Any user text is safe: it is read as words, never as syntax.

        Keyword mode counts every match (all words required when sorting by newest). The
        ranked modes (semantic, hybrid) page through their best `candidates` per mode, and
        "newest" shows those best ones newest first. With collapse, a thread shows once, by
        its best hit (the question or the best-matching answer), and total and paging count
        threads.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {SORTS}")
        limit = max(1, min(int(limit), MAX_PAGE))
        offset = max(0, int(offset))
        self._refresh_if_due()
        understood = self.understand(query)
        restored_text = understood.restoration.text if understood.restoration else None
        if understood.terms.is_empty():
            return SearchResults([], 0, query, mode, restored_text)
        filters = Filters(tag, kind, answered, accepted, date_from, date_to)
        if mode != "keyword" and not self._encoder_works():
            mode = "keyword"  # the model failed to load: keyword results beat an error page
        if mode == "keyword":
            matches, total = self.keyword.search(
                understood.terms, filters, limit=limit, offset=offset,
                newest_first=sort == "newest", collapse=collapse,
            )
            hits = [self._hit(m.document, m.score, understood) for m in matches]
            return SearchResults(hits, total, query, mode, restored_text)
        wanted = offset + limit
        ranked = self._ranked(
            understood, filters, mode, wanted * COLLAPSE_POOL_FACTOR if collapse else wanted
        )
        documents: dict[str, SearchDocument] = {}
        if collapse or sort == "newest":
            documents = self.keyword.documents_by_id([doc_id for doc_id, _score in ranked])
            ranked = [item for item in ranked if item[0] in documents]
        if collapse:
            ranked = _first_per_thread(ranked, documents)
        if sort == "newest":
            ranked.sort(key=lambda item: documents[item[0]].created_at, reverse=True)
        page = ranked[offset : offset + limit]
        missing = [doc_id for doc_id, _score in page if doc_id not in documents]
        documents.update(self.keyword.documents_by_id(missing))
        hits = [
            self._hit(documents[doc_id], score, understood)
            for doc_id, score in page
            if doc_id in documents
        ]
        return SearchResults(hits, len(ranked), query, mode, restored_text)

    def _ranked(
        self, understood: UnderstoodQuery, filters: Filters, mode: str, wanted: int
    ) -> list[tuple[str, float]]:
        """Best (doc_id, score) first."""
        pool = max(self.candidates, wanted)
        semantic = self._semantic(understood, filters, pool)
        if mode == "semantic":
            return semantic
        matches, _total = self.keyword.search(
            understood.terms, filters, limit=pool, with_documents=False
        )
        keyword_weight, semantic_weight = understood.fusion_weights()
        return score_fusion(
            [([(m.doc_id, m.score) for m in matches], keyword_weight, 0.0),
             (semantic, semantic_weight, None)]
        )

    def _encoder_works(self) -> bool:
        """False (and logged once) if the encoder cannot encode, e.g. its model is missing."""
        if self._encoder_error is None:
            try:
                self.encoder.encode_queries(["kiểm tra"])
                self._encoder_error = False
            except Exception:
                log.exception("Semantic search is off: the encoder %s fails", self.encoder.name)
                self._encoder_error = True
        return not self._encoder_error

    def _semantic(self, understood: UnderstoodQuery, filters: Filters, k: int):
        vector = self.encoder.encode_queries([understood.semantic_text])[0]
        allowed = None if filters == Filters() else self.keyword.filtered_doc_ids(filters)
        return self.vectors.search(vector, k, allowed)

    def similar_questions(
        self, text: str, *, limit: int = 5, exclude_question_ids: Iterable[int] = ()
    ) -> list[Hit]:
        """Questions like a draft (title and body), most similar first; among comparable
        similarities, answered threads first. Answers count for their thread.

        Each hit's score is an absolute similarity in [0, 1], so a caller may use a
        threshold (0.8: probably asked before; see SIMILARITY_FLOOR). It mixes, with the
        fusion weights, the rarity-weighted share of the draft's words a thread contains and
        how far the thread's best passage is above the typical similarity of unrelated
        passages (0) towards identical (1).
        """
        self._refresh_if_due()
        excluded = set(exclude_question_ids)
        understood = self._understand_draft(text)
        if understood.terms.is_empty():
            return []
        pool = max(self.candidates // 2, limit * 6)
        matches, _total = self.keyword.search(understood.terms, Filters(), limit=pool)
        keyword_weight, semantic_weight = understood.fusion_weights()
        semantic: list[tuple[str, float]] = []
        if self._encoder_works():
            vector = self.encoder.encode_queries([understood.semantic_text])[0]
            typical = self.vectors.typical_similarity(vector)
            semantic = [
                (doc_id, max(0.0, (cosine - typical) / max(1.0 - typical, 1e-6)))
                for doc_id, cosine in self.vectors.search(vector, pool)
            ]
        else:
            semantic_weight = 0.0
        documents = {m.doc_id: m.document for m in matches}
        documents.update(
            self.keyword.documents_by_id([d for d, _s in semantic if d not in documents])
        )
        coverage = _best_per_thread([(m.doc_id, m.coverage) for m in matches], documents)
        closeness = _best_per_thread(semantic, documents)
        similarity = {}
        for thread in coverage.keys() | closeness.keys():
            if thread in excluded:
                continue
            raw = (keyword_weight * coverage.get(thread, 0.0)
                   + semantic_weight * closeness.get(thread, 0.0))
            raw /= keyword_weight + semantic_weight
            scaled = (raw - SIMILARITY_FLOOR) / (SIMILARITY_FULL - SIMILARITY_FLOOR)
            similarity[thread] = min(1.0, max(0.0, scaled))
        best = sorted(similarity, key=lambda thread: -similarity[thread])[: limit * 3]
        questions = self.keyword.question_documents(best)
        ranked = []
        for thread in best:
            question = questions.get(thread)
            if question is None:
                continue
            bonus = ANSWERED_BONUS * (question.answer_count > 0)
            bonus += ACCEPTED_BONUS * question.has_accepted
            ranked.append((similarity[thread] + bonus, similarity[thread], question))
        ranked.sort(key=lambda item: (-item[0], item[2].question_id))
        return [self._hit(question, score, understood) for _key, score, question in ranked[:limit]]

    def query_vector(self, text: str) -> np.ndarray:
        """The vector similar_questions(text) compared passages with (the draft's first words,
        with diacritics put back): a caller comparing the same draft with other texts reuses
        it instead of encoding the draft again (the encoder caches recent query vectors)."""
        return self.encoder.encode_queries([self._understand_draft(text).semantic_text])[0]

    def _understand_draft(self, text: str) -> UnderstoodQuery:
        return self.understand(" ".join(text.split()[:SIMILAR_TEXT_WORDS]))

    def _hit(self, doc: SearchDocument, score: float, understood: UnderstoodQuery) -> Hit:
        words = set(understood.folded_words)
        return Hit(
            doc_id=doc.doc_id,
            kind=doc.kind,
            question_id=doc.question_id,
            answer_id=doc.answer_id,
            title=doc.title,
            title_html=highlight(doc.title, words, window=60),
            snippet_html=highlight(doc.body or doc.title, words),
            score=score,
            tags=doc.tags,
            created_at=doc.created_at,
            answer_count=doc.answer_count,
            has_accepted=doc.has_accepted,
            votes=doc.score,
        )

    def stats(self) -> dict:
        return {
            "documents": self.keyword.doc_count(),
            "vectors": len(self.vectors.doc_ids()),
            "restorer_vocabulary": self.restorer.vocabulary_size(),
            "encoder": self.encoder.name,
        }

    def warm(self) -> None:
        """Load the model and decode frequent postings now, so the first searches are fast.
        Takes a few seconds on 100k posts; call it from a background thread at start-up."""
        self.encoder.encode_queries(["khởi động"])
        self.keyword.warm()

    def close(self) -> None:
        """Save what this engine wrote; an engine that only searched writes nothing."""
        if self._closed:
            return
        self._closed = True
        if self._has_written:
            with self._writing():  # the latest state of other writers too, then save
                if self._restorer_unsaved:
                    self._save_restorer()
                self.vectors.save()
        self.vectors.close()
        self.backend.close()


def score_fusion(
    rankings: list[tuple[list[tuple[str, float]], float, float | None]],
) -> list[tuple[str, float]]:
    """A weighted mean of each ranking's standardized scores (z-scores over its candidates).
    Each ranking is (candidates, weight, floor): a candidate missing from a ranking scores its
    floor there (0 for keyword: no match), or its lowest candidate's score when floor is None
    (semantic: all that is known of one past the pool is that it ranks lower). Best first.

    Scores, not only ranks: a clear keyword winner or a near-identical passage keeps its lead,
    where reciprocal rank fusion flattens every list to 1/(60 + rank). On 500 real community
    questions (bench/real_search.py, dev split) this fusion gave recall@10 0.674 and MRR 0.538,
    reciprocal rank fusion of the same two lists 0.664 and 0.501 (weights as fusion_weights).
    """
    fused: dict[str, float] = {}
    total_weight = 0.0
    standardized = []
    for ranked, weight, floor in rankings:
        if weight <= 0 or not ranked:
            continue
        scores = np.array([score for _doc_id, score in ranked], np.float64)
        floor = float(scores.min()) if floor is None else min(floor, float(scores.min()))
        mean, spread = float(scores.mean()), float(scores.std())
        spread = spread if spread > 1e-12 else max(abs(mean - floor), 1.0)
        z = (scores - mean) / spread
        standardized.append((dict(zip((doc_id for doc_id, _s in ranked), z, strict=True)),
                             (floor - mean) / spread, weight))
        total_weight += weight
    if not standardized:
        return []
    candidates = set().union(*(by_id.keys() for by_id, _low, _w in standardized))
    for doc_id in candidates:
        fused[doc_id] = sum(
            weight * by_id.get(doc_id, lowest) for by_id, lowest, weight in standardized
        ) / total_weight
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def _first_per_thread(
    ranked: list[tuple[str, float]], documents: dict[str, SearchDocument]
) -> list[tuple[str, float]]:
    """Keep the first (best) of each thread's documents, in order."""
    seen: set[int] = set()
    kept = []
    for doc_id, score in ranked:
        thread = documents[doc_id].question_id
        if thread not in seen:
            seen.add(thread)
            kept.append((doc_id, score))
    return kept


def _best_per_thread(
    scored: list[tuple[str, float]], documents: dict[str, SearchDocument]
) -> dict[int, float]:
    best: dict[int, float] = {}
    for doc_id, score in scored:
        doc = documents.get(doc_id)
        if doc is not None and score > best.get(doc.question_id, -math.inf):
            best[doc.question_id] = score
    return best


def _restorer_text(doc: SearchDocument) -> str:
    # An answer carries its question's title; count the title once, with the question.
    return f"{doc.title}\n{doc.body}" if doc.kind == "question" else doc.body


def _hash_number(text_hash: str) -> int:
    return int(text_hash[:16], 16)


def _fingerprint(text_hashes: Iterable[str]) -> int:
    return sum(_hash_number(h) for h in text_hashes) % (1 << 64)


def _build_restorer(docs: Iterable[SearchDocument]) -> DiacriticRestorer:
    restorer = DiacriticRestorer()
    fingerprint = 0
    for doc in docs:
        restorer.add(_restorer_text(doc))
        fingerprint += _hash_number(doc.text_hash)
    restorer.source_fingerprint = fingerprint % (1 << 64)
    return restorer

