"""The two search backends for the search tests: Whoosh in a temporary folder, PostgreSQL in a
schema of its own per test (dropped afterwards). The Whoosh folder keeps its vectors in faiss
(the default) or, for ENGINE_BACKENDS' "whoosh-numpy", in the numpy store.

PostgreSQL runs when TEST_SEARCH_POSTGRES_URL names a server ("" or "local" mean the local
one, LOCAL_URL), or else when TEST_DATABASE_URL is a PostgreSQL URL (`make test`'s second run);
otherwise, or when the server does not answer, the PostgreSQL variants are not collected (one
test says so) and the PostgreSQL-only tests are skipped.

    TEST_SEARCH_POSTGRES_URL=local .venv/bin/python -m pytest tests/test_search_engine.py
"""

import functools
import os
import uuid
from pathlib import Path

import psycopg
import pytest

from search import SearchEngine
from search.backends import RESTORER_FILE, WhooshBackend
from search.keyword import KeywordIndex
from search.postgres import PostgresBackend, libpq_url

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/xutra_test"


def postgres_url() -> str | None:
    """The server to test the PostgreSQL backend on, if one is asked for and answers."""
    url = os.environ.get("TEST_SEARCH_POSTGRES_URL")
    if url is not None:
        url = LOCAL_URL if url.strip() in ("", "local") else url
    else:
        url = os.environ.get("TEST_DATABASE_URL", "")
        if not url.startswith("postgres"):
            return None
    return url if _answers(libpq_url(url)) else None


@functools.cache
def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


POSTGRES_URL = postgres_url()
NO_POSTGRES = "no PostgreSQL for the search tests (TEST_SEARCH_POSTGRES_URL, TEST_DATABASE_URL)"
_POSTGRES = [pytest.param("postgres", marks=pytest.mark.postgres)] if POSTGRES_URL else []
BACKENDS = ["whoosh", *_POSTGRES]
# The engine's tests also run with the Whoosh backend's other vector store.
ENGINE_BACKENDS = ["whoosh", "whoosh-numpy", *_POSTGRES]


def needs_postgres(test):
    """Marks a PostgreSQL-only test, skipped without a server."""
    skip = pytest.mark.skipif(POSTGRES_URL is None, reason=NO_POSTGRES)
    return pytest.mark.postgres(skip(test))


class WhooshPlace:
    """An index directory, its vectors in faiss or numpy files."""

    def __init__(self, directory: Path, vector_store: str = "faiss"):
        self.directory = directory
        self.vector_store = vector_store

    def open(self, encoder, **options) -> SearchEngine:
        backend = WhooshBackend(self.directory, vector_store=self.vector_store)
        return SearchEngine(backend, encoder, **options)

    def keyword_index(self) -> KeywordIndex:
        return KeywordIndex(self.directory / "keyword")

    def forget_restorer(self) -> None:
        (self.directory / RESTORER_FILE).unlink(missing_ok=True)

    def close(self) -> None:
        pass


class PostgresPlace:
    """A schema, opened by as many backends (nodes) as a test likes."""

    def __init__(self, url: str):
        self.url = url
        self.schema = f"search_test_{uuid.uuid4().hex[:12]}"
        self.backends: list[PostgresBackend] = []

    def backend(self, **options) -> PostgresBackend:
        backend = PostgresBackend(self.url, schema=self.schema, **options)
        self.backends.append(backend)
        return backend

    def open(self, encoder, **options) -> SearchEngine:
        return SearchEngine(self.backend(), encoder, **options)

    def keyword_index(self):
        return self.backend().keyword

    def forget_restorer(self) -> None:
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            conn.execute(f'UPDATE "{self.schema}".state SET restorer = NULL')

    def close(self) -> None:
        for backend in self.backends:
            backend.close()
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


def make_place(kind: str, tmp_path: Path):
    """A WhooshPlace or PostgresPlace."""
    if kind == "whoosh":
        return WhooshPlace(tmp_path / "index")
    if kind == "whoosh-numpy":
        return WhooshPlace(tmp_path / "index", "numpy")
    return PostgresPlace(POSTGRES_URL)
