"""Small pieces shared by the views."""

from urllib.parse import urlsplit

from flask import abort, request
from flask_login import current_user

from forum.extensions import db
from forum.models import Post, Thread
from forum.permissions import can_view


def page_arg():
    page = request.args.get("page", 1, type=int)
    return page if page and page > 0 else 1


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
