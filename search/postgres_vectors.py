"""Passage vectors in a PostgreSQL table, searched in each node's memory (PassageMatrix).

A node loads the table once, then reads only the rows changed since (a removed document's row
stays, without vectors, so other nodes learn of the removal). The table holds one encoder's
vector space at a time: opening it for another encoder empties it, and the engine's next sync
embeds everything again, as with the file store.
"""

import logging
import threading
from collections.abc import Iterable

import numpy as np

from search.vectors import PassageMatrix, PassageMatrixReads, VectorEntry

log = logging.getLogger(__name__)


class PostgresVectorStore(PassageMatrixReads):
    """VectorStore on the backend's `vectors` table; thread-safe, any number of nodes."""

    def __init__(self, backend, space: str):
        self.backend = backend
        self.space = space
        self._lock = threading.Lock()
        self._memory = PassageMatrix()
        self._change = -1
        self._generation = None
        self._foreign = False  # the table holds another encoder's vectors
        with self.backend.transaction() as conn:
            stored_space, = conn.execute(
                f"SELECT vector_space FROM {self.backend.table('state')}"
            ).fetchone()
            if stored_space != space:
                self._clear(conn, space)
        self.refresh()

    # Reading -------------------------------------------------------------------------------
    # Searches read self._memory (PassageMatrixReads); refresh brings it up to date.

    def refresh(self) -> None:
        """Apply the rows changed since the last refresh; everything after a clear."""
        with self._lock, self.backend.pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            changed, space, generation = conn.execute(
                f"SELECT changed, vector_space, vector_generation"
                f" FROM {self.backend.table('state')}"
            ).fetchone()
            if changed == self._change and generation == self._generation:
                return
            if space != self.space:
                if not self._foreign:
                    log.warning("The vectors table now holds %s's vectors, not %s's: "
                                "semantic search is empty until they agree", space, self.space)
                self._foreign = True
                self._memory = PassageMatrix()
            elif generation != self._generation:
                self._foreign = False
                self._memory = self._load_all(conn)
            else:
                self._apply_changes(conn)
            self._change, self._generation = changed, generation

    def _load_all(self, conn) -> PassageMatrix:
        rows = conn.execute(
            f"SELECT doc_id, text_hash, passages, dim, vectors FROM {self.backend.table('vectors')}"
            f" WHERE vectors IS NOT NULL",
            binary=True,
        ).fetchall()
        if not rows:
            return PassageMatrix()
        dim = rows[0][3]
        vectors = np.frombuffer(b"".join(row[4] for row in rows), "<f4").reshape(-1, dim)
        counts = np.array([row[2] for row in rows], np.int32)
        return PassageMatrix.from_arrays(
            vectors, counts, [row[0] for row in rows], [row[1] for row in rows]
        )

    def _apply_changes(self, conn) -> None:
        rows = conn.execute(
            f"SELECT doc_id, text_hash, passages, dim, vectors FROM {self.backend.table('vectors')}"
            f" WHERE change > %s ORDER BY change",
            (self._change,),
            binary=True,
        )
        for doc_id, text_hash, passages, dim, blob in rows:
            if blob is None:
                self._memory.remove(doc_id)
            else:
                vectors = np.frombuffer(blob, "<f4").reshape(passages, dim)
                self._memory.add(doc_id, text_hash, vectors)

    # Writing -------------------------------------------------------------------------------

    def add(self, entries: Iterable[VectorEntry]) -> None:
        """Add or replace documents' vectors (one transaction), then refresh."""
        rows = []
        for entry in entries:
            vectors = np.ascontiguousarray(entry.vectors, dtype="<f4")
            rows.append((entry.doc_id, entry.text_hash, vectors.shape[0], vectors.shape[1],
                         vectors.tobytes()))
        if not rows:
            return
        with self.backend.transaction() as conn:
            self._check_space(conn)
            conn.cursor().executemany(
                f"INSERT INTO {self.backend.table('vectors')}"
                f" (doc_id, text_hash, passages, dim, vectors, change)"
                f" VALUES (%s, %s, %s, %s, %s, {self.backend.next_change()})"
                f" ON CONFLICT (doc_id) DO UPDATE SET text_hash = excluded.text_hash,"
                f" passages = excluded.passages, dim = excluded.dim,"
                f" vectors = excluded.vectors, change = excluded.change",
                rows,
            )
            self.backend.mark_changed(conn)
        self.refresh()

    def remove(self, doc_ids: Iterable[str]) -> None:
        doc_ids = list(doc_ids)
        if not doc_ids:
            return
        with self.backend.transaction() as conn:
            conn.execute(
                f"UPDATE {self.backend.table('vectors')} SET text_hash = NULL, vectors = NULL,"
                f" passages = NULL, change = {self.backend.next_change()}"
                f" WHERE doc_id = ANY(%s) AND vectors IS NOT NULL",
                (doc_ids,),
            )
            self.backend.mark_changed(conn)
        self.refresh()

    def clear(self, space: str) -> None:
        """Forget every vector, e.g. because the encoder changed."""
        with self.backend.transaction() as conn:
            self._clear(conn, space)
        self.space = space
        self.refresh()

    def save(self) -> None:
        """Nothing to do: every change is committed when made."""

    def close(self) -> None:
        """Nothing to do: connections belong to the backend."""

    def _clear(self, conn, space: str) -> None:
        conn.execute(f"DELETE FROM {self.backend.table('vectors')}")
        conn.execute(
            f"UPDATE {self.backend.table('state')} SET vector_space = %s,"
            f" vector_generation = vector_generation + 1",
            (space,),
        )
        self.backend.mark_changed(conn)

    def _check_space(self, conn) -> None:
        (space,) = conn.execute(
            f"SELECT vector_space FROM {self.backend.table('state')}"
        ).fetchone()
        if space != self.space:
            raise RuntimeError(
                f"The vectors table holds {space}'s vectors; this engine's encoder is "
                f"{self.space}. Every node must use the same search model."
            )
