"""Passage vectors in faiss: an exact index for a small forum, an inverted-file index above a size.

On disk, one generation at a time: a faiss index of every passage (faiss-<g>.index, memory-mapped
by every process that reads it, so several workers share one copy in the page cache), the
documents that own its rows (faiss-<g>.npz), and a log of the changes since
(faiss-<g>.log, the same checksummed records as the numpy store's). faiss.json names the
current generation; a writer replaces it atomically after the new files are complete, and a
reader that sees it change loads the new generation, else replays the new log records.

In memory: that read-only base index, rows of removed or replaced documents marked dead, and
the passages added since (a PassageMatrix, searched exactly). When the additions or the dead
rows grow past a share of the base, the writer folds them into a new generation. The base is
IndexFlatIP (exact) below `ivf_threshold` passages, else IndexIVFFlat, trained when it first
passes the threshold and again whenever it has grown fourfold; folding in changes reuses the
trained centroids and the list each old passage is in, so it costs a copy, not a rebuild.
"""

import json
import math
import os
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from search.vectors import (
    ChangeLog,
    PassageMatrix,
    VectorEntry,
    add_record,
    remove_record,
    replay,
)

STAMP_NAME = "faiss.json"
SAMPLE_SIZE = 2000  # passages kept for typical_similarity
MAX_NLIST = 2048
TRAIN_POINTS_PER_LIST = 64  # faiss wants at least 39; more makes training slower, not better
RETRAIN_GROWTH = 4  # train the lists again once the index has grown this many times
LOAD_ATTEMPTS = 5  # a writer may replace a generation while a reader opens it


def nlist_for(passages: int) -> int:
    """Inverted lists for an index of this many passages: about 4·√n, at least 39 passages
    per list for training, at most MAX_NLIST."""
    return max(1, int(min(MAX_NLIST, 4 * math.sqrt(passages), passages / 39)))


@dataclass
class _Base:
    """One saved generation, as loaded: the faiss index (read-only) and who owns its rows.

    Rows are 0..n-1, each document's rows consecutive; row_slot[r] is the owning document's
    slot, set to -1 when the document is removed or replaced (the only change made in place).
    """

    index: faiss.Index | None
    dim: int
    row_slot: np.ndarray
    slot_ids: list[str | None]
    docs: dict[str, tuple[int, str, int, int]]  # id -> slot, text hash, first row, row count
    sample_rows: np.ndarray  # rows whose vectors are in `sample`
    sample: np.ndarray
    trained_rows: int  # passages the inverted lists were trained for (0: exact index)
    dead_rows: int = 0
    live_mask_cache: dict = field(default_factory=dict)

    @classmethod
    def empty(cls) -> "_Base":
        return cls(None, 0, np.zeros(0, np.int32), [], {}, np.zeros(0, np.int64),
                   np.zeros((0, 0), np.float32), 0)

    @property
    def rows(self) -> int:
        return len(self.row_slot)

    @property
    def sample_step(self) -> int:
        return max(1, self.rows // SAMPLE_SIZE)

    def remove(self, doc_id: str) -> bool:
        entry = self.docs.pop(doc_id, None)
        if entry is None:
            return False
        slot, _hash, first, count = entry
        self.row_slot[first : first + count] = -1
        self.slot_ids[slot] = None
        self.dead_rows += count
        self.live_mask_cache.clear()
        return True

    def live_mask(self) -> np.ndarray | None:
        """Rows still in use, packed for faiss.IDSelectorBitmap; None when all are."""
        if not self.dead_rows:
            return None
        cached = self.live_mask_cache.get(self.dead_rows)
        if cached is None:
            cached = np.packbits(self.row_slot >= 0, bitorder="little")
            self.live_mask_cache = {self.dead_rows: cached}
        return cached


@dataclass(frozen=True)
class _State:
    """What a search reads, swapped whole when a generation is loaded."""

    base: _Base
    added: PassageMatrix  # passages added since the base was saved


class FaissVectorStore:
    """VectorStore on faiss indexes in a directory; one writer at a time (the engine's lock
    across processes), searches concurrent with it."""

    def __init__(
        self,
        directory: Path,
        space: str,
        *,
        nprobe: int = 16,
        ivf_threshold: int = 20_000,
        mmap: bool = True,
        max_log_bytes: int = 64 << 20,
        threads: int | None = 1,
    ):
        """nprobe: inverted lists searched per query (more: slower, closer to exact).
        threads sets faiss's OpenMP thread count for the whole process, like the engine's
        blas_threads: one search per request thread, one core each."""
        self.directory = Path(directory)
        self.space = space
        self.nprobe = nprobe
        self.ivf_threshold = ivf_threshold
        self.mmap = mmap
        self.max_log_bytes = max_log_bytes
        if threads is not None:
            faiss.omp_set_num_threads(threads)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._log = ChangeLog(self.directory / "faiss-0.log")
        self.generation = 0
        self._state = _State(_Base.empty(), PassageMatrix())
        self._stamp = None
        self._load()
        if self._stamp is None or self.space != space:
            # A new store, or vectors of another encoder: start empty, recording the space.
            self.clear(space)

    # Reading -------------------------------------------------------------------------------

    def text_hash(self, doc_id: str) -> str | None:
        state = self._state
        found = state.added.text_hash(doc_id)
        if found is None:
            entry = state.base.docs.get(doc_id)
            found = entry[1] if entry else None
        return found

    def doc_ids(self) -> set[str]:
        state = self._state
        return set(state.base.docs) | state.added.doc_ids()

    def __len__(self) -> int:
        return len(self.doc_ids())

    def search(
        self, vector: np.ndarray, k: int, allowed: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """The k documents whose best passage is most similar to `vector`, best first."""
        if k <= 0:
            return []
        state = self._state  # one consistent view, even if a writer swaps it meanwhile
        vector = np.ascontiguousarray(vector, dtype=np.float32)
        best = dict(state.added.search(vector, k, allowed))
        for doc_id, score in self._search_base(state.base, vector, k, allowed):
            if score > best.get(doc_id, -np.inf):
                best[doc_id] = score
        return sorted(best.items(), key=lambda item: -item[1])[:k]

    def _search_base(self, base: _Base, vector, k, allowed) -> list[tuple[str, float]]:
        if base.index is None or base.rows == base.dead_rows:
            return []
        if allowed is None:
            bits = base.live_mask()
            candidates = len(base.docs)
            eligible_rows = base.rows - base.dead_rows
        else:
            entries = [entry for doc_id in allowed if (entry := base.docs.get(doc_id))]
            if not entries:
                return []
            mask = np.zeros(base.rows, dtype=bool)
            for _slot, _hash, first, count in entries:
                mask[first : first + count] = True
            bits = np.packbits(mask, bitorder="little")
            candidates = len(entries)
            eligible_rows = int(sum(entry[3] for entry in entries))
        selector = None if bits is None else faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits))
        ivf = base.trained_rows > 0
        take = min(eligible_rows, k * 4)
        wanted = min(k, candidates)
        while True:
            params = self._params(base, selector, eligible_rows, take) if ivf else (
                faiss.SearchParameters(sel=selector) if selector is not None else None
            )
            scores, rows = base.index.search(vector[None, :], take, params=params)
            found: dict[str, float] = {}
            exhausted = False
            for score, row in zip(scores[0], rows[0], strict=True):
                if row < 0:  # the probed lists held fewer eligible passages than asked for
                    exhausted = True
                    break
                slot = base.row_slot[row]
                doc_id = base.slot_ids[slot] if slot >= 0 else None
                if doc_id is not None and doc_id not in found:
                    found[doc_id] = float(score)
                    if len(found) == k:
                        break
            if len(found) >= wanted or exhausted or take >= eligible_rows:
                return list(found.items())
            take = min(eligible_rows, take * 4)

    def _params(self, base: _Base, selector, eligible_rows: int, take: int):
        """IVF search parameters: nprobe lists, more when fewer passages are eligible, so that
        the probed lists still hold about 4× what is asked for. Under half eligible (a tag's
        posts, say) every list is scanned: the documents allowed may all lie far from the
        query, in lists it would never probe, and skipping the others is cheap (faiss checks
        the selector before it computes a distance), so this is exact at a few ms."""
        nlist = base.index.nlist
        share = eligible_rows / max(1, base.rows)
        nprobe = self.nprobe
        if share < 0.5:
            nprobe = nlist
        elif share < 1:
            nprobe = math.ceil(4 * take * nlist / max(1, eligible_rows))
        nprobe = max(1, min(nlist, max(self.nprobe, nprobe)))
        if selector is None:
            return faiss.SearchParametersIVF(nprobe=nprobe)
        return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)

    def typical_similarity(self, vector: np.ndarray, sample: int = SAMPLE_SIZE) -> float:
        """The median similarity of `vector` to a spread-out sample of the stored passages."""
        state = self._state
        base = state.base
        rows = [base.sample[base.row_slot[base.sample_rows] >= 0]] if base.rows else []
        step = base.sample_step if base.rows else max(1, state.added.size // sample)
        rows.append(state.added.sample(step))
        rows = [part for part in rows if len(part)]
        if not rows:
            return 0.0
        return float(np.median(np.concatenate(rows) @ vector.astype(np.float32, copy=False)))

    # Writing -------------------------------------------------------------------------------

    def add(self, entries: Iterable[VectorEntry]) -> None:
        """Add or replace documents' vectors, logging each change durably."""
        with self._write_lock:
            records = []
            for entry in entries:
                vectors = np.ascontiguousarray(entry.vectors, dtype=np.float32)
                self._add(entry.doc_id, entry.text_hash, vectors)
                records.append(add_record(entry, vectors))
            self._append(records)

    def remove(self, doc_ids: Iterable[str]) -> None:
        with self._write_lock:
            records = [remove_record(doc_id) for doc_id in doc_ids if self._remove(doc_id)]
            self._append(records)

    def clear(self, space: str) -> None:
        """Forget every vector, e.g. because the encoder changed."""
        with self._write_lock:
            self.space = space
            self._state = _State(_Base.empty(), PassageMatrix())
            self._write_generation()

    def save(self) -> None:
        """Fold the changes since the last generation into a new one (nothing to do if none)."""
        with self._write_lock:
            self._catch_up()
            if self._log.offset:
                self._write_generation()

    def refresh(self) -> None:
        """Pick up what another process wrote: a new generation, or new log records."""
        with self._write_lock:
            self._catch_up()

    def close(self) -> None:
        with self._write_lock:
            self._log.close()

    # Internals -----------------------------------------------------------------------------

    def _add(self, doc_id: str, text_hash: str, vectors: np.ndarray) -> None:
        state = self._state
        dim = state.base.dim or state.added.dim
        if dim and vectors.shape[1] != dim:
            raise ValueError(f"vectors of size {vectors.shape[1]} in a store of size {dim}")
        state.base.remove(doc_id)
        state.added.add(doc_id, text_hash, vectors)

    def _remove(self, doc_id: str) -> bool:
        state = self._state
        in_base = state.base.remove(doc_id)
        return state.added.remove(doc_id) or in_base

    def _append(self, records: list[tuple[int, bytes]]) -> None:
        self._log.append(records)
        if records and self._due_for_new_generation():
            self._write_generation()

    def _due_for_new_generation(self) -> bool:
        state = self._state
        base_rows = state.base.rows
        added_limit = max(2048, min(base_rows // 4, 32_768))
        return (
            self._log.offset > self.max_log_bytes
            or state.added.size >= added_limit
            or state.base.dead_rows > max(1000, base_rows // 3)
        )

    def _catch_up(self) -> None:
        if self._read_stamp_stat() != self._stamp:
            self._load()
        else:
            replay(self._log.read(), self._add, self._remove)

    def _path(self, generation: int, suffix: str) -> Path:
        return self.directory / f"faiss-{generation}.{suffix}"

    def _read_stamp_stat(self):
        try:
            stat = (self.directory / STAMP_NAME).stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_ino, stat.st_size

    def _load(self) -> None:
        """Load the generation faiss.json names, then the changes logged since."""
        for _attempt in range(LOAD_ATTEMPTS):
            stamp = self._read_stamp_stat()
            if stamp is None:
                self._stamp = None
                return
            try:
                current = json.loads((self.directory / STAMP_NAME).read_text("utf-8"))
                base = self._read_base(current["generation"])
            except FileNotFoundError:
                continue  # replaced by a writer between reading the stamp and its files
            self._install(current["space"], current["generation"], base, stamp)
            replay(self._log.read(), self._add, self._remove)
            return
        raise RuntimeError(f"{self.directory}: the faiss index kept changing while loading")

    def _install(self, space: str, generation: int, base: _Base, stamp) -> None:
        self.space = space
        self.generation = generation
        self._log.close()
        self._log = ChangeLog(self._path(generation, "log"))
        self._state = _State(base, PassageMatrix())
        self._stamp = stamp

    def _read_base(self, generation: int) -> _Base:
        with np.load(self._path(generation, "npz")) as data:
            meta = json.loads(str(data["meta"]))
            counts = data["counts"]
            doc_ids = [str(doc_id) for doc_id in data["doc_ids"]]
            hashes = [str(text_hash) for text_hash in data["hashes"]]
            sample_rows, sample = data["sample_rows"], data["sample"]
        if not meta["rows"]:
            return _Base.empty()
        index_path = str(self._path(generation, "index"))
        if self.mmap:
            # Read-only: faiss aborts the process on a write to a mapped index, so this store
            # never adds to or removes from a base index (changes go to `added`).
            flags = faiss.IO_FLAG_MMAP if meta["trained_rows"] else faiss.IO_FLAG_MMAP_IFC
            index = faiss.read_index(index_path, flags)
        else:
            index = faiss.read_index(index_path)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        docs = {
            doc_id: (slot, text_hash, int(first), int(count))
            for slot, (doc_id, text_hash, first, count) in enumerate(
                zip(doc_ids, hashes, starts, counts, strict=True)
            )
        }
        return _Base(
            index=index,
            dim=index.d,
            row_slot=np.repeat(np.arange(len(doc_ids), dtype=np.int32), counts),
            slot_ids=list(doc_ids),
            docs=docs,
            sample_rows=sample_rows,
            sample=sample,
            trained_rows=meta["trained_rows"],
        )

    # A new generation ----------------------------------------------------------------------

    def _write_generation(self) -> None:
        """Write every live passage as generation+1, switch faiss.json to it, then load it."""
        state = self._state
        vectors, counts, doc_ids, hashes, lists = self._live_passages(state)
        rows = len(vectors)
        index, trained_rows = self._build_index(state.base, vectors, lists)
        generation = self.generation + 1
        step = max(1, rows // SAMPLE_SIZE)
        sample_rows = np.arange(0, rows, step, dtype=np.int64)
        token = uuid.uuid4().hex[:8]
        index_tmp = self.directory / f".faiss-{generation}.index.{token}"
        meta_tmp = self.directory / f".faiss-{generation}.npz.{token}"
        stamp_tmp = self.directory / f".{STAMP_NAME}.{token}"
        try:
            if index is not None:
                faiss.write_index(index, str(index_tmp))
                _fsync(index_tmp)
            with open(meta_tmp, "wb") as out:
                np.savez(
                    out,
                    counts=counts,
                    doc_ids=np.array(doc_ids, dtype=str),
                    hashes=np.array(hashes, dtype=str),
                    sample_rows=sample_rows,
                    sample=vectors[sample_rows] if rows else np.zeros((0, 0), np.float32),
                    meta=np.array(json.dumps({"rows": rows, "trained_rows": trained_rows})),
                )
                out.flush()
                os.fsync(out.fileno())
            if index is not None:
                os.replace(index_tmp, self._path(generation, "index"))
            os.replace(meta_tmp, self._path(generation, "npz"))
            # The new, empty log must exist before faiss.json names its generation.
            self._path(generation, "log").write_bytes(b"")
            stamp_tmp.write_text(
                json.dumps({"space": self.space, "generation": generation, "rows": rows,
                            "kind": "ivf" if trained_rows else "flat"}),
                encoding="utf-8",
            )
            _fsync(stamp_tmp)
            os.replace(stamp_tmp, self.directory / STAMP_NAME)
        finally:
            for leftover in (index_tmp, meta_tmp, stamp_tmp):
                leftover.unlink(missing_ok=True)
        del index, vectors  # the new generation is read back memory-mapped, shared
        base = self._read_base(generation)
        self._install(self.space, generation, base, self._read_stamp_stat())
        # Readers that still map old files keep them until they let go (POSIX). Files of
        # generations before the old one are leftovers of a writer that crashed.
        for path in self.directory.glob("faiss-*.*"):
            if path.name.split(".")[0] != f"faiss-{generation}":
                path.unlink(missing_ok=True)

    def _live_passages(self, state: _State):
        """(vectors, counts, doc_ids, hashes, lists) of every live document, base ones first;
        lists[r] is the inverted list the base index put passage r in (-1: none, or new)."""
        base, added = state.base, state.added
        new_vectors, new_counts, new_ids, new_hashes = added.arrays()
        live = base.row_slot >= 0
        kept = int(live.sum())
        dim = base.dim or added.dim
        vectors = np.empty((kept + len(new_vectors), dim), np.float32)
        lists = np.full(len(vectors), -1, np.int64)
        _copy_base_vectors(base, live, vectors, lists)
        if len(new_vectors):
            vectors[kept:] = new_vectors
        # base.docs keeps its documents in row order, so its live rows are already in place.
        counts = [entry[3] for entry in base.docs.values()] + [int(n) for n in new_counts]
        doc_ids = list(base.docs) + list(new_ids)
        hashes = [entry[1] for entry in base.docs.values()] + list(new_hashes)
        return vectors, np.array(counts, np.int32), doc_ids, hashes, lists

    def _build_index(self, base: _Base, vectors: np.ndarray, lists: np.ndarray):
        """(index, trained_rows): exact below the threshold, else inverted lists, trained
        anew only when first needed or outgrown."""
        rows = len(vectors)
        if rows == 0:
            return None, 0
        dim = vectors.shape[1]
        if rows < self.ivf_threshold:
            index = faiss.IndexFlatIP(dim)
            index.add(vectors)
            return index, 0
        ids = np.arange(rows, dtype=np.int64)
        if base.trained_rows and rows < RETRAIN_GROWTH * base.trained_rows:
            centroids = base.index.quantizer.reconstruct_n(0, base.index.nlist)
            index = _ivf(dim, centroids)
            # Old passages stay in their lists; only new ones are assigned.
            unassigned = lists < 0
            if unassigned.any():
                _, assigned = index.quantizer.search(vectors[unassigned], 1)
                lists = lists.copy()
                lists[unassigned] = assigned[:, 0]
            index.add_core(rows, faiss.swig_ptr(vectors), faiss.swig_ptr(ids),
                           faiss.swig_ptr(np.ascontiguousarray(lists, np.int64)))
            return index, base.trained_rows
        nlist = nlist_for(rows)
        training = vectors
        if rows > nlist * TRAIN_POINTS_PER_LIST:
            choice = np.random.default_rng(rows).choice(rows, nlist * TRAIN_POINTS_PER_LIST,
                                                        replace=False)
            training = vectors[np.sort(choice)]
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = 1234
        index.train(training)
        index.add_with_ids(vectors, ids)
        return index, rows


def _ivf(dim: int, centroids: np.ndarray) -> faiss.IndexIVFFlat:
    """An empty IndexIVFFlat whose lists are these (already trained) centroids."""
    quantizer = faiss.IndexFlatIP(dim)
    quantizer.add(np.ascontiguousarray(centroids, np.float32))
    index = faiss.IndexIVFFlat(quantizer, dim, len(centroids), faiss.METRIC_INNER_PRODUCT)
    index.is_trained = True
    return index


def _copy_base_vectors(base: _Base, live: np.ndarray, vectors, lists) -> None:
    """Copy the base index's live vectors, in row order, into vectors[:live.sum()], and for
    inverted lists the list each is in into `lists`."""
    if base.index is None or not live.any():
        return
    rows, dim = base.rows, base.dim
    if not base.trained_rows:
        flat = np.frombuffer(faiss.rev_swig_ptr(base.index.get_xb(), rows * dim), np.float32)
        np.compress(live, flat.reshape(rows, dim), axis=0, out=vectors[: int(live.sum())])
        return
    new_row = np.cumsum(live) - 1  # where each live row goes
    invlists = base.index.invlists
    for list_no in range(base.index.nlist):
        size = invlists.list_size(list_no)
        if not size:
            continue
        ids = faiss.rev_swig_ptr(invlists.get_ids(list_no), size)
        codes = faiss.rev_swig_ptr(invlists.get_codes(list_no), size * dim * 4)
        keep = live[ids]
        targets = new_row[ids[keep]]
        vectors[targets] = np.frombuffer(codes, np.float32).reshape(size, dim)[keep]
        lists[targets] = list_no


def _fsync(path: Path) -> None:
    with open(path, "rb+") as out:
        os.fsync(out.fileno())
