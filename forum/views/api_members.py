"""API v1 routes for duplicates, saved posts, notifications and a member's own data. They hang
on the API blueprint (its bearer tokens and error shape) and live here to keep api.py small."""

from flask import abort, g, request
from flask_babel import gettext as _

from forum.extensions import db
from forum.models import Post
from forum.permissions import can_view
from forum.services import duplicates, member_data, notifications, saved
from forum.services.errors import ValidationError
from forum.templating import thread_url
from forum.views.api import bp, json_body, token_required
from forum.views.helpers import get_thread


def _post(post_id):
    post = db.session.get(Post, post_id)
    if post is None or not can_view(g.api_user, post):
        abort(404)
    return post


@bp.post("/questions/<int:thread_id>/duplicate")
@token_required
def close_as_duplicate(thread_id):
    """Moderators close at once (200); members with enough reputation vote (202 until the
    votes close it, then 200)."""
    thread = get_thread(thread_id, g.api_user)
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("of"), int) or isinstance(
        data.get("of"), bool
    ):
        raise ValidationError(_("Cần trường \"of\": số của câu hỏi gốc."))
    outcome = duplicates.close(g.api_user, thread, data["of"])
    body = {
        "id": thread.id,
        "duplicate_of": thread.duplicate_of_id,
        "closed": outcome.closed,
        "votes": outcome.votes,
        "votes_needed": outcome.needed,
    }
    return body, 200 if outcome.closed else 202


@bp.post("/questions/<int:thread_id>/merge")
@token_required
def merge_duplicate(thread_id):
    thread = get_thread(thread_id, g.api_user)
    moved = duplicates.merge(g.api_user, thread)
    return {"id": thread.id, "into": thread.duplicate_of_id, "answers_moved": moved}


def saved_json(row):
    post = row.post
    return {
        "post_id": post.id,
        "type": post.post_type,
        "question_id": post.thread_id,
        "title": post.thread.title,
        "url": thread_url(post.thread, _anchor=f"post-{post.id}", _external=True),
        "saved_at": row.created_at.isoformat(),
    }


@bp.put("/posts/<int:post_id>/saved")
@token_required
def save_post(post_id):
    row = saved.save(g.api_user, _post(post_id))
    return {"saved": True, **saved_json(row)}


@bp.delete("/posts/<int:post_id>/saved")
@token_required
def unsave_post(post_id):
    saved.unsave(g.api_user, _post(post_id))
    return {"saved": False, "post_id": post_id}


@bp.get("/saved")
@token_required
def list_saved():
    return {"saved": [saved_json(row) for row in saved.saved_posts(g.api_user)]}


@bp.get("/notifications")
@token_required
def list_notifications():
    return {
        "notifications": [
            {
                "id": note.id,
                "kind": note.kind,
                "actor": note.actor.username if note.actor else None,
                "question_id": note.thread_id,
                "post_id": note.post_id,
                "title": note.thread.title if note.thread else None,
                "url": thread_url(
                    note.thread, _anchor=f"post-{note.post_id}" if note.post_id else None,
                    _external=True,
                ) if note.thread else None,
                "data": note.data,
                "created_at": note.created_at.isoformat(),
                "read": note.read_at is not None,
            }
            for note in notifications.recent(g.api_user)
        ]
    }


@bp.get("/me/export")
@token_required
def export_me():
    return member_data.export_data(g.api_user)


@bp.delete("/me")
@token_required
def delete_me():
    data = json_body("password")
    remove_posts = data.get("remove_posts") is True
    member_data.delete_own_account(g.api_user, data["password"], remove_posts=remove_posts)
    return {"deleted": True, "posts_removed": remove_posts}
