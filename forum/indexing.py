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

from forum import jobs, model_setup, model_versions, search_feed
from forum.extensions import db
from forum.jobs import job
from forum.markup import plain_text
from forum.models import Post, Thread
from search import LocalIndex, SearchDocument, SearchEngine

log = logging.getLogger(__name__)
_engine_lock = threading.Lock()
_encoder_lock = threading.Lock()


def search_engine(app=None):
    """The app's SearchEngine, created on first use (the model itself loads lazily) and again
    when this node switches to another model version: its index folder and its encoder are
    opened together, so a query is encoded by the model that built the index it searches."""
    app = app or current_app._get_current_object()
    model = model_versions.node_model(app)
    engine = app.extensions.get("search")
    if engine is None or app.extensions.get("search_model") != model:
        with _engine_lock:
            engine = app.extensions.get("search")
            if engine is None or app.extensions.get("search_model") != model:
                # The engine it replaces is left to requests still using it, not closed.
                engine = SearchEngine(
                    search_index(app.config, Path(model.index_path)),
                    model_versions.encoder_for(app, model),
                    embeddings=search_feed.StoredEmbeddings(),
                )
                app.extensions["search"] = engine
                app.extensions["search_model"] = model
    return engine


def query_encoder(app):
    """The app's encoder, made once per process (and loaded lazily, or by preload_encoder)."""
    encoder = app.extensions.get("search_encoder")
    if encoder is None:
        with _encoder_lock:
            encoder = app.extensions.get("search_encoder")
            if encoder is None:
                encoder = app.extensions["search_encoder"] = make_encoder(app.config)
    return encoder


def preload_encoder(app):
    """Load the encoder's tokenizer and model in a server's master process, before it forks:
    the workers then share those pages instead of each loading its own copy (about 400 MB).
    Only an encoder that loads without starting threads is preloaded (the ONNX one, one
    intra-op thread): threads do not survive a fork. Returns whether it was loaded."""
    encoder = query_encoder(app)
    load = getattr(encoder, "load", None)
    if load is None:
        return False
    load()
    return True


def search_index(config, path=None):
    """This node's index directory (SEARCH_INDEX_PATH, or `path`): keyword index on
    SEARCH_ENGINE (tantivy or whoosh), vectors in faiss or numpy (VECTOR_STORE)."""
    return LocalIndex(
        Path(path or config["SEARCH_INDEX_PATH"]),
        keyword_engine=config["SEARCH_ENGINE"],
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
                    # The thread's facets live on its question's document alone, so one new
                    # answer rewrites two documents, not the whole thread.
                    answer_count=0,
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


def index_threads(thread_ids):
    """Make the index hold exactly the visible posts of these threads, in one commit; only
    documents that changed are written (a vote rewrites one document, not the thread)."""
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
    engine = search_engine()
    indexed = engine.keyword.documents_by_id(keep)
    changed = [
        doc for doc in documents
        if doc.doc_id not in indexed or indexed[doc.doc_id].content_hash != doc.content_hash
    ]
    engine.update(changed, [doc_id for doc_id in stale if doc_id not in keep])
    # Sentence vectors for answer suggestions, computed once here rather than when suggested.
    answers = {doc.answer_id: doc.body for doc in changed if doc.kind == "answer"}
    if answers and engine.encoder_works():
        search_feed.answer_sentences(answers, engine.encoder)
        db.session.commit()


@job(batched=True)
def follow_search_changes(_thread_ids):
    """Apply the search changes waiting in the database to this process's index: the
    in-process follower of tests and scripts (SEARCH_FOLLOW_IN_PROCESS); servers run
    `flask search follow` beside them instead. The thread ids only say what prompted it."""
    search_feed.Follower(current_app._get_current_object()).run_once()


def apply_search_changes():
    """Apply every stored search change to this node's index now (commands, imports)."""
    return search_feed.Follower(current_app._get_current_object()).run_once()


def search_changed(thread_id):
    """After a commit that changed a thread: its change row is already stored; wake the
    in-process follower if this process has one (else the node's follower finds it)."""
    if current_app.config["SEARCH_FOLLOW_IN_PROCESS"]:
        jobs.enqueue("follow_search_changes", thread_id)


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


def warm(app):
    """Open the index and load the query encoder now, before a web worker takes requests (a
    first search must not pay for them); the moderation classifier loads in the background,
    since on a first start it is trained (a minute) and no request needs it at once."""
    with app.app_context():
        engine = search_engine(app)
        engine.warm()
        engine.similar_questions("khởi động")
    for name in app.jinja_env.list_templates(extensions=("html",)):
        app.jinja_env.get_template(name)  # compiled once here, not by a member's first visit
    # One read-only visit of the two pages everybody opens loads what is left (the database
    # pool, Babel's locale data, the search paths of a page).
    client = app.test_client()
    for url in ("/", "/search?q=kh%E1%BB%9Fi+%C4%91%E1%BB%99ng"):
        client.get(url)
    jobs_runner = app.extensions["jobs"]
    if jobs_runner.mode == "rq":
        threading.Thread(target=jobs_runner.run, args=("warm_moderation", ()), daemon=True).start()
    else:
        jobs_runner.enqueue("warm_moderation")


def drop_index():
    """Forget the index entirely (the next sync rebuilds it, from stored vectors)."""
    app = current_app._get_current_object()
    with _engine_lock:
        engine = app.extensions.pop("search", None)
        if engine is not None:
            engine.close()
        shutil.rmtree(model_versions.node_model(app).index_path, ignore_errors=True)
        shutil.rmtree(app.config["SEARCH_INDEX_PATH"], ignore_errors=True)


def index_ready(app=None):
    """False while search cannot yet be trusted to find what the forum holds: this node's
    follower has not built its index yet (a first start). Pages then say results are being
    prepared instead of "nothing found". Once seen ready, a process stays ready."""
    app = app or current_app._get_current_object()
    state = app.extensions.setdefault("index_ready", {})
    if state.get("ready"):
        return True
    built = (Path(app.config["SEARCH_INDEX_PATH"]) / search_feed.STATE_FILE).exists()
    if not built and db.session.scalar(select(Thread.id).where(Thread.is_public).limit(1)):
        return False
    state["ready"] = True
    return True
