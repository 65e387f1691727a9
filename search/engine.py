"""SearchEngine: keyword, semantic and hybrid search over a forum's questions and answers.

The caller feeds SearchDocuments (upsert, remove, or sync with the full list) from a
background job, never from a request, and asks search() / similar_questions() from anywhere.
One writer at a time; searches run concurrently with writes and see each commit when done.
The index lives in a backend (search.backends.LocalIndex: a directory, keyword index on
Whoosh or tantivy). Writing is search.writer's, query reading and fusion
search.understanding's, similar questions search.similar's.
"""

import logging
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import numpy as np
import threadpoolctl

from search.backends import RESTORER_FILE, LocalIndex, SearchBackend
from search.documents import Hit, SearchDocument, SearchResults, SyncReport
from search.embeddings import EmbeddingStore
from search.encoders import Encoder
from search.query import Filters
from search.restorer import DiacriticRestorer
from search.similar import draft_words, similar_threads
from search.snippets import highlight
from search.understanding import UnderstoodQuery, score_fusion, understand
from search.vectors import VectorStore
from search.writer import IndexWriter, RestorerKeeper

__all__ = ["MODES", "RESTORER_FILE", "SORTS", "SearchEngine", "score_fusion"]

log = logging.getLogger(__name__)

MODES = ("hybrid", "keyword", "semantic")
SORTS = ("relevance", "newest")
MAX_PAGE = 100
# Collapsed ranked results draw on more candidates, since a thread's hits become one.
COLLAPSE_POOL_FACTOR = 3


class SearchEngine:
    """Search over one index: keyword index, passage vectors, diacritics restorer."""

    def __init__(
        self,
        index: Path | str | SearchBackend,
        encoder: Encoder,
        *,
        embeddings: EmbeddingStore | None = None,
        vector_store: VectorStore | None = None,
        restore_diacritics: bool = True,
        candidates: int = 100,
        refresh_seconds: float = 1.0,
        restorer_save_every: int = 500,
        blas_threads: int | None = 1,
    ):
        """`index` is a directory (a LocalIndex on tantivy) or a backend (a LocalIndex with
        keyword_engine="whoosh", say). `embeddings`, if given, is asked for
        stored passage vectors before anything is encoded, and keeps what is encoded.

        blas_threads sets numpy's BLAS thread count for the whole process, like the
        encoder's torch_threads: vector search is one matrix-vector product, and on a small
        shared machine one thread per request is both faster and steadier (at 100k passages
        under load, p50/p95 16/24 ms with one thread, 20/36 ms with two). None leaves it."""
        if blas_threads is not None:
            threadpoolctl.threadpool_limits(blas_threads, user_api="blas")
        if isinstance(index, str | Path):
            index = LocalIndex(Path(index))
        self.backend = index
        self.restore_diacritics = restore_diacritics
        self.candidates = candidates  # per mode, for hybrid fusion and semantic ranking
        self.refresh_seconds = refresh_seconds
        self.keyword = self.backend.keyword
        self.vectors = vector_store or self.backend.open_vectors(encoder.name)
        self._restorer = RestorerKeeper(self.backend, restorer_save_every)
        self.writer = IndexWriter(self.backend, self.vectors, encoder, self._restorer, embeddings)
        self._closed = False
        self._encoder_error: bool | None = None  # None until the encoder has been tried
        self._last_refresh = time.monotonic()
        self._refresh_lock = threading.Lock()

    @property
    def encoder(self) -> Encoder:
        return self.writer.encoder

    @encoder.setter
    def encoder(self, encoder: Encoder) -> None:
        self.writer.encoder = encoder  # a caller may wrap it, e.g. to count what is encoded

    @property
    def restorer(self) -> DiacriticRestorer:
        return self._restorer.restorer

    @restorer.setter
    def restorer(self, restorer: DiacriticRestorer) -> None:
        self._restorer.restorer = restorer

    # Writing -------------------------------------------------------------------------------

    def upsert(self, docs: Iterable[SearchDocument]) -> None:
        """Add or replace documents; only text that changed is embedded again."""
        self.writer.update(docs, [])

    def remove(self, doc_ids: Iterable[str]) -> None:
        self.writer.update([], doc_ids)

    def update(self, docs: Iterable[SearchDocument], removals: Iterable[str]) -> None:
        """Add or replace `docs` and remove `removals` in one commit."""
        self.writer.update(docs, removals)

    def sync(self, all_docs: Iterable[SearchDocument]) -> SyncReport:
        """Make the index hold exactly `all_docs` (see IndexWriter.sync)."""
        return self.writer.sync(all_docs)

    def rebuild_restorer(self) -> None:
        """Count the restorer's vocabulary again from every indexed document."""
        self.writer.rebuild_restorer()

    # Reading -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """See changes written by another process (a worker) to the same index directory."""
        self._last_refresh = time.monotonic()
        self.keyword.refresh()
        self.vectors.refresh()
        if not self.writer.has_written and self._restorer.changed_elsewhere():
            self._restorer.load()

    def _refresh_if_due(self) -> None:
        if time.monotonic() - self._last_refresh >= self.refresh_seconds:
            with self._refresh_lock:
                if time.monotonic() - self._last_refresh >= self.refresh_seconds:
                    self.refresh()

    def understand(self, query: str) -> UnderstoodQuery:
        """Tokens, folded words, and diacritics put back if they were left out."""
        return understand(query, self.restorer if self.restore_diacritics else None)

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
        if mode != "keyword" and not self.encoder_works():
            mode = "keyword"  # the model failed to load: keyword results beat an error page
        if mode == "keyword":
            matches, total = self.keyword.search(
                understood.terms, filters, limit=limit, offset=offset,
                newest_first=sort == "newest", collapse=collapse,
            )
            hits = self._hits([(m.document, m.score) for m in matches], understood)
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
        hits = self._hits(
            [(documents[doc_id], score) for doc_id, score in page if doc_id in documents],
            understood,
        )
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

    def encoder_works(self) -> bool:
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
        """Questions like a draft (title and body), most similar first, each scored by an
        absolute similarity in [0, 1] (see search.similar.similar_threads)."""
        self._refresh_if_due()
        understood = self._understand_draft(text)
        if understood.terms.is_empty():
            return []
        found = similar_threads(
            understood, self.keyword, self.vectors,
            self.encoder if self.encoder_works() else None,
            limit=limit, pool=max(self.candidates // 2, limit * 6),
            excluded=exclude_question_ids,
        )
        return self._hits([(question, score) for score, question in found], understood)

    def query_vector(self, text: str) -> np.ndarray:
        """The vector similar_questions(text) compared passages with (the draft's first words,
        with diacritics put back): a caller comparing the same draft with other texts reuses
        it instead of encoding the draft again (the encoder caches recent query vectors)."""
        return self.encoder.encode_queries([self._understand_draft(text).semantic_text])[0]

    def _understand_draft(self, text: str) -> UnderstoodQuery:
        return self.understand(draft_words(text))

    def _hits(
        self, scored: list[tuple[SearchDocument, float]], understood: UnderstoodQuery
    ) -> list[Hit]:
        """Hits for a page. An answer's document does not follow its thread's answer count,
        so answers show the count of their thread's question (looked up once per page)."""
        threads = {doc.question_id for doc, _score in scored if doc.kind == "answer"}
        questions = self.keyword.question_documents(threads) if threads else {}
        words = set(understood.folded_words)
        hits = []
        for doc, score in scored:
            question = questions.get(doc.question_id) if doc.kind == "answer" else doc
            hits.append(Hit(
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
                answer_count=(question or doc).answer_count,
                has_accepted=doc.has_accepted,
                votes=doc.score,
            ))
        return hits

    def stats(self) -> dict:
        return {
            "documents": self.keyword.doc_count(),
            "vectors": len(self.vectors.doc_ids()),
            "restorer_vocabulary": self.restorer.vocabulary_size(),
            "encoder": self.encoder.name,
        }

    def warm(self) -> None:
        """Load the model now, so the first searches are fast; call it from a background
        thread at start-up."""
        self.encoder.encode_queries(["khởi động"])
        self.keyword.warm()

    def close(self) -> None:
        """Save what this engine wrote; an engine that only searched writes nothing."""
        if self._closed:
            return
        self._closed = True
        self.writer.save()
        self.vectors.close()
        self.backend.close()


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
