"""A member's own data (Việt Nam's decree 13/2023): take everything you wrote, or leave.

Export: every post the member wrote (any status), their profile, votes, saved posts, follows
and flags, as JSON; a background job zips it with a readable HTML page for the account page.

Deleting an account erases personal data: email, display name, bio, username (replaced by a
neutral one), password, tokens, sessions, reset links, email outbox, follows, saved posts and
exports. Posts stay readable under "thành viên đã rời nhóm" unless the member asks to remove
them too: then their text, old revisions, images and search vectors are erased. Moderation
records keep what happened and when (action, date, the moderator's reason), not the text or
notes. The forum stores no IP address (rate limits keep them in memory for a few minutes).
"""

import io
import json
import logging
import secrets
import zipfile
from pathlib import Path

from flask import current_app, render_template
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from werkzeug.security import check_password_hash

from forum import indexing, jobs
from forum.extensions import db
from forum.markup import slugify
from forum.models import (
    ApiToken,
    Attachment,
    DataExport,
    DuplicateVote,
    FacebookAuthor,
    Flag,
    ModerationEvent,
    Notification,
    OutboxMessage,
    PasswordReset,
    Post,
    PostEmbedding,
    Revision,
    SavedPost,
    Subscription,
    Suggestion,
    Thread,
    User,
    Vote,
    utcnow,
)
from forum.services import tags as tag_service
from forum.services import uploads
from forum.services.audit import log
from forum.services.errors import PermissionDenied, ValidationError
from forum.services.posts import refresh_thread
from forum.services.reputation import refresh_reputation

logger = logging.getLogger(__name__)


# Export -----------------------------------------------------------------------------------------


def export_data(user):
    """Everything the member wrote and chose, as plain JSON-ready data."""
    posts = db.session.scalars(
        select(Post).where(Post.author_id == user.id).order_by(Post.created_at, Post.id)
    ).all()
    return {
        "profile": {
            "username": user.username,
            "display_name": user.display_name,
            "email": user.email,
            "bio": user.bio,
            "role": user.role,
            "reputation": user.reputation,
            "created_at": user.created_at.isoformat(),
        },
        "posts": [
            {
                "id": post.id,
                "type": post.post_type,
                "thread_id": post.thread_id,
                "thread_title": post.thread.title,
                "parent_id": post.parent_id,
                "status": post.status,
                "deleted": post.is_deleted,
                "score": post.score,
                "body": post.body_md,
                "created_at": post.created_at.isoformat(),
                "updated_at": post.updated_at.isoformat() if post.updated_at else None,
            }
            for post in posts
        ],
        "votes": [
            {
                "post_id": vote.post_id,
                "value": vote.value,
                "created_at": vote.created_at.isoformat(),
            }
            for vote in db.session.scalars(select(Vote).where(Vote.user_id == user.id))
        ],
        "saved": [
            {"post_id": row.post_id, "created_at": row.created_at.isoformat()}
            for row in db.session.scalars(select(SavedPost).where(SavedPost.user_id == user.id))
        ],
        "following": [
            {"tag": row.tag.slug if row.tag else None, "thread_id": row.thread_id}
            for row in db.session.scalars(
                select(Subscription).where(Subscription.user_id == user.id)
            )
        ],
        "flags": [
            {"post_id": flag.post_id, "reason": flag.reason, "note": flag.note,
             "created_at": flag.created_at.isoformat()}
            for flag in db.session.scalars(select(Flag).where(Flag.user_id == user.id))
        ],
    }


def request_export(user):
    """Start a zip of the member's data (a job makes it); returns the DataExport."""
    if user.deleted_at is not None:
        raise PermissionDenied(_("Tài khoản này đã bị xóa."))
    latest = latest_export(user)
    if latest is not None and latest.status == "pending":
        return latest  # one at a time: pressing the button twice makes one file
    # Only the newest file is kept: older ones hold data the member may since have changed.
    _forget_exports(user)
    export = DataExport(user_id=user.id, token=secrets.token_urlsafe(24), status="pending")
    db.session.add(export)
    db.session.commit()
    jobs.enqueue("build_export", export.id)
    return export


def exports_dir():
    return Path(current_app.config["INSTANCE_PATH"]) / "exports"


def export_path(export):
    return exports_dir() / f"{export.token}.zip"


@jobs.job
def build_export(export_id):
    """Write the zip: data.json and a readable bai-viet.html."""
    export = db.session.get(DataExport, export_id)
    if export is None or export.status != "pending":
        return
    user = db.session.get(User, export.user_id)
    data = export_data(user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
        archive.writestr("bai-viet.html", render_template("members/export.html", data=data))
    path = export_path(export)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    export.status = "ready"
    export.finished_at = utcnow()
    db.session.commit()


def _forget_exports(user):
    """Remove the member's export files and rows (the caller commits)."""
    for export in db.session.scalars(select(DataExport).where(DataExport.user_id == user.id)):
        export_path(export).unlink(missing_ok=True)
        db.session.delete(export)


def latest_export(user):
    return db.session.scalar(
        select(DataExport)
        .where(DataExport.user_id == user.id)
        .order_by(DataExport.created_at.desc(), DataExport.id.desc())
    )


def export_for(user, token):
    export = db.session.scalar(select(DataExport).where(DataExport.token == token))
    if export is None or export.user_id != user.id or export.status != "ready":
        return None
    return export if export_path(export).exists() else None


# Deleting an account ----------------------------------------------------------------------------


def check_password(user, password):
    if not check_password_hash(user.password_hash, password or ""):
        raise ValidationError(field_errors={"password": [_("Mật khẩu không đúng.")]})


def delete_own_account(user, password, remove_posts=False):
    """The member deletes their account, after confirming with their password."""
    if user.deleted_at is not None:
        raise PermissionDenied(_("Tài khoản này đã bị xóa."))
    check_password(user, password)
    delete_account(user, remove_posts=remove_posts)


def delete_account(user, remove_posts=False, actor=None):
    """Erase the member's personal data (see the module's docstring); one transaction."""
    if user.deleted_at is not None:
        return
    if actor is not None and actor.id != user.id and not actor.is_admin and user.is_moderator:
        raise PermissionDenied(_("Chỉ quản trị viên mới xóa được tài khoản điều hành viên."))
    old_username = user.username
    threads = _remove_posts(user) if remove_posts else set()
    for model in (ApiToken, PasswordReset, OutboxMessage, Subscription, SavedPost, DuplicateVote,
                  Notification):
        db.session.execute(delete(model).where(model.user_id == user.id))
    # Moderators were told of a reset request with the member's name and contact.
    reset_requests = select(Notification).where(Notification.kind == "reset_request")
    for note in db.session.scalars(reset_requests):
        if note.data.get("username") == old_username:
            db.session.delete(note)
    _forget_exports(user)
    # Moderation records keep the action, date and the moderator's reason, not texts or notes.
    db.session.execute(
        update(ModerationEvent).where(ModerationEvent.subject_id == user.id).values(data={})
    )
    db.session.execute(update(Flag).where(Flag.user_id == user.id).values(note=None))
    db.session.execute(
        update(Attachment).where(Attachment.uploader_id == user.id).values(original_name="")
    )
    for author in db.session.scalars(
        select(FacebookAuthor).where(FacebookAuthor.claimed_by_id == user.id)
    ):
        author.name = ""
        author.name_key = f"deleted:{author.id}"
    user.username = _free_username(f"deleted.{user.id}")
    user.display_name = None
    user.email = None
    user.email_verified_at = None
    user.bio = None
    user.locale = None
    user.last_seen_at = None
    user.suspension_reason = None
    user.password_hash = "!deleted"  # matches no password
    user.session_version += 1  # every session logs out
    user.notify_routing = False
    user.email_instant = False
    user.email_digest = False
    user.role = "member"
    user.deleted_at = utcnow()
    log("delete_account", actor=actor, subject_id=user.id, remove_posts=remove_posts)
    db.session.commit()
    for thread_id in threads:
        indexing.search_changed(thread_id)


def _free_username(name):
    """The neutral name, unless a member happened to register it."""
    while db.session.scalar(select(User.id).where(User.username == name)):
        name = f"{name[:21]}.{secrets.token_hex(3)}"
    return name


def _remove_posts(user):
    """Erase the text of every post the member wrote (the posts stay as deleted rows, so
    votes and others' replies keep their place); returns the threads touched."""
    now = utcnow()
    posts = db.session.scalars(select(Post).where(Post.author_id == user.id)).all()
    post_ids = [post.id for post in posts]
    threads = set()
    for post in posts:
        post.body_md = ""
        post.body_html = ""
        if post.deleted_at is None:
            post.deleted_at = now
            post.deleted_by_id = user.id
        threads.add(post.thread)
        if post.post_type == "question":
            post.thread.title = _("(câu hỏi đã bị xóa)")
            post.thread.slug = slugify(post.thread.title)
        uploads.discard(post.attachments)
        for attachment in post.attachments:
            db.session.delete(attachment)
    if post_ids:
        db.session.execute(
            update(Revision)
            .where(Revision.post_id.in_(post_ids))
            .values(body_md="", title=None, redacted_at=now, redacted_by_id=user.id)
        )
        db.session.execute(delete(PostEmbedding).where(PostEmbedding.post_id.in_(post_ids)))
        db.session.execute(delete(Suggestion).where(Suggestion.answer_id.in_(post_ids)))
        db.session.execute(
            update(Thread).where(Thread.accepted_answer_id.in_(post_ids)).values(
                accepted_answer_id=None
            )
        )
        db.session.execute(
            update(Thread).where(Thread.solved_by_answer_id.in_(post_ids)).values(
                solved_by_answer_id=None
            )
        )
    for thread in threads:
        refresh_thread(thread)
        tag_service.refresh_counts(thread.tags)
    refresh_reputation(user)
    return {thread.id for thread in threads}
