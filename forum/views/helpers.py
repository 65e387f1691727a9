"""Small pieces shared by the views."""

from urllib.parse import urlsplit

from flask import abort, current_app, g, request
from flask_login import current_user

from forum.extensions import db, limiter
from forum.input_guard import page_arg as page_arg  # the one page-number reader of every view
from forum.models import Post, Thread
from forum.permissions import can_view
from forum.services.errors import TooLarge
from forum.services.suspension import refuse_if_suspended

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# What a suspended member may still send: the care of their own account (password, tokens,
# email choices, notifications, language), what changes nothing (a preview, the draft checks)
# and the appeal of a rejected post. Every other write, including any new route, is refused.
ALLOWED_WHILE_SUSPENDED = frozenset(
    {
        "auth.login",
        "auth.logout",
        "auth.register",
        "auth.forgot_password",
        "auth.reset_password",
        "auth.change_password",
        "auth.revoke_token",
        "main.set_language",
        "main.preview",
        "email.settings",
        "email.send_verification",
        "email.unsubscribe",
        "notifications.open_note",
        "notifications.read_all",
        "review.appeal",
        "members.request_export",
        "members.delete_account",
        "api.delete_me",
        "api.assist_draft",
        "api.personal_data_check",
    }
)


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


def refuse_suspended_changes(user):
    """The one check in front of every write, on the web and the API: a suspended member gets
    a 403 saying until when, and what still works."""
    if request.method in WRITE_METHODS and request.endpoint not in ALLOWED_WHILE_SUSPENDED:
        refuse_if_suspended(user)


def cap_body(max_bytes, message):
    """Refuse a request body over `max_bytes` before reading it: a 413 saying what was too long."""
    request.max_content_length = max_bytes  # a body sent without Content-Length stops there too
    if (request.content_length or 0) > max_bytes:
        raise TooLarge(message)


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

    def exempt():
        return requesting_member() is not None and not current_app.config[member_setting]

    return limiter.shared_limit(limit_value, scope=name, exempt_when=exempt)


def setting_limit(name):
    """Rate limit read from the setting `name` (per member, or per address for visitors)."""
    return limiter.limit(lambda: current_app.config[name])
