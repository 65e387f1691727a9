"""@mentions: "@lan" in a question, answer or comment tells member lan (in the app, and by email
when lan chose instant emails). Only published posts notify: a post held for review notifies
when a moderator approves it. Only the first MENTIONS_PER_POST names of a post count, and each
member hears of a post once, however often it is edited."""

import re

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from forum import jobs
from forum.extensions import db
from forum.models import Notification, Post, User
from forum.permissions import can_view
from forum.services import mail, notifications, subscriptions
from forum.urls import site_url

# A username (validation.USERNAME_RE) after an "@" that does not follow a letter (an address).
MENTION_RE = re.compile(r"(?<![\w.@])@([a-z0-9_.]{3,30})", re.IGNORECASE)


def mentioned_names(text):
    """The distinct usernames a text mentions, in order, at most MENTIONS_PER_POST of them."""
    names = []
    for match in MENTION_RE.finditer(text or ""):
        name = match.group(1).lower().rstrip(".")
        if name not in names:
            names.append(name)
    return names[: current_app.config["MENTIONS_PER_POST"]]


def notify_mentions(post):
    """Add a notification for each member the post mentions and has not yet told of it (the
    caller commits). Returns the members told."""
    if not post.is_published:
        return []
    names = mentioned_names(post.body_md)
    if not names:
        return []
    users = db.session.scalars(
        select(User).where(
            User.username.in_(names),
            User.deleted_at.is_(None),
            User.is_placeholder.is_(False),
            User.id != post.author_id,
        )
    ).all()
    already = set(
        db.session.scalars(
            select(Notification.user_id).where(
                Notification.kind == "mention", Notification.post_id == post.id
            )
        )
    )
    thread = post.thread
    told = []
    for user in users:
        if user.id in already or not can_view(user, post):
            continue
        notifications.notify(
            user.id, "mention", actor=post.author, thread=thread, post=post,
            post_type=post.post_type,
        )
        told.append(user)
    return told


def after_commit(told, post):
    """Email the members just told, off the request thread."""
    if told:
        jobs.enqueue("email_mention_notices", post.id)


@jobs.job
def email_mention_notices(post_id):
    """Queue an email for each member mentioned in a post who receives instant emails."""
    if not mail.enabled():
        return 0
    post = db.session.get(Post, post_id)
    if post is None or not post.is_published:
        return 0
    users = db.session.scalars(
        select(User)
        .join(Notification, Notification.user_id == User.id)
        .where(Notification.kind == "mention", Notification.post_id == post.id)
    ).all()
    thread = post.thread
    queued = 0
    for user in users:
        if not (user.email_verified and user.email_instant) or user.deleted_at is not None:
            continue
        message = mail.queue(
            f"mention:{post.id}:{user.id}",
            "mention",
            user,
            _("%(name)s nhắc đến bạn: %(title)s", name=post.author.name, title=thread.title)[:200],
            "mention",
            unsubscribe="instant",
            post=post,
            thread=thread,
            excerpt=subscriptions.excerpt(post),
            post_url=site_url(
                "questions.thread", thread_id=thread.id, slug=thread.slug, _anchor=f"post-{post.id}"
            ),
        )
        queued += message is not None
    db.session.commit()
    mail.send_due()
    return queued


def mention_count(post):
    return db.session.scalar(
        select(func.count()).where(Notification.kind == "mention", Notification.post_id == post.id)
    )


def complete(prefix, limit=8):
    """Members whose username starts with a prefix (the @-autocomplete)."""
    prefix = (prefix or "").strip().lstrip("@").lower()
    if not prefix or not re.fullmatch(r"[a-z0-9_.]{1,30}", prefix):
        return []
    escaped = prefix.replace("_", r"\_")
    return db.session.scalars(
        select(User)
        .where(
            User.username.like(f"{escaped}%", escape="\\"),
            User.deleted_at.is_(None),
            User.is_placeholder.is_(False),
        )
        .order_by(User.reputation.desc(), User.username)
        .limit(limit)
    ).all()
