"""Closing a question as a duplicate of another, and merging a duplicate into its original.

We follow Stack Exchange: a question closed as a duplicate stays where it is, with its answers,
as a signpost to the original (its wording is a useful paraphrase, so it stays in the search
index; its hits and similar-question hits lead to the original). A moderator closes at once;
members with DUPLICATE_VOTE_REPUTATION vote, and DUPLICATE_VOTES_TO_CLOSE votes for the same
original close it. Merging (moderators, a closed duplicate only) moves the duplicate's answers,
with their comments, votes and authors, under the original; the duplicate stays as a signpost.
"""

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from forum import indexing
from forum.extensions import db
from forum.models import DuplicateVote, Notification, Post, Thread, utcnow
from forum.permissions import can_close_as_duplicate, can_merge, can_post, can_vote_duplicate
from forum.services import notifications
from forum.services.audit import log
from forum.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from forum.services.originals import original_for
from forum.services.posts import refresh_thread
from forum.services.reputation import refresh_reputation


@dataclass(frozen=True)
class Outcome:
    """What a close request did: closed, or one more vote of `needed`."""

    closed: bool
    votes: int
    needed: int
    original: Thread


def vote_threshold():
    return current_app.config["DUPLICATE_VOTES_TO_CLOSE"]


def may_vote(user, thread):
    return can_vote_duplicate(user, thread, current_app.config["DUPLICATE_VOTE_REPUTATION"])


def close(actor, thread, original_id):
    """A moderator closes `thread` as a duplicate; a member with enough reputation votes."""
    if not can_post(actor):
        raise PermissionDenied(_("Bạn không thể đánh dấu câu hỏi trùng lúc này."))
    if thread.duplicate_of_id is not None:
        raise Conflict(_("Câu hỏi này đã được đánh dấu là trùng."))
    if not thread.is_public:
        raise ValidationError(_("Chỉ câu hỏi đang hiển thị mới đánh dấu trùng được."))
    original = original_for(original_id)
    if original is None or not original.is_public:
        raise NotFound(_("Không tìm thấy câu hỏi gốc."))
    if original.id == thread.id:
        raise ValidationError(_("Một câu hỏi không thể trùng với chính nó."))
    if can_close_as_duplicate(actor):
        _close(thread, original, actor)
        db.session.commit()
        indexing.search_changed(thread.id)
        return Outcome(True, 0, vote_threshold(), original)
    if not may_vote(actor, thread):
        raise PermissionDenied(
            _(
                "Cần ít nhất %(rep)d điểm uy tín để bỏ phiếu đánh dấu trùng.",
                rep=current_app.config["DUPLICATE_VOTE_REPUTATION"],
            )
        )
    vote = db.session.scalar(
        select(DuplicateVote).where(
            DuplicateVote.thread_id == thread.id, DuplicateVote.user_id == actor.id
        )
    )
    if vote is None:
        db.session.add(
            DuplicateVote(thread_id=thread.id, user_id=actor.id, original_id=original.id)
        )
    else:
        vote.original_id = original.id  # a member may change their mind about the original
    db.session.flush()
    votes = vote_count(thread, original)
    closed = votes >= vote_threshold()
    if closed:
        _close(thread, original, None, votes=votes)
    db.session.commit()
    if closed:
        indexing.search_changed(thread.id)
    return Outcome(closed, votes, vote_threshold(), original)


def vote_count(thread, original):
    return db.session.scalar(
        select(func.count()).where(
            DuplicateVote.thread_id == thread.id, DuplicateVote.original_id == original.id
        )
    )


def votes_for(thread):
    """{original thread: number of votes} of an open question, most voted first."""
    rows = db.session.execute(
        select(DuplicateVote.original_id, func.count())
        .where(DuplicateVote.thread_id == thread.id)
        .group_by(DuplicateVote.original_id)
        .order_by(func.count().desc())
    ).all()
    return [(db.session.get(Thread, original_id), count) for original_id, count in rows]


def _close(thread, original, moderator, votes=0):
    thread.duplicate_of_id = original.id
    thread.closed_as_duplicate_at = utcnow()
    db.session.execute(delete(DuplicateVote).where(DuplicateVote.thread_id == thread.id))
    log(
        "duplicate",
        actor=moderator,
        post=thread.question,
        original_id=original.id,
        votes=votes,
    )
    # Kindly: the asker learns where the answer is, not that they did something wrong.
    notifications.notify(
        thread.author_id,
        "duplicate",
        actor=moderator,
        thread=thread,
        original_id=original.id,
        original_title=original.title,
    )


def reopen(moderator, thread):
    """A moderator takes the duplicate mark back (answers merged earlier stay where they are)."""
    if not can_close_as_duplicate(moderator):
        raise PermissionDenied(_("Chỉ điều hành viên mới mở lại được câu hỏi."))
    if thread.duplicate_of_id is None:
        return
    log("reopen", actor=moderator, post=thread.question, original_id=thread.duplicate_of_id)
    thread.duplicate_of_id = None
    thread.closed_as_duplicate_at = None
    db.session.commit()
    indexing.search_changed(thread.id)


def merge(moderator, thread):
    """Move a closed duplicate's answers (and their comments) under its original, each with its
    author, votes and history. As on Stack Exchange the moved answer loses its "accepted" mark
    (it answered the other question); the duplicate stays as a signpost."""
    if not can_merge(moderator):
        raise PermissionDenied(_("Chỉ điều hành viên mới gộp được hai câu hỏi."))
    original = thread.duplicate_of
    if original is None:
        raise ValidationError(_("Hãy đánh dấu câu hỏi là trùng trước khi gộp."))
    answers = db.session.scalars(
        select(Post).where(Post.thread_id == thread.id, Post.post_type == "answer")
    ).all()
    if not answers:
        return 0
    answer_ids = [answer.id for answer in answers]
    comments = db.session.scalars(
        select(Post).where(Post.post_type == "comment", Post.parent_id.in_(answer_ids))
    ).all()
    for post in [*answers, *comments]:
        post.thread_id = original.id
    db.session.execute(
        update(Notification)
        .where(Notification.post_id.in_(answer_ids + [c.id for c in comments]))
        .values(thread_id=original.id)
    )
    authors = {answer.author for answer in answers}
    if thread.accepted_answer_id in answer_ids:
        thread.accepted_answer_id = None
    refresh_thread(thread)
    refresh_thread(original)
    original.last_activity_at = utcnow()
    for author in authors:
        refresh_reputation(author)
    log("merge", actor=moderator, post=thread.question, original_id=original.id,
        answers=answer_ids)
    db.session.commit()
    indexing.search_changed(thread.id)
    indexing.search_changed(original.id)
    return len(answers)
