"""Where a SearchEngine keeps its index: a local directory (LocalIndex) with the keyword index
(tantivy, the default, or Whoosh, pure Python, for small forums), the passage vectors, and the
diacritics restorer. PostgreSQL is the forum's source of truth; each node keeps such a
directory derived from it.

A backend gives the engine a keyword index, a vector store, storage for the diacritics
restorer, and a lock for writers in other processes.
"""

import contextlib
import fcntl
import json
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import numpy as np

from search.documents import SearchDocument
from search.query import Filters, KeywordMatch, QueryTerms
from search.restorer import DiacriticRestorer
from search.vectors import SNAPSHOT_NAME, NumpyVectorStore, VectorEntry, VectorStore

RESTORER_FILE = "restorer.json.gz"
WRITE_LOCK_FILE = "write.lock"
VECTOR_STORES = ("faiss", "numpy")
KEYWORD_ENGINES = ("whoosh", "tantivy")


class KeywordStore(Protocol):
    """What the engine asks of a keyword index: search.whoosh_keyword.WhooshKeywordIndex or
    search.tantivy_keyword.TantivyKeywordIndex."""

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
    ) -> tuple[list[KeywordMatch], int]: ...

    def filtered_doc_ids(self, filters: Filters) -> set[str]: ...

    def question_documents(self, question_ids: Iterable[int]) -> dict[int, SearchDocument]: ...

    def documents_by_id(self, doc_ids: Iterable[str]) -> dict[str, SearchDocument]: ...

    def content_hashes(self) -> dict[str, str]: ...

    def all_documents(self) -> Iterator[SearchDocument]: ...

    def doc_count(self) -> int: ...

    def write(self, *, delete: Iterable[str], add: Iterable[SearchDocument]) -> None: ...

    def refresh(self) -> None: ...

    def warm(self) -> int: ...

    def close(self) -> None: ...


class SearchBackend(Protocol):
    keyword: KeywordStore

    def open_vectors(self, space: str) -> VectorStore:
        """The vector store for an encoder's vector space (emptied if it held another)."""
        ...

    def writing(self) -> AbstractContextManager[None]:
        """Held by one writer at a time, across processes and machines that share the index."""
        ...

    def restorer_stamp(self) -> object | None:
        """Changes whenever the saved restorer changes; None if none is saved."""
        ...

    def load_restorer(self) -> tuple[DiacriticRestorer, object | None]:
        """The saved restorer (an empty one if none) and its stamp."""
        ...

    def save_restorer(self, restorer: DiacriticRestorer) -> object:
        """Save, returning the new stamp."""
        ...

    def close(self) -> None: ...


def open_keyword_index(directory: Path, engine: str) -> KeywordStore:
    """A keyword index of either engine in `directory`."""
    if engine == "whoosh":
        from search.whoosh_keyword import WhooshKeywordIndex

        return WhooshKeywordIndex(directory)
    if engine == "tantivy":
        from search.tantivy_keyword import TantivyKeywordIndex

        return TantivyKeywordIndex(directory)
    raise ValueError(f"keyword_engine must be one of {KEYWORD_ENGINES}, not {engine!r}")


class LocalIndex:
    """An index directory: the keyword index (whoosh/ or tantivy/), the passage vectors (faiss/:
    faiss indexes, the default; or vectors/: numpy snapshot and log), the restorer's file, and
    a lock file for writers in other processes on the same machine.

    Each engine has a folder of its own, so switching engines starts a fresh keyword index
    (sync fills it) and keeps the vectors. (keyword/ held the Whoosh index of the numpy ranker,
    whose schema differs: it is no longer read, and may be deleted.)"""

    def __init__(
        self,
        index_dir: Path,
        *,
        keyword_engine: str = "tantivy",
        vector_store: str = "faiss",
        faiss_nprobe: int = 16,
        faiss_ivf_threshold: int = 20_000,
    ):
        """faiss_nprobe and faiss_ivf_threshold: see search.faiss_vectors.FaissVectorStore."""
        if vector_store not in VECTOR_STORES:
            raise ValueError(f"vector_store must be one of {VECTOR_STORES}, not {vector_store!r}")
        if keyword_engine not in KEYWORD_ENGINES:
            raise ValueError(
                f"keyword_engine must be one of {KEYWORD_ENGINES}, not {keyword_engine!r}"
            )
        self.index_dir = Path(index_dir)
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self.keyword_engine = keyword_engine
        self.keyword = open_keyword_index(self.keyword_dir(self.index_dir, keyword_engine),
                                          keyword_engine)
        self.vector_store = vector_store
        self.faiss_options = {"nprobe": faiss_nprobe, "ivf_threshold": faiss_ivf_threshold}

    @staticmethod
    def keyword_dir(index_dir: Path, engine: str) -> Path:
        return Path(index_dir) / engine

    def open_vectors(self, space: str) -> VectorStore:
        if self.vector_store == "numpy":
            return NumpyVectorStore(self.index_dir / "vectors", space)
        from search.faiss_vectors import STAMP_NAME, FaissVectorStore  # loaded only when used

        directory = self.index_dir / "faiss"
        first_open = not (directory / STAMP_NAME).exists()
        store = FaissVectorStore(directory, space, **self.faiss_options)
        if first_open:
            self._adopt_numpy_vectors(store)
        return store

    def _adopt_numpy_vectors(self, store) -> None:
        """A forum moving to faiss keeps the numpy store's vectors of the same encoder, rather
        than embedding every post again (hours at 100k posts)."""
        snapshot = self.index_dir / "vectors" / SNAPSHOT_NAME
        if not snapshot.exists():
            return
        with np.load(snapshot) as data:
            if json.loads(str(data["meta"]))["space"] != store.space:
                return  # another encoder's: left as they are
        old = NumpyVectorStore(self.index_dir / "vectors", store.space)
        try:
            vectors, counts, doc_ids, hashes = old._memory.arrays()
            starts = np.concatenate([[0], np.cumsum(counts)]).astype(int)
            store.add(
                VectorEntry(doc_id, text_hash, vectors[starts[i] : starts[i + 1]])
                for i, (doc_id, text_hash) in enumerate(zip(doc_ids, hashes, strict=True))
            )
            store.save()
        finally:
            old.close()

    @contextlib.contextmanager
    def writing(self):
        with open(self.index_dir / WRITE_LOCK_FILE, "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def restorer_stamp(self) -> int | None:
        path = self.index_dir / RESTORER_FILE
        return path.stat().st_mtime_ns if path.exists() else None

    def load_restorer(self) -> tuple[DiacriticRestorer, int | None]:
        path = self.index_dir / RESTORER_FILE
        if path.exists():
            stamp = path.stat().st_mtime_ns
            return DiacriticRestorer.load(path), stamp
        return DiacriticRestorer(), None

    def save_restorer(self, restorer: DiacriticRestorer) -> int:
        path = self.index_dir / RESTORER_FILE
        restorer.save(path)
        return path.stat().st_mtime_ns

    def close(self) -> None:
        self.keyword.close()
