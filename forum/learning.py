"""Search that learns from the forum's own answered threads (`flask --app forum search learn`).

Every answered thread is a training pair: its question (title and body) and the answer that
settled it (the accepted one, else the best-voted one with a positive score, else the only one);
so is every past answer an asker marked "Cái này giải quyết được" among the suggestions. A fixed
slice of the threads (HOLD_OUT_PERCENT, chosen by a hash of the thread's id, so the same threads
every run) is never trained on: the gate measures there, with hybrid search over the whole forum
(the held-out questions themselves left out of the index), whether the new model beats the one
search serves now, on recall@10 and MRR@10. Only then is it published (forum.model_versions):
every node's follower re-embeds into a new index and switches. Otherwise the current model stays,
and the refused version's row says why.

Training itself (torch) is forum.learn_trainer's, which web processes never import; this module
only needs a trainer: a callable (pairs, folder, label) -> Candidate.
"""

import dataclasses
import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from forum import indexing, model_versions, search_feed
from forum.extensions import db
from forum.markup import plain_text
from forum.models import Post, PostEmbedding, SearchModelVersion, Suggestion, Thread, User
from search import SearchEngine

log = logging.getLogger(__name__)

HOLD_OUT_PERCENT = 15
MIN_THREADS = 500  # answered threads below which learning does nothing (SEARCH_LEARN_MIN_THREADS)
CUTOFF = 10  # recall@10, MRR@10


@dataclass(frozen=True)
class TrainingPair:
    """A question and the answer that settled it; `answer_thread_id` is where that answer lives
    (the same thread, except for a solved suggestion)."""

    thread_id: int
    query: str
    answer: str
    answer_thread_id: int
    source: str  # accepted | best voted | only answer | solved suggestion


@dataclass(frozen=True)
class Scores:
    recall: float
    mrr: float
    questions: int

    def __str__(self):
        return f"recall@10 {self.recall:.3f}, MRR@10 {self.mrr:.3f} ({self.questions} questions)"


@dataclass(frozen=True)
class GateDecision:
    publish: bool
    current: Scores
    candidate: Scores
    reason: str


@dataclass
class Candidate:
    """What a trainer returns: the new model's encoder (its name is its vector space) and the
    trainer's own figures (time, peak memory, loss, export check)."""

    encoder: object
    figures: dict = field(default_factory=dict)


@dataclass
class Outcome:
    """What `learn` did, for the command to print."""

    published: bool
    message: str
    version: int | None = None
    pairs: int = 0
    held_out: int = 0
    decision: GateDecision | None = None
    figures: dict = field(default_factory=dict)


# Pairs -----------------------------------------------------------------------------------

def held_out(thread_id: int) -> bool:
    """Whether a thread is in the gate's slice: the same threads on every run and every node."""
    digest = hashlib.blake2b(f"thread:{thread_id}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % 100 < HOLD_OUT_PERCENT


def question_text(title: str, body: str) -> str:
    """What a member asks: the title, then the body unless it only repeats the title."""
    title, body = title.strip(), body.strip()
    return title if not body or body == title else f"{title}\n{body}"


def settling_answer(thread: Thread, answers: list[Post]) -> tuple[Post, str] | None:
    """The accepted answer, else the best-voted one with a positive score, else the only one."""
    if not answers:
        return None
    for answer in answers:
        if answer.id == thread.accepted_answer_id:
            return answer, "accepted"
    best = max(answers, key=lambda a: (a.score, -a.id))
    if best.score > 0:
        return best, "best voted"
    return (answers[0], "only answer") if len(answers) == 1 else None


def collect_pairs(exclude_authors=(), batch: int = 500) -> list[TrainingPair]:
    """Every training pair the forum's published threads give, oldest thread first.
    `exclude_authors`: usernames whose threads are not learned from."""
    excluded = set(db.session.scalars(select(User.id).where(User.username.in_(exclude_authors))))
    pairs, last_id = [], 0
    while True:
        threads = db.session.scalars(
            select(Thread).where(Thread.id > last_id, Thread.is_public)
            .order_by(Thread.id).limit(batch)
        ).all()
        if not threads:
            break
        posts = {}
        for post in db.session.scalars(
            select(Post).where(Post.thread_id.in_([t.id for t in threads]),
                               Post.post_type != "comment", Post.status == "published",
                               Post.deleted_at.is_(None))
        ):
            posts.setdefault(post.thread_id, []).append(post)
        for thread in threads:
            found = posts.get(thread.id, [])
            question = next((p for p in found if p.post_type == "question"), None)
            if question is None or thread.author_id in excluded:
                continue
            settled = settling_answer(thread, [p for p in found if p.post_type == "answer"])
            if settled is not None:
                answer, source = settled
                pairs.append(TrainingPair(
                    thread.id, question_text(thread.title, plain_text(question.body_html)),
                    plain_text(answer.body_html), thread.id, source))
        last_id = threads[-1].id
        db.session.expunge_all()
    pairs.extend(_solved_suggestion_pairs(excluded))
    return pairs


def _solved_suggestion_pairs(excluded_authors) -> list[TrainingPair]:
    """An asker said a suggested past answer solved their question: that is a pair too."""
    rows = db.session.scalars(
        select(Suggestion).where(Suggestion.feedback == "solved")
        .options(selectinload(Suggestion.thread), selectinload(Suggestion.answer))
    ).all()
    pairs = []
    for suggestion in rows:
        thread, answer = suggestion.thread, suggestion.answer
        question = thread.question if thread is not None else None
        if (question is None or not question.is_published or not answer.is_published
                or thread.author_id in excluded_authors):
            continue
        pairs.append(TrainingPair(
            thread.id, question_text(thread.title, plain_text(question.body_html)),
            plain_text(answer.body_html), answer.thread_id, "solved suggestion"))
    return pairs


def split_pairs(pairs):
    """(to train on, held out for the gate): held-out threads' pairs are only measured on."""
    train = [p for p in pairs if not held_out(p.thread_id) and not held_out(p.answer_thread_id)]
    gate = [p for p in pairs if held_out(p.thread_id) and p.source != "solved suggestion"]
    return train, gate


# The gate --------------------------------------------------------------------------------

def scores(ranks: list[int | None]) -> Scores:
    n = len(ranks)
    if not n:
        return Scores(0.0, 0.0, 0)
    return Scores(sum(r is not None for r in ranks) / n, sum(1 / r for r in ranks if r) / n, n)


def gate(current: Scores, candidate: Scores) -> GateDecision:
    """Publish only a model that beats the current one: worse on neither recall@10 nor MRR@10,
    and better on at least one (a tie on both is no reason to re-embed the forum)."""
    measures = (("recall@10", candidate.recall, current.recall),
                ("MRR@10", candidate.mrr, current.mrr))
    worse = [name for name, new, old in measures if new < old]
    if worse or all(new == old for _name, new, old in measures):
        what = f"is worse on {' and '.join(worse)}" if worse else "is no better"
        reason = (f"the new model does not beat the current one: it {what} on the held-out "
                  f"threads: {candidate} against {current}")
        return GateDecision(False, current, candidate, reason)
    return GateDecision(True, current, candidate,
                        f"the new model beats the current one on the held-out threads: "
                        f"{candidate} against {current}")


def judge(held: list[TrainingPair], current_ranks: Callable, candidate_ranks: Callable
          ) -> GateDecision:
    """The gate over `held`: each ranker maps the held-out pairs to the rank (1-10, or None)
    at which its search finds each pair's answer thread."""
    return gate(scores(current_ranks(held)), scores(candidate_ranks(held)))


class _GateEmbeddings(search_feed.StoredEmbeddings):
    """Stored vectors for the gate's index: read as usual, but the vectors of documents the
    gate altered are never stored (they are not what any node will index)."""

    def __init__(self, altered: set[str]):
        self.altered = altered

    def save(self, docs, vectors, space):
        super().save([doc for doc in docs if doc.doc_id not in self.altered], vectors, space)


def _without_the_question(documents, asked: set[int], altered: set[str]):
    """The forum's documents as the gate searches them: the held-out questions left out, and
    their answers without the thread title every answer otherwise carries (it is the question:
    searching for it would find its own words)."""
    for doc in documents:
        if doc.question_id not in asked:
            yield doc
        elif doc.kind == "answer":
            altered.add(doc.doc_id)
            yield dataclasses.replace(doc, title="")


def hybrid_ranks(encoder, workdir: Path) -> Callable:
    """A ranker: hybrid search, as the forum runs it, over a fresh index of every published
    post built with `encoder` in `workdir`, the held-out questions left out (their answers
    stay, without their title). Vectors come from, and go to, post_embeddings: the current
    model's are already there, and the new model's are what its index would need anyway."""
    app = current_app._get_current_object()

    def ranks(held: list[TrainingPair]) -> list[int | None]:
        asked = {pair.thread_id for pair in held}
        altered: set[str] = set()
        documents = _without_the_question(indexing.all_documents(), asked, altered)
        engine = SearchEngine(indexing.search_index(app.config, workdir), encoder,
                              embeddings=_GateEmbeddings(altered))
        try:
            engine.sync(documents)
            found = []
            for pair in held:
                hits = engine.search(pair.query, mode="hybrid", limit=CUTOFF, collapse=True).hits
                threads = [hit.question_id for hit in hits]
                found.append(threads.index(pair.answer_thread_id) + 1
                             if pair.answer_thread_id in threads else None)
            return found
        finally:
            engine.close()

    return ranks


def current_encoder(app):
    """The encoder search serves with now: the active version's, else the base one."""
    active = model_versions.active_version()
    if active is None:
        return model_versions.base_encoder(app)
    return model_versions.learned_encoder(app.config, active.id)


# Learning --------------------------------------------------------------------------------

def learn(trainer: Callable, *, exclude_authors=(), max_pairs: int | None = None,
          min_threads: int | None = None, dry_run: bool = False,
          ranker: Callable = hybrid_ranks) -> Outcome:
    """Collect the pairs, train a candidate with `trainer(pairs, folder, label)`, measure it
    against the current model on the held-out slice (`ranker(encoder, workdir)`: hybrid search
    over a fresh index), and publish it only if it wins."""
    app = current_app._get_current_object()
    minimum = min_threads if min_threads is not None else app.config.get(
        "SEARCH_LEARN_MIN_THREADS", MIN_THREADS)
    pairs = collect_pairs(exclude_authors)
    answered = len({p.thread_id for p in pairs if p.source != "solved suggestion"})
    if answered < minimum:
        return Outcome(False, f"only {answered} answered threads; learning needs at least "
                              f"{minimum}: nothing was trained, search keeps its model",
                       pairs=len(pairs))
    train, held = split_pairs(pairs)
    if max_pairs:
        train = train[:max_pairs]

    version = SearchModelVersion(status="training", pairs=len(train), held_out=len(held))
    db.session.add(version)
    db.session.commit()
    version_id = version.id
    folder = model_versions.version_folder(app.config, version_id)
    try:
        candidate = trainer(train, folder, model_versions.version_label(version_id))
        current = current_encoder(app)
        with tempfile.TemporaryDirectory(prefix="xutra-gate-") as workdir:
            decision = judge(held, ranker(current, Path(workdir) / "current"),
                             ranker(candidate.encoder, Path(workdir) / "candidate"))
    except BaseException:
        db.session.rollback()
        version = db.session.get(SearchModelVersion, version_id)
        version.status, version.note = "failed", "training or measuring failed"
        db.session.commit()
        shutil.rmtree(folder, ignore_errors=True)
        raise

    version = db.session.get(SearchModelVersion, version_id)
    figures = {**candidate.figures, "gate": {
        "current": vars(decision.current), "candidate": vars(decision.candidate),
        "current_space": current.name}}
    version.figures = json.dumps(figures)
    version.space = candidate.encoder.name
    publish = decision.publish and not dry_run
    if publish:
        model_versions.publish(version, app.config)
        message = (f"model version {version_id} published: {decision.reason}. Each node's "
                   f"follower re-embeds the forum with it, then switches.")
    else:
        version.status = "refused"
        version.note = decision.reason if not decision.publish else "a dry run: not published"
        message = (f"model version {version_id} not published: {version.note}; "
                   f"search keeps {current.name}")
        # Nothing will read the refused model's vectors or files again.
        db.session.execute(delete(PostEmbedding).where(PostEmbedding.space == version.space))
    db.session.commit()
    if not publish:
        shutil.rmtree(folder, ignore_errors=True)
    return Outcome(publish, message, version_id, len(train), len(held), decision, figures)
