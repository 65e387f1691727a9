"""The forum's side of search: turns visible posts into SearchDocuments and keeps the index in step.

Only published, undeleted questions and answers are indexed; everything else is removed. The
index is updated by a job after each commit, and `sync` (at start-up and `flask search reindex`)
makes it equal to the database again after a crash or a restore.
"""

import logging
import shutil
import threading
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from forum import jobs, model_setup
from forum.extensions import db
from forum.jobs import job
from forum.markup import plain_text
from forum.models import Post, Thread
from search import LocalIndex, SearchDocument, SearchEngine

log = logging.getLogger(__name__)
_engine_lock = threading.Lock()


def search_engine(app=None):
    """The app's SearchEngine, created once on first use (the model itself loads lazily)."""
    app = app or current_app._get_current_object()
    engine = app.extensions.get("search")
    if engine is None:
        with _engine_lock:
            engine = app.extensions.get("search")
            if engine is None:
                engine = SearchEngine(
                    search_index(app.config),
                    make_encoder(app.config),
                    posting_cache_mb=app.config["SEARCH_POSTING_CACHE_MB"],
                )
                app.extensions["search"] = engine
    return engine


def search_index(config):
    """This node's index directory: keyword index on SEARCH_ENGINE (whoosh or tantivy), vectors
    in faiss or numpy (VECTOR_STORE)."""
    return LocalIndex(
        Path(config["SEARCH_INDEX_PATH"]),
        keyword_engine=config.get("SEARCH_ENGINE", "whoosh"),
        vector_store=config["VECTOR_STORE"],
        faiss_nprobe=config["SEARCH_FAISS_NPROBE"],
        faiss_ivf_threshold=config["SEARCH_FAISS_IVF_THRESHOLD"],
    )


def make_encoder(config):
    """SEARCH_ENCODER: auto (ONNX when prepared, else torch), onnx, torch, or fake (tests)."""
    return model_setup.make_encoder(
        config["SEARCH_ENCODER"],
        config["SEARCH_MODEL"],
        Path(config["MODELS_PATH"]),
        threads=config["SEARCH_ENCODER_THREADS"],
    )


def thread_documents(thread, posts):
    """Documents for a thread's visible question and answers (none if the question is hidden)."""
    question = next((p for p in posts if p.post_type == "question"), None)
    if question is None or not question.is_published:
        return []
    tags = tuple(tag.slug for tag in thread.tags)
    documents = [
        SearchDocument(
            doc_id=f"q:{question.id}",
            kind="question",
            question_id=thread.id,
            answer_id=None,
            title=thread.title,
            body=plain_text(question.body_html),
            tags=tags,
            created_at=thread.created_at,
            answer_count=thread.answer_count,
            has_accepted=thread.accepted_answer_id is not None,
            score=thread.score,
        )
    ]
    for answer in posts:
        if answer.post_type == "answer" and answer.is_published:
            documents.append(
                SearchDocument(
                    doc_id=f"a:{answer.id}",
                    kind="answer",
                    question_id=thread.id,
                    answer_id=answer.id,
                    title=thread.title,
                    body=plain_text(answer.body_html),
                    tags=tags,
                    created_at=answer.created_at,
                    answer_count=thread.answer_count,
                    has_accepted=answer.id == thread.accepted_answer_id,
                    score=answer.score,
                )
            )
    return documents


def _posts_by_thread(thread_ids):
    """The questions and answers (not comments) of these threads, by thread id."""
    found = {}
    for post in db.session.scalars(
        select(Post).where(Post.thread_id.in_(thread_ids), Post.post_type != "comment")
    ):
        found.setdefault(post.thread_id, []).append(post)
    return found


@job(batched=True)
def index_threads(thread_ids):
    """Make the index hold exactly the visible posts of these threads, in one commit."""
    threads = db.session.scalars(
        select(Thread).where(Thread.id.in_(thread_ids)).options(selectinload(Thread.tags))
    ).all()
    posts_by_thread = _posts_by_thread(thread_ids)
    documents = [
        doc
        for thread in threads
        for doc in thread_documents(thread, posts_by_thread.get(thread.id, []))
    ]
    keep = {doc.doc_id for doc in documents}
    stale = [
        f"{'q' if post.post_type == 'question' else 'a'}:{post.id}"
        for posts in posts_by_thread.values()
        for post in posts
    ]
    search_engine().update(documents, [doc_id for doc_id in stale if doc_id not in keep])


def all_documents(batch=500):
    """Every document the index should hold, read from the database in batches."""
    last_id = 0
    while True:
        threads = db.session.scalars(
            select(Thread)
            .where(Thread.id > last_id)
            .order_by(Thread.id)
            .limit(batch)
            .options(selectinload(Thread.tags))
        ).all()
        if not threads:
            return
        posts_by_thread = _posts_by_thread([t.id for t in threads])
        for thread in threads:
            yield from thread_documents(thread, posts_by_thread.get(thread.id, []))
        last_id = threads[-1].id
        db.session.expunge_all()


def indexable_post_count():
    """Questions and answers that may become documents: a progress bar's length."""
    return db.session.scalar(
        select(func.count()).select_from(Post).where(
            Post.post_type != "comment", Post.status == "published", Post.deleted_at.is_(None)
        )
    )


class _CountingEncoder:
    """The engine's encoder, telling a callback how many passages it has just embedded."""

    def __init__(self, inner, on_passages):
        self._inner, self._on_passages = inner, on_passages

    def encode_passages(self, texts):
        vectors = self._inner.encode_passages(texts)
        self._on_passages(len(texts))
        return vectors

    def __getattr__(self, name):
        return getattr(self._inner, name)


def sync_index(on_document=None, on_passages=None):
    """Bring the index in step with the database; re-embeds only text that changed.

    The callbacks, for a command's progress bars, hear of each document read from the
    database and of each batch of passages embedded (the slow part with a real model)."""
    # Its own app context, hence its own session: the batches it reads and forgets are not
    # the caller's objects.
    with current_app.app_context():
        engine = search_engine()
        documents = all_documents()
        if on_document is not None:
            documents = _tell_each(documents, on_document)
        if on_passages is None:
            report = engine.sync(documents)
        else:
            encoder = engine.encoder
            engine.encoder = _CountingEncoder(encoder, on_passages)
            try:
                report = engine.sync(documents)
            finally:
                engine.encoder = encoder
    log.info(
        "search index in step: %d added, %d updated, %d removed, %d unchanged (%.1fs)",
        report.added,
        report.updated,
        report.removed,
        report.unchanged,
        report.seconds,
    )
    return report


def _tell_each(items, callback):
    for item in items:
        yield item
        callback(item)


@job(batched=True)
def sync_search_index(_reasons):
    """Batched, so web nodes starting together (or restarting) queue one sync between them."""
    try:
        sync_index()
        search_engine().warm()
    finally:
        # Even a failed sync ends the "being prepared" notice: the index is what it is, and
        # the job's retries (or `flask search reindex`) are the way forward, not a banner.
        state = current_app.extensions.get("index_sync")
        if state is not None:
            state["done"] = True


def drop_index():
    """Forget the index entirely (the next sync rebuilds and re-embeds everything)."""
    app = current_app._get_current_object()
    with _engine_lock:
        engine = app.extensions.pop("search", None)
        if engine is not None:
            engine.close()
        shutil.rmtree(app.config["SEARCH_INDEX_PATH"], ignore_errors=True)


def sync_on_first_request(app):
    """Once the server is up, in the background: check the index against the database, and
    load the models, so no member's first search or post waits for them."""
    state = app.extensions["index_sync"] = {"started": False, "done": False}

    @app.before_request
    def start_sync():
        if not state["started"]:
            state["started"] = True
            jobs.enqueue("sync_search_index", "start-up")
            jobs.enqueue("warm_moderation")


def index_ready(app=None):
    """False while search cannot yet be trusted to find what the forum holds: the start-up
    sync of this process has not finished, or the index is empty although the forum is not
    (a first start, or an import without --index). Pages then say results are being
    prepared instead of "nothing found". Once seen ready, a process stays ready."""
    app = app or current_app._get_current_object()
    state = app.extensions.setdefault("index_sync", {"started": True, "done": True})
    if state.get("ready"):
        return True
    # With RQ the sync runs in a worker, which cannot tell this process; the emptiness test
    # below still catches a first start there.
    if not state["done"] and app.extensions["jobs"].mode != "rq":
        return False
    forum_has_threads = db.session.scalar(select(Thread.id).where(Thread.is_public).limit(1))
    if forum_has_threads:
        engine = search_engine(app)
        engine.refresh()  # another process (a worker, `flask search reindex`) may have written
        if engine.keyword.doc_count() == 0:
            return False
    state["ready"] = True
    return True
