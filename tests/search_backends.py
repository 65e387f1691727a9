"""The search tests' index places: a temporary folder with the keyword index on each engine.

BACKENDS are the keyword engines, Whoosh and tantivy, which every keyword test runs on.
ENGINE_BACKENDS adds "whoosh-numpy", a Whoosh folder keeping its vectors in the numpy store
instead of faiss (the default).
"""

from pathlib import Path

from search import SearchEngine
from search.backends import RESTORER_FILE, LocalIndex, open_keyword_index

BACKENDS = ["whoosh", "tantivy"]
ENGINE_BACKENDS = ["whoosh", "tantivy", "whoosh-numpy"]


class LocalPlace:
    """An index directory: keyword index on one engine, vectors in faiss or numpy files."""

    def __init__(self, directory: Path, keyword_engine: str = "whoosh",
                 vector_store: str = "faiss"):
        self.directory = directory
        self.keyword_engine = keyword_engine
        self.vector_store = vector_store

    def backend(self) -> LocalIndex:
        return LocalIndex(self.directory, keyword_engine=self.keyword_engine,
                          vector_store=self.vector_store)

    def open(self, encoder, **options) -> SearchEngine:
        return SearchEngine(self.backend(), encoder, **options)

    def keyword_index(self):
        directory = LocalIndex.keyword_dir(self.directory, self.keyword_engine)
        return open_keyword_index(directory, self.keyword_engine)

    def forget_restorer(self) -> None:
        (self.directory / RESTORER_FILE).unlink(missing_ok=True)

    def close(self) -> None:
        pass


def make_place(kind: str, tmp_path: Path) -> LocalPlace:
    """kind: "whoosh", "tantivy" or "whoosh-numpy"."""
    if kind == "whoosh-numpy":
        return LocalPlace(tmp_path / "index", "whoosh", "numpy")
    return LocalPlace(tmp_path / "index", kind)
