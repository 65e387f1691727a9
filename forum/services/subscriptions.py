"""Following tags and threads, and the email choices that go with them: who hears of a new
answer, and which new threads make a member's weekly digest."""

from sqlalchemy import desc, select

from forum.extensions import db
from forum.markup import plain_text
from forum.models import Subscription, Tag, Thread, User, thread_tags
from forum.services.suspension import refuse_if_suspended


def _find(user, tag=None, thread=None):
    query = select(Subscription).where(Subscription.user_id == user.id)
    if tag is not None:
        query = query.where(Subscription.tag_id == tag.id)
    else:
        query = query.where(Subscription.thread_id == thread.id)
    return db.session.scalar(query)


def is_following(user, tag=None, thread=None):
    if not getattr(user, "is_authenticated", False):
        return False
    return _find(user, tag=tag, thread=thread) is not None


def toggle(user, tag=None, thread=None):
    """Follow, or stop following when already following; returns whether the user follows now."""
    refuse_if_suspended(user)
    existing = _find(user, tag=tag, thread=thread)
    if existing is not None:
        db.session.delete(existing)
        following = False
    else:
        db.session.add(
            Subscription(
                user_id=user.id,
                tag_id=tag.id if tag is not None else None,
                thread_id=thread.id if thread is not None else None,
            )
        )
        following = True
    db.session.commit()
    return following


def followed_tags(user):
    return db.session.scalars(
        select(Tag)
        .join(Subscription, Subscription.tag_id == Tag.id)
        .where(Subscription.user_id == user.id)
        .order_by(Tag.slug)
    ).all()


def followed_threads(user, limit=100):
    return db.session.scalars(
        select(Thread)
        .join(Subscription, Subscription.thread_id == Thread.id)
        .where(Subscription.user_id == user.id, Thread.is_public.is_(True))
        .order_by(Subscription.created_at.desc())
        .limit(limit)
    ).all()


def set_choices(user, instant, digest):
    user.email_instant = bool(instant)
    user.email_digest = bool(digest)
    db.session.commit()


def _mailable():
    return (
        User.email.is_not(None),
        User.email_verified_at.is_not(None),
        User.is_placeholder.is_(False),
    )


def answer_recipients(answer):
    """Who is told at once of a new answer: the asker and the thread's followers who chose
    instant notices and have a verified address; never the answer's own author."""
    thread = answer.thread
    followers = select(Subscription.user_id).where(Subscription.thread_id == thread.id)
    return db.session.scalars(
        select(User)
        .where(
            (User.id == thread.author_id) | User.id.in_(followers),
            User.id != answer.author_id,
            User.email_instant.is_(True),
            *_mailable(),
        )
        .order_by(User.id)
    ).all()


def digest_readers():
    """Members who chose the weekly digest and follow at least one tag."""
    following = select(Subscription.user_id).where(Subscription.tag_id.is_not(None))
    return db.session.scalars(
        select(User)
        .where(User.email_digest.is_(True), User.id.in_(following), *_mailable())
        .order_by(User.id)
    ).all()


def best_new_threads(user, since, limit):
    """The best public threads asked since `since` in the tags the user follows: most votes,
    then most answers, then newest."""
    tag_ids = select(Subscription.tag_id).where(
        Subscription.user_id == user.id, Subscription.tag_id.is_not(None)
    )
    in_tags = select(thread_tags.c.thread_id).where(thread_tags.c.tag_id.in_(tag_ids))
    return db.session.scalars(
        select(Thread)
        .where(
            Thread.is_public.is_(True),
            Thread.created_at >= since,
            Thread.id.in_(in_tags),
            Thread.author_id != user.id,
        )
        .order_by(desc(Thread.score), desc(Thread.answer_count), desc(Thread.created_at))
        .limit(limit)
    ).all()


def excerpt(post, length=280):
    """The start of a post's text, for notices."""
    text = plain_text(post.body_html)
    return text if len(text) <= length else text[: length - 1].rsplit(" ", 1)[0] + "…"
