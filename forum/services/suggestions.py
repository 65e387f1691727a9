"""Suggested answers: the best past answers to questions like the one being asked.

Candidates are the published answers of the most similar past threads (hybrid search); each is
ranked by that similarity plus its quality (accepted, votes, recency), and ranked down when askers
of similar questions said it was not relevant. Each suggestion carries its most relevant
passage, found by sentence-level similarity to the question. Suggestions are never community
answers: they are stored apart, labelled as automatic, and link to their source.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from forum import jobs, search_feed
from forum.extensions import db
from forum.markup import plain_text
from forum.models import Post, Suggestion, Thread, utcnow
from forum.permissions import can_give_feedback
from forum.services import notifications
from forum.services.errors import PermissionDenied, ValidationError
from forum.services.reputation import refresh_reputation
from forum.services.searching import search_engine, similar_questions
from forum.services.suspension import refuse_if_suspended
from search import passages

NEIGHBOURS = 8
ACCEPTED_BONUS = 0.25
VOTES_BONUS = 0.10  # at 10 or more upvotes
RECENCY_BONUS = 0.05  # fades over a year
NOT_RELEVANT_PENALTY = 1.0  # times the closeness of the question it was called "not relevant" on
# A question whose suggest_answers job has not run after this long will not get one (it was
# imported, or asked before the job stored its runs): pages stop saying suggestions are coming.
PENDING_AT_MOST = timedelta(days=1)
FEEDBACK = ("solved", "not_relevant")


@dataclass(frozen=True)
class Candidate:
    answer: Post
    similarity: float
    score: float
    passage: str


def rank(title, body, *, exclude_thread_id=None, limit=3, hits=None):
    """The best past answers for a question (or a draft), best first; `hits`, when given, are
    its similar questions, already searched."""
    text = f"{title}\n{body}".strip()
    if hits is None:
        exclude = [exclude_thread_id] if exclude_thread_id else ()
        hits = similar_questions(text, limit=NEIGHBOURS, exclude=exclude)
    hits = [hit for hit in hits if hit.question_id != exclude_thread_id][:NEIGHBOURS]
    if not hits:
        return []
    similarity = {hit.question_id: min(hit.score, 1.0) for hit in hits}
    answers = good_answers(similarity)
    if not answers:
        return []
    engine = search_engine()
    encoder = engine.encoder
    query = engine.query_vector(text)  # the vector the similar-question search just used
    penalties = _not_relevant_penalties(query, [a.id for a in answers], encoder, similarity)
    now = utcnow()
    scored = []
    for answer in answers:
        thread = answer.thread
        accepted = thread.accepted_answer_id == answer.id
        quality = (
            ACCEPTED_BONUS * accepted
            + VOTES_BONUS * min(math.log1p(max(answer.score, 0)) / math.log1p(10), 1.0)
            + RECENCY_BONUS * math.exp(-(now - answer.created_at).days / 365)
        )
        score = similarity[thread.id] + quality - penalties.get(answer.id, 0.0)
        scored.append((score, answer))
    scored.sort(key=lambda item: (-item[0], item[1].id))
    chosen = _one_per_thread_first(scored, limit)
    found = best_passages(query, [answer for _score, answer in chosen], encoder)
    return [
        Candidate(answer, similarity[answer.thread_id], score, passage)
        for (score, answer), passage in zip(chosen, found, strict=True)
    ]


def good_answers(thread_ids):
    """Published answers of these visible threads that are accepted or voted up."""
    answers = db.session.scalars(
        select(Post)
        .join(Thread, Thread.id == Post.thread_id)
        .where(
            Post.thread_id.in_(thread_ids),
            Post.post_type == "answer",
            Post.status == "published",
            Post.deleted_at.is_(None),
            (Post.score > 0) | (Thread.accepted_answer_id == Post.id),
        )
        .options(selectinload(Post.thread).selectinload(Thread.question))
    ).all()
    return [a for a in answers if a.thread.question is not None and a.thread.question.is_published]


def _one_per_thread_first(scored, limit):
    """At most one answer per source thread, unless there are too few threads."""
    first, rest, seen = [], [], set()
    for item in scored:
        (rest if item[1].thread_id in seen else first).append(item)
        seen.add(item[1].thread_id)
    return (first + rest)[:limit]


def _not_relevant_penalties(query, answer_ids, encoder, similarity):
    """Answers marked "not relevant" lose more the closer the question they were shown for:
    its search similarity when it is a neighbour of this one, else the embeddings' cosine."""
    rows = db.session.execute(
        select(Suggestion.answer_id, Thread.id, Thread.title)
        .join(Thread, Thread.id == Suggestion.thread_id)
        .where(Suggestion.answer_id.in_(answer_ids), Suggestion.feedback == "not_relevant")
    ).all()
    if not rows:
        return {}
    vectors = encoder.encode_queries([title for _a, _t, title in rows])
    penalties = {}
    for (answer_id, thread_id, _title), vector in zip(rows, vectors, strict=True):
        closeness = similarity.get(thread_id, float(np.dot(query, vector)))
        penalties[answer_id] = penalties.get(answer_id, 0.0) + NOT_RELEVANT_PENALTY * max(
            closeness, 0
        )
    return penalties


def best_passages(query, answers, encoder):
    """For each answer, its sentence (with what it needs around it) most similar to the
    question. The answers' sentence vectors were stored when they were indexed: only the
    question is encoded (an answer indexed before sentence vectors existed is encoded once)."""
    stored = search_feed.answer_sentences(
        {answer.id: plain_text(answer.body_html) for answer in answers}, encoder
    )
    return [passages.best_passage(query, *stored[answer.id]) for answer in answers]


# Stored suggestions for a posted question -------------------------------------------------


def ensure_for_thread(thread):
    """The suggestions stored for a question, computed once if the job has not run yet. Jobs
    only (and scripts): pages read `for_thread` and `pending`, and never search."""
    if thread.suggestions_checked_at is None:
        _compute(thread)
    return for_thread(thread)


def _compute(thread):
    """Rank and store the best past answers, and that the search ran, even when it found none
    (so nothing looks again)."""
    question = thread.question
    existing = set(
        db.session.scalars(select(Suggestion.answer_id).where(Suggestion.thread_id == thread.id))
    )
    if not existing:  # suggestions stored before the checked time existed are kept as they are
        candidates = rank(thread.title, plain_text(question.body_html), exclude_thread_id=thread.id)
        for position, candidate in enumerate(candidates, start=1):
            db.session.add(
                Suggestion(
                    thread_id=thread.id,
                    answer_id=candidate.answer.id,
                    rank=position,
                    score=round(candidate.score, 4),
                    passage=candidate.passage,
                )
            )
    thread.suggestions_checked_at = utcnow()
    db.session.commit()


@jobs.job
def suggest_answers(thread_id):
    """Run once after a question is posted: stores its suggestions, or that there are none."""
    thread = db.session.get(Thread, thread_id)
    if thread is not None and thread.question is not None:
        ensure_for_thread(thread)


def checked(thread):
    """Whether the suggest_answers job has run for this question (found something or not)."""
    return thread.suggestions_checked_at is not None


def pending(thread):
    """Whether suggestions are still to come: the job is queued for a question just asked."""
    return not checked(thread) and utcnow() - thread.created_at < PENDING_AT_MOST


def for_thread(thread):
    """Stored suggestions whose source answer is still published, in rank order."""
    rows = db.session.scalars(
        select(Suggestion)
        .where(Suggestion.thread_id == thread.id)
        .order_by(Suggestion.rank)
        .options(selectinload(Suggestion.answer).selectinload(Post.thread))
    ).all()
    return [s for s in rows if s.answer.is_published and s.answer.thread.question.is_published]


def give_feedback(user, suggestion, feedback):
    """The asker says a suggestion solved the question, or was not relevant."""
    if feedback not in FEEDBACK:
        raise ValidationError(_("Phản hồi phải là solved hoặc not_relevant."))
    thread = suggestion.thread
    refuse_if_suspended(user)
    if not can_give_feedback(user, thread):
        raise PermissionDenied(_("Chỉ người hỏi mới đánh giá được gợi ý."))
    previous_author = None
    if thread.solved_by_answer_id is not None:
        previous_author = db.session.get(Post, thread.solved_by_answer_id).author
    suggestion.feedback = feedback
    suggestion.feedback_at = utcnow()
    if feedback == "solved":
        thread.solved_by_answer_id = suggestion.answer_id
        notifications.notify(
            suggestion.answer.author_id,
            "solved",
            actor=user,
            thread=suggestion.answer.thread,
            post=suggestion.answer,
            question_title=thread.title,
        )
    elif thread.solved_by_answer_id == suggestion.answer_id:
        thread.solved_by_answer_id = None
    for author in {suggestion.answer.author, previous_author} - {None}:
        refresh_reputation(author)  # the source answer's author gets credit for solving
    db.session.commit()
    return suggestion


def get(suggestion_id):
    return db.session.get(Suggestion, suggestion_id)


def acceptance_by_week(weeks=12):
    """Per week: questions given suggestions, how many were solved by one, feedback counts."""
    since = utcnow() - timedelta(weeks=weeks)
    rows = db.session.execute(
        select(Suggestion.thread_id, Suggestion.feedback, Suggestion.created_at).where(
            Suggestion.created_at >= since
        )
    ).all()
    table = {}
    for thread_id, feedback, created_at in rows:
        year, week, _day = created_at.isocalendar()
        row = table.setdefault(
            (year, week), {"threads": set(), "solved": set(), "shown": 0, "not_relevant": 0}
        )
        row["threads"].add(thread_id)
        row["shown"] += 1
        if feedback == "solved":
            row["solved"].add(thread_id)
        elif feedback == "not_relevant":
            row["not_relevant"] += 1
    return [
        {
            "week": f"{year}-W{week:02d}",
            "questions": len(r["threads"]),
            "shown": r["shown"],
            "solved": len(r["solved"]),
            "not_relevant": r["not_relevant"],
            "acceptance_rate": len(r["solved"]) / len(r["threads"]),
        }
        for (year, week), r in sorted(table.items(), reverse=True)
    ]
