"""Whoosh postings and per-segment columns as numpy arrays, and a cache for them.

Whoosh's matchers step through postings one document at a time in Python; decoding a term's
whole posting list into arrays at once, and keeping the frequent ones, is what makes the
keyword index fast (see search.keyword).
"""

import itertools
import threading
from collections import OrderedDict

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.util.numeric import byte_to_length

_ENTRY_OVERHEAD = 200  # bytes of an entry besides its arrays, so empty entries count too


class PostingCache:
    """(segment, field, term) -> (docnums, impacts, average length); segments never change,
    so entries stay valid until the segment is merged away; least recently used go first."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key, entry) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= _size(old)
            self._entries[key] = entry
            self._bytes += _size(entry)
            while self._bytes > self.max_bytes and len(self._entries) > 1:
                _old_key, old = self._entries.popitem(last=False)
                self._bytes -= _size(old)

    def drop_segments(self, segments: set) -> None:
        """Forget the entries of segments that were merged away."""
        with self._lock:
            for key in [key for key in self._entries if key[0] in segments]:
                self._bytes -= _size(self._entries.pop(key))


def _size(entry) -> int:
    return entry[0].nbytes + entry[1].nbytes + _ENTRY_OVERHEAD


def posting_arrays(matcher) -> tuple[np.ndarray, np.ndarray]:
    """All (docnum, weight) postings of a term matcher, deletions ignored.

    Whoosh's W3 postings are pickled blocks of delta-encoded ids; decoding them all at once
    with numpy is ~50x faster than stepping the matcher. Other matchers are stepped.
    """
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    if not isinstance(matcher, W3LeafMatcher):
        ids, weights = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
        return np.asarray(ids, np.int32), np.asarray(weights, np.float32)
    id_blocks, weight_blocks, lengths = [], [], []
    while True:
        matcher._read_data()
        deltas, weights, _values = matcher._data
        count = matcher._blocklength
        id_blocks.append(deltas)
        lengths.append(count)
        if weights is None:
            weight_blocks.append(itertools.repeat(1.0, count))
        elif isinstance(weights, float):
            weight_blocks.append(itertools.repeat(weights, count))
        else:
            weight_blocks.append(weights)
        if matcher._lastblock:
            break
        matcher._goto(matcher._nextoffset)
    total = sum(lengths)
    running = np.cumsum(np.fromiter(itertools.chain.from_iterable(id_blocks), np.int64, total))
    # Each block's deltas restart from zero: subtract the running sum before the block.
    block_ends = np.cumsum(lengths)
    base = np.concatenate([[0], running[block_ends[:-1] - 1]])
    ids = (running - np.repeat(base, lengths)).astype(np.int32)
    weights = np.fromiter(itertools.chain.from_iterable(weight_blocks), np.float32, total)
    return ids, weights


def fixed_column_array(column_reader, dtype: str, count: int, default) -> np.ndarray:
    """A fixed-width Whoosh column as a numpy array, read in one go (values are big-endian)."""
    width = column_reader._fixedlen
    stored = column_reader._count
    raw = column_reader._dbfile.get(column_reader._basepos, stored * width)
    values = np.frombuffer(raw, dtype=dtype).astype(dtype.replace(">", "<"))
    if stored < count:
        values = np.concatenate([values, np.full(count - stored, default, values.dtype)])
    return values[:count]


_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], np.float32)


class SegmentArrays:
    """Per-segment numpy data: field lengths, creation times, deletions, ids and threads."""

    def __init__(self, reader, text_fields: tuple[str, ...]):
        self.count = reader.doc_count_all()
        self.lengths = {}
        for field in text_fields:
            column = reader._perdoc._cached_reader(f"_{field}_len", LENGTHS_COLUMN)
            if column is None:
                self.lengths[field] = np.zeros(self.count, np.float32)
            else:
                codes = fixed_column_array(column, "u1", self.count, 0)
                self.lengths[field] = _LENGTH_OF_BYTE[codes]
        created = reader.column_reader("created_ts", translate=False)
        self.created_ts = fixed_column_array(created, ">u8", self.count, 0).astype(np.int64)
        self._doc_ids = None
        self._positions = None
        self._questions = None
        self._threads = None
        self._doc_ids_lock = threading.Lock()
        self.warmed = False

    def doc_ids(self, reader) -> np.ndarray:
        """docnum -> doc_id, built on first use from the unique doc_id terms."""
        with self._doc_ids_lock:
            if self._doc_ids is None:
                doc_ids = np.empty(self.count, dtype=object)
                for text, info in reader.iter_field("doc_id"):
                    doc_ids[info.min_id()] = _text(text)
                self._doc_ids = doc_ids
            return self._doc_ids

    def positions(self, reader) -> dict[str, int]:
        """doc_id -> docnum in this segment, deleted documents included (check alive): one
        dict lookup per segment instead of Whoosh's term lookup when fetching hits by id."""
        if self._positions is None:
            ids = self.doc_ids(reader)
            self._positions = {doc_id: n for n, doc_id in enumerate(ids) if doc_id is not None}
        return self._positions

    def questions(self, reader) -> dict[int, int]:
        """question id -> docnum of that thread's question document in this segment, deleted
        documents included (check alive); Whoosh's two-term lookup cost ~4 ms a thread."""
        if self._questions is None:
            threads = self.threads(reader)
            ids = np.zeros(0, np.int32)
            if ("kind", "question") in reader:
                ids, _weights = posting_arrays(reader.postings("kind", "question"))
            self._questions = {int(threads[n]): int(n) for n in ids}
        return self._questions

    def threads(self, reader) -> np.ndarray:
        """docnum -> question id, built on first use from the thread field's postings."""
        with self._doc_ids_lock:
            if self._threads is None:
                threads = np.full(self.count, -1, np.int64)
                names = [_text(text) for text, _info in reader.iter_field("thread")]
                for name in names:
                    ids, _weights = posting_arrays(reader.postings("thread", name))
                    threads[ids] = int(name)
                self._threads = threads
            return self._threads

    @staticmethod
    def alive_mask(reader) -> np.ndarray:
        alive = np.ones(reader.doc_count_all(), bool)
        deleted = list(reader.deleted_docs_set)
        if deleted:
            alive[deleted] = False
        return alive


def _text(term) -> str:
    return term.decode() if isinstance(term, bytes) else term
