"""Reputation follows from votes on a member's posts, their accepted answers and the past
answers of theirs that solved someone's new question when suggested."""

from sqlalchemy import case, func, select

from forum.extensions import db
from forum.models import Post, Thread, Vote

QUESTION_UPVOTE = 5
ANSWER_UPVOTE = 10
DOWNVOTE = -2
ACCEPTED_ANSWER = 15
SOLVED_BY_SUGGESTION = 10  # a past answer that solved a new question when suggested
BASE = 1


def compute_reputation(user_id):
    """Reputation from scratch: derived state, recomputed whenever one of its inputs changes."""
    points = case(
        (Vote.value < 0, DOWNVOTE),
        (Post.post_type == "question", QUESTION_UPVOTE),
        else_=ANSWER_UPVOTE,
    )
    from_votes = db.session.scalar(
        select(func.coalesce(func.sum(points), 0))
        .select_from(Vote)
        .join(Post, Post.id == Vote.post_id)
        .where(Post.author_id == user_id, Post.deleted_at.is_(None))
    )
    accepted = db.session.scalar(
        select(func.count())
        .select_from(Thread)
        .join(Post, Post.id == Thread.accepted_answer_id)
        .where(Post.author_id == user_id, Thread.author_id != user_id, Post.deleted_at.is_(None))
    )
    solved = db.session.scalar(
        select(func.count())
        .select_from(Thread)
        .join(Post, Post.id == Thread.solved_by_answer_id)
        .where(Post.author_id == user_id, Thread.author_id != user_id, Post.deleted_at.is_(None))
    )
    return max(BASE, BASE + from_votes + ACCEPTED_ANSWER * accepted + SOLVED_BY_SUGGESTION * solved)


def refresh_reputation(user):
    """Store the recomputed reputation on the user (the caller commits)."""
    db.session.flush()
    user.reputation = compute_reputation(user.id)
