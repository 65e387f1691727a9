"""Claiming a placeholder account made by the Facebook import: an admin makes a one-time link
for it, and the member who opens the link while logged in takes over its posts, votes and
reputation."""

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select, update

from forum.extensions import db
from forum.facebook_archive import name_key
from forum.markup import slugify
from forum.models import (
    Attachment,
    FacebookAuthor,
    Flag,
    ModerationEvent,
    Notification,
    Post,
    Revision,
    Subscription,
    Thread,
    User,
    Vote,
    utcnow,
)
from forum.services.audit import log
from forum.services.errors import NotFound, PermissionDenied
from forum.services.reputation import refresh_reputation
from forum.services.suspension import refuse_if_suspended
from forum.urls import site_url


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def placeholders(query="", limit=200):
    """Facebook authors with their placeholder account and post count, unclaimed first."""
    counts = (
        select(Post.author_id, func.count().label("n"))
        .where(Post.deleted_at.is_(None))
        .group_by(Post.author_id)
        .subquery()
    )
    statement = (
        select(FacebookAuthor, func.coalesce(counts.c.n, 0))
        .join(User, User.id == FacebookAuthor.user_id)
        .outerjoin(counts, counts.c.author_id == FacebookAuthor.user_id)
        .order_by(FacebookAuthor.claimed_at.is_not(None), FacebookAuthor.name)
        .limit(limit)
    )
    query = (query or "").strip()
    if query:
        slug = slugify(query, max_length=40).replace("-", "_")
        statement = statement.where(
            or_(
                FacebookAuthor.name_key.contains(name_key(query), autoescape=True),
                User.username.contains(slug, autoescape=True),
            )
        )
    return db.session.execute(statement).all()


def find_placeholder(name):
    """A Facebook author by its placeholder's username or by its Facebook name."""
    name = (name or "").strip()
    return db.session.scalar(
        select(FacebookAuthor)
        .join(User, User.id == FacebookAuthor.user_id)
        .where(or_(User.username == name.lower(), FacebookAuthor.name_key == name_key(name)))
    )


def make_link(author):
    """A new one-time claim link for this placeholder (any earlier link stops working)."""
    if author.claimed_by_id is not None:
        raise PermissionDenied(
            _("Tài khoản này đã được %(name)s nhận.", name=author.claimed_by.username)
        )
    token = secrets.token_urlsafe(24)
    author.claim_token_hash = _hash(token)
    author.claim_link_created_at = utcnow()
    db.session.commit()
    return site_url("claims.claim", token=token)


def author_for_token(token):
    """The placeholder a claim link is for; NotFound when the link is used, replaced or old."""
    author = db.session.scalar(
        select(FacebookAuthor).where(FacebookAuthor.claim_token_hash == _hash(token or ""))
    )
    days = current_app.config["CLAIM_LINK_DAYS"]
    if (
        author is None
        or author.claimed_by_id is not None
        or author.claim_link_created_at < utcnow() - timedelta(days=days)
    ):
        raise NotFound(
            _(
                "Liên kết nhận tài khoản này không còn dùng được. "
                "Hãy xin quản trị viên liên kết mới."
            )
        )
    return author


def post_count(user):
    return db.session.scalar(
        select(func.count()).where(Post.author_id == user.id, Post.deleted_at.is_(None))
    )


def claim(member, token):
    """Move the placeholder's posts, votes and the rest to `member`; the link is used up."""
    author = author_for_token(token)
    refuse_if_suspended(member)
    if member.is_placeholder:
        raise PermissionDenied(_("Tài khoản này không nhận được bài."))
    old, new = author.user_id, member.id
    # A vote the placeholder gave to what is now the member's own post would be a self-vote.
    own_posts = select(Post.id).where(Post.author_id.in_([old, new]))
    db.session.execute(delete(Vote).where(Vote.user_id == old, Vote.post_id.in_(own_posts)))
    _move_unique(Vote, Vote.user_id, Vote.post_id, old, new)
    _move_unique(Flag, Flag.user_id, Flag.post_id, old, new)
    db.session.execute(delete(Subscription).where(Subscription.user_id == old))
    for column in (Post.author_id, Thread.author_id, Revision.author_id):
        db.session.execute(update(column.class_).where(column == old).values({column.key: new}))
    for column in (
        Attachment.uploader_id,
        Notification.user_id,
        Notification.actor_id,
        ModerationEvent.subject_id,
    ):
        db.session.execute(update(column.class_).where(column == old).values({column.key: new}))
    author.claimed_by_id, author.claimed_at, author.claim_token_hash = new, utcnow(), None
    placeholder = db.session.get(User, old)
    placeholder.reputation = 1
    log("claim", actor=member, subject_id=new, reason=author.name, placeholder=old)
    refresh_reputation(member)
    db.session.commit()
    return author


def _move_unique(model, owner, other, old, new):
    """Hand rows of `old` to `new` unless `new` already has one for the same post."""
    taken = select(other).where(owner == new)
    db.session.execute(delete(model).where(owner == old, other.in_(taken)))
    db.session.execute(update(model).where(owner == old).values({owner.key: new}))
