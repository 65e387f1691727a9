"""Votes: one per member and post, changeable, never on one's own post."""

from flask_babel import gettext as _
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import Vote
from forum.permissions import can_vote
from forum.services.errors import PermissionDenied, ValidationError
from forum.services.reputation import refresh_reputation
from forum.services.suspension import refuse_if_suspended


def vote(user, post, value):
    """Vote +1 or -1; voting the same way again takes the vote back. Returns the user's vote now."""
    if value not in (1, -1):
        raise ValidationError(_("Phiếu bầu không hợp lệ."))
    refuse_if_suspended(user)
    if not can_vote(user, post):
        if post.author_id == getattr(user, "id", None):
            raise PermissionDenied(_("Bạn không thể tự bầu cho bài của mình."))
        raise PermissionDenied(_("Bạn không thể bầu cho bài này."))
    existing = db.session.scalar(
        select(Vote).where(Vote.user_id == user.id, Vote.post_id == post.id)
    )
    if existing is None:
        db.session.add(Vote(user_id=user.id, post_id=post.id, value=value))
        current = value
    elif existing.value == value:
        db.session.delete(existing)
        current = 0
    else:
        existing.value = value
        current = value
    db.session.flush()
    post.score = db.session.scalar(
        select(func.coalesce(func.sum(Vote.value), 0)).where(Vote.post_id == post.id)
    )
    if post.post_type == "question":
        post.thread.score = post.score
    refresh_reputation(post.author)
    db.session.commit()
    return current


def votes_of(user, post_ids):
    """{post_id: +1/-1} for the posts on a page, so buttons show the member's own votes."""
    if not getattr(user, "is_authenticated", False) or not post_ids:
        return {}
    rows = db.session.execute(
        select(Vote.post_id, Vote.value).where(Vote.user_id == user.id, Vote.post_id.in_(post_ids))
    )
    return dict(rows.all())
