"""Small pieces shared by the views."""

from urllib.parse import urlsplit

from flask import abort, current_app, g
from flask_limiter.util import get_remote_address
from flask_login import current_user

from forum.extensions import db, limiter
from forum.input_guard import page_arg as page_arg  # the one page-number reader of every view
from forum.models import Post, Thread
from forum.permissions import can_view


def get_thread(thread_id, viewer=current_user):
    """The thread, if its question is visible to the viewer; 404 otherwise."""
    thread = db.session.get(Thread, thread_id)
    if thread is None or thread.question is None or not can_view(viewer, thread.question):
        abort(404)
    return thread


def get_post(post_id):
    post = db.session.get(Post, post_id)
    if post is None or not can_view(current_user, post):
        abort(404)
    return post


def safe_next(target, fallback="/"):
    """Only local paths: never an absolute URL, a scheme-relative //host or a backslash trick."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(c) < 32 for c in target):
        return fallback
    return target


def requesting_member():
    """The member behind a request: an API token's user, else the session's; None for visitors.
    (The API never authenticates with cookies, but the ask page's script calls it while a member
    types, and that member should get a member's rate limit.)"""
    user = g.get("api_user") or current_user
    return user if getattr(user, "is_authenticated", False) else None


def costly_limit(name):
    """Rate limit for an endpoint that runs a search or the sentence encoder, shared by every
    route given the same name (the search page and the search API count together). Visitors
    count per IP address against `<NAME>_RATE_LIMIT`; members per account against the more
    generous `<NAME>_MEMBER_RATE_LIMIT` (empty: no limit for members)."""
    setting = name.upper() + "_RATE_LIMIT"
    member_setting = name.upper() + "_MEMBER_RATE_LIMIT"

    def limit_value():
        member = requesting_member()
        return current_app.config[member_setting if member else setting]

    def key():
        member = requesting_member()
        return f"member:{member.id}" if member else get_remote_address()

    def exempt():
        return requesting_member() is not None and not current_app.config[member_setting]

    return limiter.shared_limit(limit_value, scope=name, key_func=key, exempt_when=exempt)
