"""Saved posts: questions and answers a member keeps to read again (prompts, mostly)."""

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from forum.extensions import db
from forum.models import Post, SavedPost
from forum.permissions import can_post, can_save, can_view
from forum.services.errors import PermissionDenied


def save(user, post):
    """Save a post (saving it again changes nothing); returns the SavedPost."""
    if not can_save(user, post):
        if not can_post(user):
            raise PermissionDenied(_("Bạn không thể lưu bài lúc này."))
        raise PermissionDenied(_("Chỉ lưu được câu hỏi hoặc câu trả lời đang hiển thị."))
    saved = _find(user, post)
    if saved is None:
        saved = SavedPost(user_id=user.id, post_id=post.id)
        db.session.add(saved)
        db.session.commit()
    return saved


def unsave(user, post):
    """Forget a saved post (a suspended member may still tidy their list)."""
    db.session.execute(
        delete(SavedPost).where(SavedPost.user_id == user.id, SavedPost.post_id == post.id)
    )
    db.session.commit()


def is_saved(user, post):
    return getattr(user, "is_authenticated", False) and _find(user, post) is not None


def saved_ids(user, post_ids):
    """Which of these posts the user saved (one query for a whole thread page)."""
    if not getattr(user, "is_authenticated", False) or not post_ids:
        return set()
    return set(
        db.session.scalars(
            select(SavedPost.post_id).where(
                SavedPost.user_id == user.id, SavedPost.post_id.in_(list(post_ids))
            )
        )
    )


def saved_posts(user):
    """The member's saved posts they may still see, newest saved first."""
    rows = db.session.scalars(
        select(SavedPost)
        .where(SavedPost.user_id == user.id)
        .options(selectinload(SavedPost.post).selectinload(Post.thread))
        .order_by(SavedPost.created_at.desc(), SavedPost.id.desc())
    ).all()
    return [row for row in rows if can_view(user, row.post)]


def _find(user, post):
    return db.session.scalar(
        select(SavedPost).where(SavedPost.user_id == user.id, SavedPost.post_id == post.id)
    )
