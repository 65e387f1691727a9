"""The bell: a member's notifications."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from forum.services import notifications
from forum.templating import thread_url

bp = Blueprint("notifications", __name__)


@bp.route("/notifications")
@login_required
def index():
    """The list marks everything read: the bell's count was for this page. What was new is
    still shown as new on it, this once."""
    notes = notifications.recent(current_user)
    new_ids = {note.id for note in notes if note.read_at is None}
    if new_ids:
        notifications.mark_all_read(current_user)
    return render_template("notifications.html", notes=notes, new_ids=new_ids)


@bp.route("/notifications/<int:note_id>", methods=["POST"])
@login_required
def open_note(note_id):
    note = notifications.open_notification(current_user, note_id)
    if note is not None and note.kind == "reset_request":
        # The member's profile has the button that makes the link.
        return redirect(url_for("users.profile", username=note.data.get("username", "")))
    if note is None or note.thread is None:
        return redirect(url_for("notifications.index"))
    anchor = f"post-{note.post_id}" if note.post_id else None
    return redirect(thread_url(note.thread, _anchor=anchor))


@bp.route("/notifications/read", methods=["POST"])
@login_required
def read_all():
    notifications.mark_all_read(current_user)
    return redirect(url_for("notifications.index"))
