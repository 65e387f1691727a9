"""Passage vectors kept outside the index (the forum keeps them in its database), so that
rebuilding an index, or a new node building its own, encodes nothing already encoded."""

from typing import Protocol

import numpy as np

from search.documents import SearchDocument


class EmbeddingStore(Protocol):
    def load(self, docs: list[SearchDocument], space: str) -> dict[str, np.ndarray]:
        """doc_id -> (n_passages, dim) float32 vectors, only for the documents whose stored
        vectors are of `space` (the encoder's name) and match doc.text_hash."""
        ...

    def save(
        self, docs: list[SearchDocument], vectors: dict[str, np.ndarray], space: str
    ) -> None:
        """Keep each document's vectors (doc_id -> array), stamped with its text_hash."""
        ...


class InMemoryEmbeddingStore:
    """An EmbeddingStore in a dict: for tests and benchmarks."""

    def __init__(self):
        self.vectors: dict[tuple[str, str], tuple[str, np.ndarray]] = {}

    def load(self, docs: list[SearchDocument], space: str) -> dict[str, np.ndarray]:
        found = {}
        for doc in docs:
            stored = self.vectors.get((space, doc.doc_id))
            if stored is not None and stored[0] == doc.text_hash:
                found[doc.doc_id] = stored[1]
        return found

    def save(
        self, docs: list[SearchDocument], vectors: dict[str, np.ndarray], space: str
    ) -> None:
        for doc in docs:
            if doc.doc_id in vectors:
                self.vectors[space, doc.doc_id] = (doc.text_hash, vectors[doc.doc_id])
