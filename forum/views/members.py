"""What members do beyond asking and answering: close duplicates, save posts, mention someone,
take their data and leave."""

import re

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from forum.extensions import db
from forum.models import Post
from forum.permissions import can_close_as_duplicate
from forum.services import duplicates, member_data, mentions, saved, searching
from forum.services.errors import NotFound, ServiceError, ValidationError
from forum.templating import post_url, thread_url
from forum.views.helpers import get_post, get_thread

bp = Blueprint("members", __name__)


def original_id_from(value):
    """The original's number from what a member typed: a number or a question's link."""
    value = (value or "").strip()
    match = re.fullmatch(r"\d+", value) or re.search(r"/q/(\d+)", value)
    if match is None:
        raise ValidationError(
            field_errors={"of": [_("Hãy chọn một câu hỏi, hoặc dán liên kết của câu hỏi gốc.")]}
        )
    return int(match.group(1) if match.groups() else match.group(0))


@bp.app_context_processor
def member_helpers():
    return {
        "duplicate_notice": duplicate_notice,
        "is_saved": lambda post: saved.is_saved(current_user, post),
        "may_mark_duplicate": may_mark_duplicate,
    }


def duplicate_notice(thread):
    """(original, its accepted or best answer) for the box atop a duplicate's page."""
    original = thread.duplicate_of
    if original is None or not original.is_public:
        return None
    answer = None
    if original.accepted_answer_id:
        answer = db.session.get(Post, original.accepted_answer_id)
    if answer is None or not answer.is_published:
        answer = db.session.scalar(
            db.select(Post)
            .where(
                Post.thread_id == original.id,
                Post.post_type == "answer",
                Post.status == "published",
                Post.deleted_at.is_(None),
            )
            .order_by(Post.score.desc(), Post.created_at)
        )
    return original, answer


def may_mark_duplicate(thread):
    return thread.duplicate_of_id is None and (
        can_close_as_duplicate(current_user) or duplicates.may_vote(current_user, thread)
    )


# Duplicates -------------------------------------------------------------------------------------


@bp.route("/q/<int:thread_id>/duplicate", methods=["GET", "POST"])
@login_required
def mark_duplicate(thread_id):
    thread = get_thread(thread_id)
    typed = request.form.get("of", "") or request.form.get("of_link", "")
    errors = {}
    if request.method == "POST":
        try:
            outcome = duplicates.close(current_user, thread, original_id_from(typed))
        except (ValidationError, NotFound) as error:
            # A wrong original: the form again, with what was wrong. Not being allowed, or the
            # question being closed already, goes to the error page with its message.
            errors = {**error.field_errors, "": error.messages}
            return _duplicate_form(thread, typed, errors, error.status)
        if outcome.closed:
            flash(_("Đã đánh dấu trùng với “%(title)s”.", title=outcome.original.title), "success")
        else:
            flash(
                _(
                    "Đã ghi phiếu của bạn (%(votes)d/%(needed)d phiếu).",
                    votes=outcome.votes,
                    needed=outcome.needed,
                ),
                "success",
            )
        return redirect(thread_url(thread))
    return _duplicate_form(thread, typed, errors)


def _duplicate_form(thread, typed, errors, status=200):
    if not may_mark_duplicate(thread):
        abort(403)
    candidates = searching.similar_questions(
        f"{thread.title}\n{thread.question.body_md}", limit=5, exclude=[thread.id]
    )
    return render_template(
        "members/duplicate.html",
        thread=thread,
        candidates=candidates,
        typed=typed,
        errors=errors,
        votes=duplicates.votes_for(thread),
        needed=duplicates.vote_threshold(),
    ), status


@bp.route("/q/<int:thread_id>/reopen", methods=["POST"])
@login_required
def reopen(thread_id):
    thread = get_thread(thread_id)
    duplicates.reopen(current_user, thread)
    flash(_("Đã mở lại câu hỏi."), "success")
    return redirect(thread_url(thread))


@bp.route("/q/<int:thread_id>/merge", methods=["POST"])
@login_required
def merge(thread_id):
    thread = get_thread(thread_id)
    moved = duplicates.merge(current_user, thread)
    flash(_("Đã chuyển %(n)d câu trả lời sang câu hỏi gốc.", n=moved), "success")
    return redirect(thread_url(thread.duplicate_of))


# Saved posts ------------------------------------------------------------------------------------


@bp.route("/p/<int:post_id>/save", methods=["POST"])
@login_required
def toggle_saved(post_id):
    post = get_post(post_id)
    if request.form.get("action") == "unsave":
        saved.unsave(current_user, post)
        flash(_("Đã bỏ lưu."), "success")
    else:
        saved.save(current_user, post)
        flash(_("Đã lưu. Xem lại ở trang “Đã lưu”."), "success")
    if request.form.get("back") == "saved":
        return redirect(url_for("members.saved_page"))
    return redirect(post_url(post))


@bp.route("/saved")
@login_required
def saved_page():
    return render_template("members/saved.html", rows=saved.saved_posts(current_user))


# Mentions ---------------------------------------------------------------------------------------


@bp.route("/users/complete")
def complete_usernames():
    """Usernames for the @-autocomplete of the answer and comment boxes."""
    return {
        "users": [
            {"username": user.username, "name": user.name}
            for user in mentions.complete(request.args.get("q", "")[:31])
        ]
    }


# Own data ---------------------------------------------------------------------------------------


@bp.route("/account/data")
@login_required
def data_page():
    return render_template(
        "members/data.html", export=member_data.latest_export(current_user), errors={}
    )


@bp.route("/account/data/export", methods=["POST"])
@login_required
def request_export():
    member_data.request_export(current_user)
    flash(_("Đang chuẩn bị tệp dữ liệu của bạn; liên kết tải về sẽ hiện ở trang này."), "success")
    return redirect(url_for("members.data_page"))


@bp.route("/account/data/export/<token>.zip")
@login_required
def download_export(token):
    export = member_data.export_for(current_user, token) or abort(404)
    return send_file(
        member_data.export_path(export),
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"xu-tra-{current_user.username}.zip",
    )


@bp.route("/account/delete", methods=["POST"])
@login_required
def delete_account():
    try:
        member_data.delete_own_account(
            current_user,
            request.form.get("password", ""),
            remove_posts=request.form.get("remove_posts") == "1",
        )
    except ServiceError as error:
        return render_template(
            "members/data.html",
            export=member_data.latest_export(current_user),
            errors={**error.field_errors, "": error.messages},
        ), error.status
    logout_user()
    flash(_("Tài khoản của bạn đã được xóa. Cảm ơn bạn đã đồng hành cùng nhóm."), "success")
    return redirect("/")
