"""In-app notifications: who gets told what, and the unread count behind the bell."""

from sqlalchemy import func, select, update

from forum.extensions import db
from forum.markup import normalize_text
from forum.models import Notification, User, utcnow

KINDS = ("answer", "comment", "accepted")


def notify(user_id, kind, *, actor=None, thread=None, post=None, **data):
    """Add a notification to the session (the caller commits); nobody is told of their own act."""
    if actor is not None and actor.id == user_id:
        return None
    note = Notification(
        user_id=user_id,
        kind=kind,
        actor_id=actor.id if actor else None,
        thread_id=thread.id if thread else None,
        post_id=post.id if post else None,
        data=data,
    )
    db.session.add(note)
    return note


def unread_count(user):
    return db.session.scalar(
        select(func.count()).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )


def recent(user, limit=50):
    return db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    ).all()


def mark_all_read(user):
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()


def open_notification(user, notification_id):
    """Mark one notification read and return it (None if it is not the user's)."""
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        return None
    if note.read_at is None:
        note.read_at = utcnow()
        db.session.commit()
    return note


def ask_moderators_for_reset(username, contact=""):
    """A member who forgot the password asks for a reset link: every moderator is told, with
    how to reach the member. Nothing happens for a name nobody has (and the page says the
    same either way, so it tells no one which names exist)."""
    user = db.session.scalar(select(User).where(User.username == (username or "").strip().lower()))
    if user is None:
        return False
    contact = normalize_text(contact)[:200]
    moderators = db.session.scalars(select(User).where(User.role.in_(["moderator", "admin"])))
    for moderator in moderators:
        if moderator.id != user.id:
            notify(moderator.id, "reset_request", username=user.username, contact=contact)
    db.session.commit()
    return True
