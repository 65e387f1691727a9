"""The moderation audit log: one row for every automatic and human action."""

from forum.extensions import db
from forum.models import ModerationEvent


def log(action, *, actor=None, post=None, subject_id=None, reason=None, **data):
    """Add an event to the session (the caller commits with the change it records)."""
    db.session.add(
        ModerationEvent(
            action=action,
            actor_id=actor.id if actor else None,
            post_id=post.id if post else None,
            subject_id=subject_id if subject_id is not None else (post.author_id if post else None),
            reason=reason,
            data=data,
        )
    )
