"""PostgreSQL backend: the index in tables of its own, shared by every web node and worker.

    backend = PostgresBackend("postgresql://forum@db.example/forum")   # schema "search"
    engine = SearchEngine(backend, encoder)

The search library owns these tables: it creates them (and the unaccent extension) itself on
first use, in their own schema, apart from the forum's Alembic migrations, which neither see
nor touch them. Dropping the schema forgets the index; the next sync rebuilds it.

    state       one row: the last change number, the vector space, the diacritics restorer
    documents   stored fields, BM25 field lengths, the postings segment of each document
    segments    postings segments: immutable once written, merged in tiers, as in Lucene
    postings    per segment, field and term: document numbers and term counts (numpy bytes)
    vectors     passage vectors per document, with the hash of the text they were made from

Every change gets a number from one sequence, and every write transaction takes an advisory
lock first, so changes commit in the order of their numbers: a node reads the changes after
the last one it saw (incremental refresh). Each node keeps what ranking needs per document
and the passage vectors in memory, and caches the postings it reads; ranking runs in numpy
(search.ranking), as for Whoosh. Scoring the matching rows in SQL instead (tsvector columns,
GIN indexes, BM25 from the tsvector positions) was measured at 100k posts: p95 1.2 s exact,
90 ms when cut short, since a query of common syllables matches half the posts.
"""

import contextlib
import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterator

import psycopg

from search.postgres_keyword import PostgresKeywordIndex
from search.postgres_vectors import PostgresVectorStore
from search.restorer import DiacriticRestorer
from search.vectors import VectorStore

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

_DDL = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE SEQUENCE IF NOT EXISTS {s}.changes;
CREATE TABLE IF NOT EXISTS {s}.state (
    id integer PRIMARY KEY CHECK (id = 1),
    version integer NOT NULL,
    changed bigint NOT NULL DEFAULT 0,
    vector_space text,
    vector_generation integer NOT NULL DEFAULT 0,
    restorer bytea,
    restorer_stamp bigint NOT NULL DEFAULT 0
);
INSERT INTO {s}.state (id, version) VALUES (1, {version}) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS {s}.segments (
    id bigint PRIMARY KEY,
    documents integer NOT NULL,
    live integer NOT NULL,
    retired_at timestamptz
);
CREATE TABLE IF NOT EXISTS {s}.documents (
    docnum integer GENERATED ALWAYS AS IDENTITY UNIQUE,
    doc_id text PRIMARY KEY,
    kind text NOT NULL,
    question_id bigint NOT NULL,
    answer_id bigint,
    title text NOT NULL,
    body text NOT NULL,
    tags text[] NOT NULL,
    created_at timestamptz NOT NULL,
    answer_count integer NOT NULL,
    has_accepted boolean NOT NULL,
    score integer NOT NULL,
    content_hash text NOT NULL,
    terms_hash text NOT NULL,
    lengths real[] NOT NULL,
    segment bigint,
    change bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_change ON {s}.documents (change);
CREATE INDEX IF NOT EXISTS documents_segment ON {s}.documents (segment);
CREATE INDEX IF NOT EXISTS documents_question ON {s}.documents (question_id)
    WHERE kind = 'question';
CREATE TABLE IF NOT EXISTS {s}.postings (
    segment bigint NOT NULL REFERENCES {s}.segments ON DELETE CASCADE,
    field smallint NOT NULL,
    term text NOT NULL,
    entries integer NOT NULL,
    docnums bytea NOT NULL,
    counts bytea NOT NULL,
    PRIMARY KEY (segment, field, term)
);
CREATE INDEX IF NOT EXISTS postings_term ON {s}.postings (field, term);
ALTER TABLE {s}.postings ALTER COLUMN docnums SET STORAGE EXTERNAL,
    ALTER COLUMN counts SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS {s}.vectors (
    doc_id text PRIMARY KEY,
    text_hash text,
    passages integer,
    dim integer,
    vectors bytea,
    change bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS vectors_change ON {s}.vectors (change);
ALTER TABLE {s}.vectors ALTER COLUMN vectors SET STORAGE EXTERNAL;
"""


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL ("postgresql+psycopg://...") as libpq reads it."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


class ConnectionPool:
    """A few autocommit connections shared by threads.

    Fork-safe: a forked child (a gunicorn worker, an RQ job) opens connections of its own and
    keeps its parent's unused and unclosed, since closing one would end the parent's session.
    """

    def __init__(self, url: str, size: int = 4):
        self.url = url
        self.size = size
        self._idle: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._inherited: list[psycopg.Connection] = []

    def _check_fork(self) -> None:
        if os.getpid() != self._pid:
            with self._lock:
                if os.getpid() != self._pid:
                    self._inherited.extend(self._idle)
                    self._idle = []
                    self._pid = os.getpid()

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        self._check_fork()
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None or conn.closed:
            conn = psycopg.connect(self.url, autocommit=True)
        try:
            yield conn
        except BaseException:
            conn.close()  # it may be mid-transaction or broken: start afresh next time
            raise
        with self._lock:
            if os.getpid() == self._pid and len(self._idle) < self.size and not conn.closed:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        if os.getpid() == self._pid:
            for conn in idle:
                conn.close()


class PostgresBackend:
    """The index in a PostgreSQL schema; see the module's docstring."""

    def __init__(
        self, url: str, *, schema: str = "search", pool_size: int = 4,
        posting_cache_mb: int = 160,
    ):
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"schema must be a lowercase SQL name, not {schema!r}")
        self.url = libpq_url(url)
        self.schema = schema
        self.pool = ConnectionPool(self.url, pool_size)
        self._writer_lock = threading.Lock()
        self._writer_connection: psycopg.Connection | None = None
        self._writer_pid = os.getpid()
        self.unaccent_schema = self._create_tables()
        self.keyword = PostgresKeywordIndex(self, posting_cache_mb=posting_cache_mb)

    def table(self, name: str) -> str:
        return f'"{self.schema}"."{name}"'

    def lock_key(self, purpose: str) -> int:
        """An advisory lock number for this schema and purpose."""
        digest = hashlib.blake2b(f"{self.schema}:{purpose}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """A write transaction. Its first step takes the commit lock, so that changes commit
        in the order of their numbers, which incremental refresh relies on."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key("commit"),))
            yield conn

    def next_change(self) -> str:
        """SQL for a new change number."""
        return f"nextval('\"{self.schema}\".changes')"

    def mark_changed(self, conn: psycopg.Connection) -> None:
        """Last in a write transaction: tells other nodes there is something to read."""
        conn.execute(f"UPDATE {self.table('state')} SET changed = {self.next_change()}")

    def unaccent_sql(self, argument: str) -> str:
        """SQL for unaccent(argument), naming the extension's schema (it may not be on the
        search path, and unaccent then finds neither itself nor its dictionary)."""
        schema = '"' + self.unaccent_schema.replace('"', '""') + '"'
        dictionary = f"{schema}.unaccent".replace("'", "''")
        return f"{schema}.unaccent('{dictionary}'::regdictionary, {argument})"

    def _create_tables(self) -> str:
        """Create the extension, schema and tables unless there; returns unaccent's schema.

        When they are there nothing is run but two lookups: DDL would lock the tables, and
        wait for (and hold up) other nodes' reads and writes.
        """
        with self.pool.connection() as conn:
            unaccent_schema = self._unaccent_schema(conn)
            version = self._version(conn)
            if unaccent_schema is None or version is None:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key("schema"),))
                    self._create_extension(conn)
                    conn.execute(_DDL.format(s=f'"{self.schema}"', version=SCHEMA_VERSION))
                unaccent_schema = self._unaccent_schema(conn)
                version = self._version(conn)
        if version != SCHEMA_VERSION:
            raise RuntimeError(
                f"The search tables in schema {self.schema!r} are of version {version}, this "
                f"library writes version {SCHEMA_VERSION}: drop the schema and sync again."
            )
        return unaccent_schema

    @staticmethod
    def _unaccent_schema(conn: psycopg.Connection) -> str | None:
        row = conn.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n"
            " ON n.oid = e.extnamespace WHERE e.extname = 'unaccent'"
        ).fetchone()
        return row[0] if row else None

    def _version(self, conn: psycopg.Connection) -> int | None:
        exists = conn.execute("SELECT to_regclass(%s)", (self.table("state"),)).fetchone()[0]
        if exists is None:
            return None
        return conn.execute(f"SELECT version FROM {self.table('state')}").fetchone()[0]

    @staticmethod
    def _create_extension(conn: psycopg.Connection) -> None:
        try:
            with conn.transaction():
                conn.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        except psycopg.Error as error:
            raise RuntimeError(
                "The PostgreSQL search backend needs the unaccent extension, which this "
                f"database user could not create ({error.diag.message_primary}). Ask an "
                "administrator to run CREATE EXTENSION unaccent; in the forum's database "
                "once (it ships with PostgreSQL, in postgresql-contrib on older systems)."
            ) from error

    # SearchBackend -------------------------------------------------------------------------

    def open_vectors(self, space: str) -> VectorStore:
        return PostgresVectorStore(self, space)

    @contextlib.contextmanager
    def writing(self):
        """A session-level advisory lock, held by one writer across all nodes."""
        with self._writer_lock:
            conn = self._lock_connection()
            conn.execute("SELECT pg_advisory_lock(%s)", (self.lock_key("writer"),))
            try:
                yield
            finally:
                if not conn.closed:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (self.lock_key("writer"),))

    def _lock_connection(self) -> psycopg.Connection:
        conn = self._writer_connection
        if conn is None or conn.closed or os.getpid() != self._writer_pid:
            # After a fork the parent's connection is left alone (see ConnectionPool).
            conn = psycopg.connect(self.url, autocommit=True)
            self._writer_connection, self._writer_pid = conn, os.getpid()
        return conn

    def restorer_stamp(self) -> int | None:
        with self.pool.connection() as conn:
            (stamp,) = conn.execute(
                f"SELECT CASE WHEN restorer IS NULL THEN NULL ELSE restorer_stamp END"
                f" FROM {self.table('state')}"
            ).fetchone()
        return stamp

    def load_restorer(self) -> tuple[DiacriticRestorer, int | None]:
        with self.pool.connection() as conn:
            blob, stamp = conn.execute(
                f"SELECT restorer, restorer_stamp FROM {self.table('state')}", binary=True
            ).fetchone()
        if blob is None:
            return DiacriticRestorer(), None
        return DiacriticRestorer.from_bytes(bytes(blob)), stamp

    def save_restorer(self, restorer: DiacriticRestorer) -> int:
        blob = restorer.to_bytes()
        with self.pool.connection() as conn, conn.transaction():
            (stamp,) = conn.execute(
                f"UPDATE {self.table('state')} SET restorer = %s,"
                f" restorer_stamp = restorer_stamp + 1 RETURNING restorer_stamp",
                (blob,),
            ).fetchone()
        return stamp

    def drop(self) -> None:
        """Forget the whole index (the schema and its tables); this backend is then unusable."""
        with self.pool.connection() as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

    def close(self) -> None:
        self.keyword.close()
        self.pool.close()
        with self._writer_lock:
            conn, self._writer_connection = self._writer_connection, None
        if conn is not None and os.getpid() == self._writer_pid:
            conn.close()
