"""The index feed: the database says what changed, each node's follower applies it.

PostgreSQL (or SQLite) is the source of truth; search indexes are files on each node, derived
from it. Every flush that changes a thread's searchable content adds a SearchChange row in the
same transaction (so a change and its row commit or roll back together). A follower
(`flask search follow`, one per node) applies the rows in id order to the node's indexes and
records how far it got in a small file beside them, written only after the index commit:
a follower killed mid-batch applies that batch again, which is harmless, because applying a
thread makes the index hold exactly what the database holds for it.

Ids are handed out when a row is inserted, not when its transaction commits, so on PostgreSQL
a row with a smaller id can become visible after a larger one. The follower remembers such
gaps ("holes") and looks for them again for a while; a gap that never fills was a rollback.

A new node, or one whose index folder was lost, builds its indexes from the database (vectors
from post_embeddings, never encoded again) and then follows from the position it read first.
"""

import contextlib
import fcntl
import json
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import delete, event, func, inspect, or_, select
from sqlalchemy.orm import Session

from forum.extensions import db
from forum.models import Post, PostEmbedding, SearchChange, Thread, utcnow
from search import SyncReport, passages

log = logging.getLogger(__name__)

STATE_FILE = "follow.json"
LOCK_FILE = "follow.lock"  # held while applying a batch
RUN_LOCK_FILE = "follower.lock"  # held by a running `flask search follow`
BATCH = 500  # change rows per index commit
HOLE_SECONDS = 300  # how long a gap in the ids may still be a transaction yet to commit
KEEP_DAYS = 7
# Measured (bench/search_speed.py): Whoosh's own BM25F takes ~0.3 s a query at 5k posts.
WHOOSH_COMFORTABLE = 5_000  # documents past which the follower warns that Whoosh gets slow

# What a search document is made of: a change to anything else (views, activity times) is
# not a search change.
THREAD_FIELDS = ("title", "score", "answer_count", "accepted_answer_id", "tags")
POST_FIELDS = ("body_html", "status", "deleted_at", "score", "thread_id")


# Writing changes -------------------------------------------------------------------------

def _changed(obj, fields) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in fields)


def _changed_threads(session) -> set[int]:
    """Threads whose searchable content this flush changes."""
    threads = set()
    for obj in session.new:
        if isinstance(obj, Post) and obj.post_type != "comment":
            threads.add(obj.thread_id if obj.thread_id is not None else obj.thread)
    for obj in session.dirty:
        if isinstance(obj, Thread) and _changed(obj, THREAD_FIELDS):
            threads.add(obj)
        elif isinstance(obj, Post) and obj.post_type != "comment" and _changed(obj, POST_FIELDS):
            threads.add(obj.thread_id)
            old_thread = inspect(obj).attrs.thread_id.history.deleted
            threads.update(t for t in old_thread or () if t is not None)
    for obj in session.deleted:
        if isinstance(obj, Thread):
            threads.add(obj.id)
        elif isinstance(obj, Post) and obj.post_type != "comment":
            threads.add(obj.thread_id)
    return threads


def _record_changes(session, _flush_context, _instances):
    session.info.pop("search_new_threads", None)  # left by a flush that failed
    pending = _changed_threads(session)
    if not pending:
        return
    ids, new_threads = set(), []
    for item in pending:
        if isinstance(item, Thread):
            (new_threads.append(item) if item.id is None else ids.add(item.id))
        elif item is not None:
            ids.add(item)
    session.add_all(SearchChange(thread_id=thread_id) for thread_id in sorted(ids))
    # A thread asked in this very flush has no id yet: its row follows it.
    session.info["search_new_threads"] = new_threads


def _record_new_threads(session, _flush_context):
    new_threads = session.info.pop("search_new_threads", [])
    if new_threads:
        session.add_all(
            SearchChange(thread_id=thread.id) for thread in new_threads if thread.id is not None
        )


_listening = False


def listen() -> None:
    """Record search changes on every flush of every session (once per process)."""
    global _listening
    if not _listening:
        event.listen(Session, "before_flush", _record_changes)
        event.listen(Session, "after_flush_postexec", _record_new_threads)
        _listening = True


def latest_change_id() -> int:
    return db.session.scalar(select(func.max(SearchChange.id))) or 0


def prune_changes(days: int = KEEP_DAYS) -> int:
    """Delete change rows older than `days`; a node further behind rebuilds (missed_changes).
    The newest row always stays, so a follower can tell where the feed stands."""
    newest = latest_change_id()
    result = db.session.execute(
        delete(SearchChange).where(
            SearchChange.created_at < utcnow() - timedelta(days=days), SearchChange.id < newest
        )
    )
    db.session.commit()
    return result.rowcount or 0


def missed_changes(cursor: int) -> bool:
    """Whether rows after `cursor` are gone: the node was away longer than the retention and
    they were pruned, or the database is another one (restored from a backup, say). Only a
    rebuild makes such a node's index right again."""
    oldest, newest = db.session.execute(
        select(func.min(SearchChange.id), func.max(SearchChange.id))
    ).one()
    if newest is None:
        return cursor > 0
    return newest < cursor or oldest > cursor + 1


# Stored embeddings -----------------------------------------------------------------------

def post_id_of(doc_id: str) -> int:
    """"q:42" / "a:17" -> the post's id (questions and answers are both posts)."""
    return int(doc_id.split(":", 1)[1])


class StoredEmbeddings:
    """search's EmbeddingStore over the post_embeddings table: a post's passage vectors are
    encoded once, by whichever node indexes it first, and read by every rebuild after."""

    def load(self, docs, space: str) -> dict[str, np.ndarray]:
        by_post = {post_id_of(doc.doc_id): doc for doc in docs}
        found = {}
        ids = list(by_post)
        for start in range(0, len(ids), 900):
            rows = db.session.execute(
                select(PostEmbedding.post_id, PostEmbedding.text_hash, PostEmbedding.passages,
                       PostEmbedding.vectors)
                .where(PostEmbedding.post_id.in_(ids[start : start + 900]),
                       PostEmbedding.space == space)
            )
            for post_id, text_hash, count, blob in rows:
                doc = by_post[post_id]
                if text_hash == doc.text_hash:
                    vectors = np.frombuffer(blob, np.float16).reshape(count, -1)
                    found[doc.doc_id] = vectors.astype(np.float32)
        return found

    def save(self, docs, vectors: dict[str, np.ndarray], space: str) -> None:
        rows = [
            {
                "post_id": post_id_of(doc.doc_id),
                "space": space,
                "text_hash": doc.text_hash,
                "passages": len(vectors[doc.doc_id]),
                "vectors": np.asarray(vectors[doc.doc_id], np.float16).tobytes(),
            }
            for doc in docs
            if doc.doc_id in vectors
        ]
        if not rows:
            return
        _replace_vectors(space, rows)
        db.session.commit()


def _replace_vectors(space: str, rows: list[dict]) -> None:
    """Store these post_embeddings rows of one space, replacing the posts' earlier ones."""
    ids = [row["post_id"] for row in rows]
    for start in range(0, len(ids), 900):
        db.session.execute(
            delete(PostEmbedding).where(
                PostEmbedding.post_id.in_(ids[start : start + 900]), PostEmbedding.space == space
            )
        )
    db.session.execute(PostEmbedding.__table__.insert(), rows)


def answer_sentences(texts: dict[int, str], encoder) -> dict[int, tuple[list[str], np.ndarray]]:
    """{answer post id: (its sentences, their vectors)} for {post id: plain text}: the stored
    vectors when they are of the current text, the others encoded now and added to the
    session (committed with the caller's transaction)."""
    space = passages.sentence_space(encoder.name)
    split = {post_id: passages.sentences(text) for post_id, text in texts.items()}
    found = {}
    if split:
        rows = db.session.execute(
            select(PostEmbedding.post_id, PostEmbedding.text_hash, PostEmbedding.passages,
                   PostEmbedding.vectors)
            .where(PostEmbedding.post_id.in_(list(split)), PostEmbedding.space == space)
        )
        for post_id, text_hash, count, blob in rows:
            parts = split[post_id]
            if text_hash == passages.sentence_text_hash(parts) and count == len(parts):
                vectors = np.frombuffer(blob, np.float16).reshape(count, -1).astype(np.float32)
                found[post_id] = (parts, vectors)
    missing = {post_id: texts[post_id] for post_id in split if post_id not in found}
    if missing:
        encoded = passages.encode_sentences(encoder, missing)
        _replace_vectors(space, [
            {"post_id": post_id, "space": space, "text_hash": passages.sentence_text_hash(parts),
             "passages": len(parts), "vectors": np.asarray(vectors, np.float16).tobytes()}
            for post_id, (parts, vectors) in encoded.items()
        ])
        found.update(encoded)
    return found


# Following -------------------------------------------------------------------------------

@dataclass
class FollowState:
    """How far a node's indexes are: every change row up to `cursor` is applied, except the
    ids in `holes` (not visible yet when passed; id -> when first missed, epoch seconds)."""

    cursor: int = 0
    holes: dict[int, float] = field(default_factory=dict)
    # The keyword engine (SEARCH_ENGINE) whose index this state describes: another engine's
    # folder is empty until built ("" in files of releases that did not record it).
    engine: str = ""

    @classmethod
    def read(cls, path: Path) -> "FollowState | None":
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return cls(int(data["cursor"]), {int(k): float(v) for k, v in data["holes"].items()},
                   data.get("engine", ""))

    def write(self, path: Path) -> None:
        """Atomically: a reader or a crash sees the old state or the new one, never half."""
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"cursor": self.cursor, "holes": self.holes, "engine": self.engine})
        )
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def passed(self, ids: list[int], now: float) -> None:
        """Record that these rows (sorted) are applied: gaps below the new cursor become holes,
        holes older than HOLE_SECONDS are given up (their transactions rolled back)."""
        seen = set(ids)
        for row_id in ids:
            self.holes.pop(row_id, None)
        top = max(ids, default=self.cursor)
        for missing in range(self.cursor + 1, top):
            if missing not in seen:
                self.holes.setdefault(missing, now)
        self.cursor = max(self.cursor, top)
        self.holes = {k: v for k, v in self.holes.items() if now - v < HOLE_SECONDS}


@dataclass
class FollowReport:
    applied_rows: int = 0
    threads: int = 0
    rebuilt: SyncReport | None = None  # the sync's report, when the index was built first
    switched: dict | None = None  # figures of a switch to another model version


class Follower:
    """Applies the change rows to this node's indexes. One per node (a lock file says so)."""

    def __init__(self, app, *, batch: int = BATCH, on_batch=None, on_switch_built=None):
        self.app = app
        self.batch = batch
        self.on_batch = on_batch  # test hook: called after each index commit, before the state
        self.on_switch_built = on_switch_built  # test hook: a new version built, not switched
        self.index_path = Path(app.config["SEARCH_INDEX_PATH"])
        self._thread_lock = threading.Lock()

    @property
    def state_path(self) -> Path:
        """In the folder of the model version this node serves (locks stay in the base one)."""
        from forum import model_versions

        return Path(model_versions.node_model(self.app).index_path) / STATE_FILE

    @contextlib.contextmanager
    def _exclusive(self):
        """One applier at a time per node, across processes (and threads of one)."""
        self.index_path.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(self.index_path / LOCK_FILE, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def run_once(self, **progress) -> FollowReport:
        """Apply every change visible now (building the indexes first on a new node);
        `progress`: sync_index's callbacks, for a build."""
        from forum import indexing, model_versions

        report = FollowReport()
        with self._exclusive(), self.app.app_context():
            # A new active model version first (a new node builds that one's index directly).
            report.switched = model_versions.follow_active_version(
                self.app, on_built=self.on_switch_built)
            state = FollowState.read(self.state_path)
            if state is not None and missed_changes(state.cursor):
                log.warning("search follower: changes after %d were pruned before this node "
                            "applied them; rebuilding its indexes", state.cursor)
                state = None
            if state is None or state.engine != self.app.config["SEARCH_ENGINE"]:
                # A new node, its index folder lost, too far behind, or another keyword engine
                # configured (its folder starts empty; a state of an older release names none:
                # the build then rewrites only what differs, vectors come from the database).
                state, report.rebuilt = self._build(**progress)
            while True:
                rows = self._pending(state)
                if not rows:
                    holes = dict(state.holes)
                    state.passed([], time.time())
                    if state.holes != holes:  # some gave up on: an idle follower writes nothing
                        state.write(self.state_path)
                    break
                threads = sorted({thread_id for _id, thread_id in rows})
                indexing.index_threads(threads)
                if self.on_batch is not None:
                    self.on_batch(rows)
                state.passed([row_id for row_id, _t in rows], time.time())
                state.write(self.state_path)
                report.applied_rows += len(rows)
                report.threads += len(threads)
                db.session.expunge_all()
        return report

    def _pending(self, state: FollowState) -> list[tuple[int, int]]:
        condition = SearchChange.id > state.cursor
        if state.holes:
            condition = or_(condition, SearchChange.id.in_(list(state.holes)))
        db.session.rollback()  # a fresh snapshot: see what committed since the last look
        return [
            tuple(row)
            for row in db.session.execute(
                select(SearchChange.id, SearchChange.thread_id)
                .where(condition)
                .order_by(SearchChange.id)
                .limit(self.batch)
            )
        ]

    def rebuild(self, **progress):
        """Make this node's indexes equal to the database now (`flask search reindex`);
        returns the sync's report. `progress`: sync_index's callbacks."""
        with self._exclusive(), self.app.app_context():
            return self._build(**progress)[1]

    def _build(self, **progress):
        """Make this node's indexes equal to the database, then follow from where it stood."""
        from forum import indexing

        start = latest_change_id()
        log.info("search follower: building this node's indexes from the database")
        _remove_older_layouts(Path(self.app.config["INSTANCE_PATH"]), self.index_path)
        report = indexing.sync_index(**progress)
        documents = report.added + report.updated + report.unchanged
        if self.app.config["SEARCH_ENGINE"] == "whoosh" and documents > WHOOSH_COMFORTABLE:
            log.warning(
                "search: %d documents on Whoosh, whose own scoring gets slow past about %d "
                "(seconds for a long query): set SEARCH_ENGINE=tantivy", documents,
                WHOOSH_COMFORTABLE,
            )
        state = FollowState(cursor=start, engine=self.app.config["SEARCH_ENGINE"])
        state.write(self.state_path)
        return state, report

    def run(self, *, poll_seconds: float = 1.0, stop: threading.Event | None = None,
            prune_every: float = 3600.0) -> None:
        """Follow until stopped: apply, then look again every poll_seconds."""
        stop = stop or threading.Event()
        with self._running():
            self._follow(stop, poll_seconds, prune_every)

    @contextlib.contextmanager
    def _running(self):
        """Held for a whole `follow`: a second follower for the same folder refuses to start."""
        self.index_path.mkdir(parents=True, exist_ok=True)
        with open(self.index_path / RUN_LOCK_FILE, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                raise FollowerBusy(str(self.index_path)) from error
            yield

    def _follow(self, stop, poll_seconds, prune_every):
        last_prune = 0.0
        while not stop.is_set():
            try:
                report = self.run_once()
                if report.applied_rows:
                    log.info("search follower: %d changes, %d threads",
                             report.applied_rows, report.threads)
                if time.monotonic() - last_prune > prune_every:
                    with self.app.app_context():
                        prune_changes()
                    last_prune = time.monotonic()
            except Exception:  # the database restarting, say: try again, never die
                log.exception("search follower: a round failed; trying again")
                stop.wait(min(30.0, poll_seconds * 10))
            stop.wait(poll_seconds)


def _remove_older_layouts(instance: Path, current: Path) -> None:
    """Index folders of older releases (instance/search, instance/search-v1): derived data that
    this release cannot read."""
    from forum import INDEX_LAYOUT

    older = [instance / "search"] + [instance / f"search-v{n}" for n in range(1, INDEX_LAYOUT)]
    for old in older:
        if old.is_dir() and old.resolve() != current.resolve():
            log.info("search follower: removing %s, an index of an older release", old)
            shutil.rmtree(old, ignore_errors=True)


class FollowerBusy(RuntimeError):
    """Another follower holds this node's index folder."""
