"""Writing an index: documents into the keyword index and their passage vectors into the
vector store (encoded only when no stored vectors fit), sync, and the diacritics restorer,
which learns from every indexed text and is saved with the index."""

import contextlib
import threading
import time
from collections.abc import Iterable

import numpy as np

from search.backends import SearchBackend
from search.documents import SearchDocument, SyncReport
from search.embeddings import EmbeddingStore
from search.encoders import Encoder
from search.restorer import DiacriticRestorer
from search.vectors import VectorEntry, VectorStore

SYNC_BATCH = 10_000  # documents per keyword commit during sync: fewer segment merges
EMBED_CHUNK = 256  # passages per encoder call; each chunk's vectors are stored at once
LOAD_BATCH = 1_000  # documents per EmbeddingStore.load call


class RestorerKeeper:
    """The diacritics restorer, and when it was last saved to or loaded from the backend."""

    def __init__(self, backend: SearchBackend, save_every: int):
        self.backend = backend
        self.save_every = save_every
        self.unsaved = 0  # documents counted since the last save
        self.restorer, self._stamp = backend.load_restorer()

    def load(self) -> None:
        self.restorer, self._stamp = self.backend.load_restorer()

    def save(self) -> None:
        self._stamp = self.backend.save_restorer(self.restorer)
        self.unsaved = 0

    def save_if_due(self) -> None:
        if self.unsaved >= self.save_every:
            self.save()

    def changed_elsewhere(self) -> bool:
        stamp = self.backend.restorer_stamp()
        return stamp is not None and stamp != self._stamp

    def count(self, added: Iterable[SearchDocument], removed: Iterable[SearchDocument]) -> None:
        restorer = self.restorer
        for old in removed:
            restorer.remove(restorer_text(old))
            restorer.source_fingerprint -= _hash_number(old.text_hash)
            self.unsaved += 1
        for doc in added:
            restorer.add(restorer_text(doc))
            restorer.source_fingerprint += _hash_number(doc.text_hash)
            self.unsaved += 1
        restorer.source_fingerprint %= 1 << 64

    def rebuild_if_stale(self, docs: list[SearchDocument]) -> bool:
        """Count every text again if the restorer was built from other texts."""
        if self.restorer.source_fingerprint == fingerprint(doc.text_hash for doc in docs):
            return False
        self.restorer = build_restorer(docs)
        self.unsaved += 1
        return True


class IndexWriter:
    """One writer at a time: a thread lock, and the backend's lock for writers in other
    processes (a worker and a `reindex` command, say)."""

    def __init__(
        self,
        backend: SearchBackend,
        vectors: VectorStore,
        encoder: Encoder,
        restorer: RestorerKeeper,
        embeddings: EmbeddingStore | None = None,
    ):
        self.backend = backend
        self.keyword = backend.keyword
        self.vectors = vectors
        self.encoder = encoder
        self.restorer = restorer
        self.embeddings = embeddings
        self.has_written = False  # a writing process keeps its own restorer up to date
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def writing(self):
        """Hold the write locks, starting from what other writers wrote meanwhile."""
        with self._lock, self.backend.writing():
            self.keyword.refresh()
            self.vectors.refresh()
            if not self.restorer.unsaved and self.restorer.changed_elsewhere():
                self.restorer.load()
            yield

    def update(self, docs: Iterable[SearchDocument], removals: Iterable[str]) -> None:
        """Add or replace `docs` and remove `removals` in one commit: a keyword commit costs
        far more than the documents in it, so writers batch what they can."""
        by_id = {doc.doc_id: doc for doc in docs}
        removals = [doc_id for doc_id in dict.fromkeys(removals) if doc_id not in by_id]
        if not by_id and not removals:
            return
        with self.writing():
            self._write(list(by_id.values()), removals)
            self.restorer.save_if_due()

    def sync(self, all_docs: Iterable[SearchDocument]) -> SyncReport:
        """Make the index hold exactly `all_docs`: add, update, remove; re-embed changed text.

        Also repairs whatever a crash left out of step, since both the keyword index and the
        vectors keep a hash of each document they hold.
        """
        started = time.monotonic()
        wanted = {doc.doc_id: doc for doc in all_docs}
        report = SyncReport()
        with self.writing():
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
            if self.restorer.rebuild_if_stale(list(wanted.values())):
                report.notes.append("rebuilt the diacritics restorer")
            if changed or removed or orphans or stale_vectors:
                self.vectors.save()
            if self.restorer.unsaved:
                self.restorer.save()
        report.seconds = time.monotonic() - started
        return report

    def rebuild_restorer(self) -> None:
        """Count the restorer's vocabulary again from every indexed document."""
        with self.writing():
            self.restorer.restorer = build_restorer(self.keyword.all_documents())
            self.restorer.save()

    def save(self) -> None:
        """Save what this writer changed (the latest state of other writers too)."""
        if not self.has_written:
            return
        with self.writing():
            if self.restorer.unsaved:
                self.restorer.save()
            self.vectors.save()

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
        self.has_written = True
        touched = [doc.doc_id for doc in docs] + removals
        if indexed is not None:
            touched = [doc_id for doc_id in touched if doc_id in indexed]
        previous = self.keyword.documents_by_id(touched)
        embedded = self._embed(docs)
        self.keyword.write(delete=list(previous), add=docs)
        if removals:
            self.vectors.remove(removals)
        self.restorer.count(docs, previous.values())
        return embedded

    def _embed(self, docs: list[SearchDocument]) -> int:
        """Give the documents whose text changed since they were last embedded their vectors:
        stored ones when the embedding store has them, else encoded a chunk at a time (and
        saved to the store). Returns the number of passages encoded."""
        pending = [doc for doc in docs if self.vectors.text_hash(doc.doc_id) != doc.text_hash]
        if self.embeddings is not None:
            pending = self._add_stored_vectors(pending)
        encoded = 0
        chunk: list[SearchDocument] = []
        size = 0
        for doc in pending:
            chunk.append(doc)
            size += len(doc.passages())
            if size >= EMBED_CHUNK:
                encoded += self._encode(chunk)
                chunk, size = [], 0
        if chunk:
            encoded += self._encode(chunk)
        return encoded

    def _add_stored_vectors(self, docs: list[SearchDocument]) -> list[SearchDocument]:
        """Add the store's vectors of these documents; returns the documents it lacked."""
        missing = []
        for start in range(0, len(docs), LOAD_BATCH):
            batch = docs[start : start + LOAD_BATCH]
            stored = self.embeddings.load(batch, self.encoder.name)
            self.vectors.add(
                VectorEntry(doc.doc_id, doc.text_hash, np.asarray(stored[doc.doc_id], np.float32))
                for doc in batch if doc.doc_id in stored
            )
            missing.extend(doc for doc in batch if doc.doc_id not in stored)
        return missing

    def _encode(self, docs: list[SearchDocument]) -> int:
        texts = [doc.passages() for doc in docs]
        vectors = self.encoder.encode_passages([text for passages in texts for text in passages])
        by_id, start = {}, 0
        for doc, passages in zip(docs, texts, strict=True):
            by_id[doc.doc_id] = vectors[start : start + len(passages)]
            start += len(passages)
        self.vectors.add(VectorEntry(doc.doc_id, doc.text_hash, by_id[doc.doc_id]) for doc in docs)
        if self.embeddings is not None:
            self.embeddings.save(docs, by_id, self.encoder.name)
        return start


def restorer_text(doc: SearchDocument) -> str:
    # An answer carries its question's title; count the title once, with the question.
    return f"{doc.title}\n{doc.body}" if doc.kind == "question" else doc.body


def _hash_number(text_hash: str) -> int:
    return int(text_hash[:16], 16)


def fingerprint(text_hashes: Iterable[str]) -> int:
    return sum(_hash_number(h) for h in text_hashes) % (1 << 64)


def build_restorer(docs: Iterable[SearchDocument]) -> DiacriticRestorer:
    restorer = DiacriticRestorer()
    total = 0
    for doc in docs:
        restorer.add(restorer_text(doc))
        total += _hash_number(doc.text_hash)
    restorer.source_fingerprint = total % (1 << 64)
    return restorer
