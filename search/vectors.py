"""Passage vectors of documents, searched by exact cosine similarity in numpy.

A document owns one or more passage vectors; its score for a query is its best passage's.
PassageMatrix holds them in memory; the stores behind VectorStore persist them: in files
here (NumpyVectorStore), or in faiss indexes (search.faiss_vectors, which shares ChangeLog).

On disk: a snapshot (vectors.npz, replaced atomically) plus an append-only log of changes
since that snapshot (vectors-<generation>.log, one checksummed record per change). A crash can
only cut the log's last record, which loading ignores; SearchEngine.sync() then re-embeds
whatever is missing, because every document's vectors carry the hash of their text.
"""

import json
import os
import struct
import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

SNAPSHOT_NAME = "vectors.npz"
_RECORD_HEADER = struct.Struct("<BII")  # operation, payload length, crc32 of payload
_ADD, _REMOVE = 1, 2


class ChangeLog:
    """An append-only file of checksummed records (operation, payload), read back in order.

    A crash can only cut the last record short: reading stops there (as it does at a record
    another process is still writing), and the next append first cuts the torn tail off.
    """

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0  # bytes of whole records read or written so far
        self._file = None
        self._torn = False

    def append(self, records: list[tuple[int, bytes]]) -> None:
        """Write records durably (fsync) after the ones read so far."""
        if not records:
            return
        data = b"".join(
            _RECORD_HEADER.pack(op, len(payload), zlib.crc32(payload)) + payload
            for op, payload in records
        )
        if self._file is None:
            if self._torn:
                # Drop a record a crash cut short, or the records after it would never be read.
                os.truncate(self.path, self.offset)
                self._torn = False
            self._file = open(self.path, "ab")  # noqa: SIM115
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())
        self.offset += len(data)

    def read(self) -> list[tuple[int, bytes]]:
        """The whole records after those already read (none if the file is gone)."""
        try:
            with open(self.path, "rb") as log:
                log.seek(self.offset)
                data = log.read()
        except FileNotFoundError:
            return []
        records, position = [], 0
        while position + _RECORD_HEADER.size <= len(data):
            op, length, checksum = _RECORD_HEADER.unpack_from(data, position)
            start = position + _RECORD_HEADER.size
            payload = data[start : start + length]
            if len(payload) < length or zlib.crc32(payload) != checksum:
                # Cut short by a crash, or still being written by another process: stop.
                self._torn = True
                break
            records.append((op, payload))
            position = start + length
        else:
            self._torn = position < len(data)
        self.offset += position
        return records

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def add_record(entry: "VectorEntry", vectors: np.ndarray) -> tuple[int, bytes]:
    header = json.dumps(
        {"id": entry.doc_id, "hash": entry.text_hash, "shape": list(vectors.shape)}
    ).encode()
    return _ADD, struct.pack("<I", len(header)) + header + vectors.tobytes()


def remove_record(doc_id: str) -> tuple[int, bytes]:
    return _REMOVE, doc_id.encode()


def replay(records: list[tuple[int, bytes]], add, remove) -> None:
    """Apply log records in order: add(doc_id, text_hash, vectors) and remove(doc_id)."""
    for op, payload in records:
        if op == _ADD:
            (header_length,) = struct.unpack_from("<I", payload)
            header = json.loads(payload[4 : 4 + header_length])
            vectors = np.frombuffer(payload[4 + header_length :], np.float32)
            add(header["id"], header["hash"], vectors.reshape(header["shape"]))
        elif op == _REMOVE:
            remove(payload.decode())


@dataclass(frozen=True)
class VectorEntry:
    doc_id: str
    text_hash: str
    vectors: np.ndarray  # (passages, dim) float32, rows L2-normalized


class VectorStore(Protocol):
    space: str  # the encoder's name: vectors of different encoders are not comparable

    def text_hash(self, doc_id: str) -> str | None: ...

    def doc_ids(self) -> set[str]: ...

    def add(self, entries: Iterable[VectorEntry]) -> None: ...

    def remove(self, doc_ids: Iterable[str]) -> None: ...

    def search(
        self, vector: np.ndarray, k: int, allowed: set[str] | None = None
    ) -> list[tuple[str, float]]: ...

    def typical_similarity(self, vector: np.ndarray) -> float: ...

    def save(self) -> None: ...

    def refresh(self) -> None: ...

    def clear(self, space: str) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class _Matrix:
    """Rows in use are [0, size); row_slot[r] is the owning document's slot, or -1 if dead."""

    vectors: np.ndarray
    row_slot: np.ndarray
    size: int


class PassageMatrix:
    """Passage vectors in memory, searched exactly in numpy: what both stores search.

    One writer at a time (the owner's lock); searches may run concurrently, since rows are
    filled before a new size is published.
    """

    def __init__(self):
        self._matrix = _Matrix(np.zeros((0, 0), np.float32), np.zeros(0, np.int32), 0)
        self._docs: dict[str, tuple[int, str, tuple[int, ...]]] = {}  # id -> slot, hash, rows
        self._slot_ids: list[str | None] = []
        self.dead_rows = 0

    @classmethod
    def from_arrays(cls, vectors, counts, doc_ids, hashes) -> "PassageMatrix":
        """Documents' passages stored one after the other: counts[i] rows for doc_ids[i]."""
        memory = cls()
        size = int(counts.sum()) if len(counts) else 0
        row_slot = np.repeat(np.arange(len(doc_ids), dtype=np.int32), counts)
        memory._slot_ids = list(doc_ids)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(counts) else []
        memory._docs = {
            doc_id: (slot, text_hash, tuple(range(int(start), int(start) + int(count))))
            for slot, (doc_id, text_hash, start, count) in enumerate(
                zip(doc_ids, hashes, starts, counts, strict=True)
            )
        }
        memory._matrix = _Matrix(np.ascontiguousarray(vectors, np.float32), row_slot, size)
        return memory

    def arrays(self) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
        """(vectors, counts, doc_ids, hashes) of the live documents, for from_arrays."""
        doc_ids = list(self._docs)
        rows = [row for doc_id in doc_ids for row in self._docs[doc_id][2]]
        counts = np.array([len(self._docs[doc_id][2]) for doc_id in doc_ids], np.int32)
        vectors = self._matrix.vectors[rows] if rows else np.zeros((0, 0), np.float32)
        return vectors, counts, doc_ids, [self._docs[doc_id][1] for doc_id in doc_ids]

    @property
    def size(self) -> int:
        return self._matrix.size

    @property
    def dim(self) -> int:
        """The vectors' size (0 before the first is added)."""
        return self._matrix.vectors.shape[1]

    def text_hash(self, doc_id: str) -> str | None:
        entry = self._docs.get(doc_id)
        return entry[1] if entry else None

    def doc_ids(self) -> set[str]:
        return set(self._docs)

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, doc_id: str) -> bool:
        return doc_id in self._docs

    def search(
        self, vector: np.ndarray, k: int, allowed: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """The k documents whose best passage is most similar to `vector`, best first."""
        matrix = self._matrix  # one consistent view, even if a writer swaps it meanwhile
        if matrix.size == 0 or k <= 0:
            return []
        scores = matrix.vectors[: matrix.size] @ vector.astype(np.float32, copy=False)
        row_slot = matrix.row_slot[: matrix.size]
        if allowed is None:
            usable = row_slot >= 0
        else:
            usable = np.zeros(matrix.size, dtype=bool)
            rows = [row for doc_id in allowed for row in self._docs.get(doc_id, (0, "", ()))[2]]
            usable[[row for row in rows if row < matrix.size]] = True
            usable &= row_slot >= 0
        scores = np.where(usable, scores, -np.inf)
        candidates = min(int(usable.sum()), k)
        if candidates == 0:
            return []
        take = min(matrix.size, k * 4)
        while True:
            top = np.argpartition(-scores, take - 1)[:take] if take < matrix.size else None
            order = np.arange(matrix.size) if top is None else top
            order = order[np.argsort(-scores[order], kind="stable")]
            best: dict[str, float] = {}
            for row in order:
                score = scores[row]
                if score == -np.inf:
                    break
                doc_id = self._slot_ids[row_slot[row]]
                if doc_id is not None and doc_id not in best:
                    best[doc_id] = float(score)
                    if len(best) == k:
                        break
            if len(best) >= candidates or top is None:
                return list(best.items())
            take = min(matrix.size, take * 4)

    def sample(self, step: int) -> np.ndarray:
        """Every step-th stored passage that is still live (for typical similarities)."""
        matrix = self._matrix
        if matrix.size == 0:
            return np.zeros((0, matrix.vectors.shape[1]), np.float32)
        rows = matrix.vectors[: matrix.size : step]
        return rows[matrix.row_slot[: matrix.size : step] >= 0]

    def typical_similarity(self, vector: np.ndarray, sample: int = 2000) -> float:
        """The median similarity of `vector` to the stored passages (a spread-out sample).

        What "unrelated" scores for this query and this encoder: e5 gives unrelated texts
        about 0.75, MiniLM about 0.1, so raw cosines are not comparable; distances from
        this floor are.
        """
        rows = self.sample(max(1, self.size // sample))
        if len(rows) == 0:
            return 0.0
        return float(np.median(rows @ vector.astype(np.float32, copy=False)))

    def add(self, doc_id: str, text_hash: str, vectors: np.ndarray) -> None:
        """Add or replace a document's passage vectors."""
        if doc_id in self._docs:
            self.remove(doc_id)
        matrix = self._matrix
        count, dim = vectors.shape
        if matrix.vectors.shape[1] not in (0, dim):
            raise ValueError(f"vectors of size {dim} in a store of size {matrix.vectors.shape[1]}")
        needed = matrix.size + count
        if needed > matrix.vectors.shape[0]:
            capacity = max(needed, int(matrix.vectors.shape[0] * 1.5), 1024)
            grown = np.zeros((capacity, dim), np.float32)
            if matrix.size:
                grown[: matrix.size] = matrix.vectors[: matrix.size]
            slots = np.full(capacity, -1, np.int32)
            slots[: matrix.size] = matrix.row_slot[: matrix.size]
            matrix = _Matrix(grown, slots, matrix.size)
        # Fill the rows first, then publish the new size: readers never see half a document.
        matrix.vectors[matrix.size : needed] = vectors
        slot = len(self._slot_ids)
        self._slot_ids.append(doc_id)
        matrix.row_slot[matrix.size : needed] = slot
        self._docs[doc_id] = (slot, text_hash, tuple(range(matrix.size, needed)))
        self._matrix = _Matrix(matrix.vectors, matrix.row_slot, needed)

    def remove(self, doc_id: str) -> bool:
        entry = self._docs.pop(doc_id, None)
        if entry is None:
            return False
        slot, _hash, rows = entry
        self._matrix.row_slot[list(rows)] = -1
        self._slot_ids[slot] = None
        self.dead_rows += len(rows)
        return True


class PassageMatrixReads:
    """The reads of a store that keeps all its vectors in memory (self._memory): both stores
    answer them the same way and differ only in how they persist and share changes."""

    _memory: PassageMatrix

    def text_hash(self, doc_id: str) -> str | None:
        return self._memory.text_hash(doc_id)

    def doc_ids(self) -> set[str]:
        return self._memory.doc_ids()

    def __len__(self) -> int:
        return len(self._memory)

    def search(
        self, vector: np.ndarray, k: int, allowed: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """The k documents whose best passage is most similar to `vector`, best first."""
        return self._memory.search(vector, k, allowed)

    def typical_similarity(self, vector: np.ndarray, sample: int = 2000) -> float:
        return self._memory.typical_similarity(vector, sample)


class NumpyVectorStore(PassageMatrixReads):
    """Exact top-k in numpy, persisted as a snapshot file plus a log; one writer at a time,
    searches may run concurrently."""

    def __init__(self, directory: Path, space: str, *, max_log_bytes: int = 64 << 20):
        self.directory = directory
        self.space = space
        self.max_log_bytes = max_log_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._log: ChangeLog | None = None
        self._load()
        if self._stamp is None or self.space != space:
            # A new store, or vectors of another encoder: start empty, recording the space.
            self.clear(space)

    # Writing -------------------------------------------------------------------------------

    def add(self, entries: Iterable[VectorEntry]) -> None:
        """Add or replace documents' vectors, logging each change durably."""
        with self._write_lock:
            records = []
            for entry in entries:
                vectors = np.ascontiguousarray(entry.vectors, dtype=np.float32)
                self._memory.add(entry.doc_id, entry.text_hash, vectors)
                records.append(add_record(entry, vectors))
            self._append(records)

    def remove(self, doc_ids: Iterable[str]) -> None:
        with self._write_lock:
            records = [remove_record(doc_id) for doc_id in doc_ids if self._memory.remove(doc_id)]
            self._append(records)

    def clear(self, space: str) -> None:
        """Forget every vector, e.g. because the encoder changed."""
        with self._write_lock:
            self.space = space
            # A new generation, whose log has none of the old vectors' records.
            self._reset(self.generation)
            self._write_snapshot()

    def save(self) -> None:
        """Write a compact snapshot and start an empty log."""
        with self._write_lock:
            self._write_snapshot()

    def refresh(self) -> None:
        """Pick up changes another process wrote: a new snapshot, or new log records."""
        with self._write_lock:
            if self._snapshot_stamp() != self._stamp:
                self._load()
            else:
                self._replay_log()

    def close(self) -> None:
        with self._write_lock:
            self._log.close()

    # Internals -----------------------------------------------------------------------------

    def _reset(self, generation: int = 0) -> None:
        self._memory = PassageMatrix()
        self.generation = generation
        if self._log is not None:
            self._log.close()
        self._log = ChangeLog(self._log_path(generation))

    def _append(self, records: list[tuple[int, bytes]]) -> None:
        self._log.append(records)
        memory = self._memory
        if records and (
            self._log.offset > self.max_log_bytes or memory.dead_rows > max(1000, memory.size // 3)
        ):
            self._write_snapshot()

    def _log_path(self, generation: int) -> Path:
        return self.directory / f"vectors-{generation}.log"

    def _snapshot_stamp(self) -> tuple[int, int] | None:
        try:
            stat = (self.directory / SNAPSHOT_NAME).stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_ino

    def _write_snapshot(self) -> None:
        vectors, counts, doc_ids, hashes = self._memory.arrays()
        old_generation = self.generation
        generation = old_generation + 1
        temporary = self.directory / f".{SNAPSHOT_NAME}.tmp"
        with open(temporary, "wb") as out:
            np.savez(
                out,
                vectors=vectors,
                counts=counts,
                doc_ids=np.array(doc_ids, dtype=str),
                hashes=np.array(hashes, dtype=str),
                meta=np.array(json.dumps({"space": self.space, "generation": generation})),
            )
            out.flush()
            os.fsync(out.fileno())
        # The new, empty log must exist before the snapshot names it.
        self._log_path(generation).write_bytes(b"")
        os.replace(temporary, self.directory / SNAPSHOT_NAME)
        self._log_path(old_generation).unlink(missing_ok=True)
        self._install(vectors, counts, doc_ids, hashes, generation)
        self._stamp = self._snapshot_stamp()

    def _install(self, vectors, counts, doc_ids, hashes, generation) -> None:
        self._reset(generation)
        self._memory = PassageMatrix.from_arrays(vectors, counts, doc_ids, hashes)

    def _load(self) -> None:
        path = self.directory / SNAPSHOT_NAME
        self._stamp = self._snapshot_stamp()
        if self._stamp is None:
            self._reset()
            return
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            self.space = meta["space"]
            self._install(
                data["vectors"],
                data["counts"],
                [str(doc_id) for doc_id in data["doc_ids"]],
                [str(text_hash) for text_hash in data["hashes"]],
                meta["generation"],
            )
        self._replay_log()

    def _replay_log(self) -> None:
        replay(self._log.read(), self._memory.add, self._memory.remove)
