"""Moderation pages: the review queue, decisions, suspensions, the audit log and the dashboard;
plus what members use: flagging a post, appealing a rejection, the public moderation log."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from forum.extensions import limiter
from forum.input_guard import id_list
from forum.permissions import is_moderator
from forum.services import password_reset, review, screening, suspension
from forum.services.errors import ServiceError, ValidationError
from forum.templating import post_url
from forum.urls import reset_password_url
from forum.views.helpers import get_post, safe_next

bp = Blueprint("review", __name__)


@bp.before_request
def moderators_only():
    """Everything under /review is for moderators; members get a 403, visitors the login."""
    if not request.path.startswith("/review"):
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not is_moderator(current_user):
        abort(403)
    return None


@bp.route("/review")
def queue():
    cases = review.open_cases()
    post_ids = [case.post_id for case in cases]
    return render_template(
        "review/queue.html",
        cases=cases,
        flags=review.flags_for(post_ids),
        history=review.author_history({case.post.author_id for case in cases}),
        reject_labels=review.REJECT_LABELS,
        suspension_days=review.SUSPENSION_DAYS,
    )


@bp.route("/review/<int:case_id>", methods=["POST"])
def decide(case_id):
    case = review.get_case(case_id)
    action = request.form.get("action")
    try:
        if action == "approve":
            review.approve(current_user, case)
            flash(_("Đã duyệt bài."), "success")
        elif action == "reject":
            review.reject(
                current_user, case, request.form.get("note", ""), request.form.get("label", "other")
            )
            flash(_("Đã từ chối bài."), "success")
        elif action == "dismiss":
            review.dismiss_flags(current_user, case)
            flash(_("Đã bỏ qua các báo cáo."), "success")
        else:
            abort(400)
    except ValidationError as error:
        for message in error.all_messages:
            flash(message, "error")
    return redirect(url_for("review.queue", _anchor=f"case-{case_id}"))


@bp.route("/review/bulk", methods=["POST"])
def bulk():
    ids = id_list(request.form.getlist("case"))
    try:
        done = review.bulk(
            current_user,
            ids,
            request.form.get("action"),
            request.form.get("note", ""),
            request.form.get("label", "other"),
        )
        flash(ngettext("Đã xử lý %(num)d mục.", "Đã xử lý %(num)d mục.", done), "success")
    except ValidationError as error:
        for message in error.all_messages:
            flash(message, "error")
    return redirect(url_for("review.queue"))


@bp.route("/review/users/<int:user_id>/suspend", methods=["POST"])
def suspend(user_id):
    user = review.user_by_id(user_id) or abort(404)
    days = request.form.get("days", "")
    try:
        if days == "lift":
            review.lift_suspension(current_user, user)
            flash(_("Đã mở khóa %(name)s.", name=user.username), "success")
        else:
            review.suspend(
                current_user,
                user,
                int(days[:6]) if days.isdigit() else None,  # 6 digits: past every choice
                request.form.get("reason", ""),
            )
            flash(_("Đã tạm khóa %(name)s.", name=user.username), "success")
    except ValidationError as error:
        for message in error.all_messages:
            flash(message, "error")
    return redirect(safe_next(request.form.get("back"), url_for("review.queue")))


@bp.route("/review/users/<int:user_id>/reset-link", methods=["POST"])
def reset_link(user_id):
    """A one-time link for a member who forgot the password, shown once to hand over."""
    user = review.user_by_id(user_id) or abort(404)
    token = password_reset.issue(user, by=current_user)
    return render_template(
        "review/reset_link.html",
        user=user,
        url=reset_password_url(token),
        lifetime_days=password_reset.LIFETIME["moderator"].days,
    )


@bp.route("/review/log")
def full_log():
    return render_template("review/log.html", events=review.events(public=False))


@bp.route("/review/stats")
def stats():
    periods = {days: review.feedback(days) for days in (7, 30)}
    return render_template("review/stats.html", periods=periods)


@bp.route("/moderation/log")
def public_log():
    return render_template("moderation_log.html", events=review.events(public=True))


@bp.route("/p/<int:post_id>/flag", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config["FLAG_RATE_LIMIT"])
def flag(post_id):
    post = get_post(post_id)
    try:
        hidden = review.flag(
            current_user, post, request.form.get("reason", ""), request.form.get("note", "")
        )
        flash(
            _("Cảm ơn bạn! Điều hành viên sẽ xem bài này.")
            if not hidden
            else _("Cảm ơn bạn! Bài đã được ẩn chờ điều hành viên xem."),
            "success",
        )
    except ServiceError as error:
        if error.status == 403:
            raise
        for message in error.all_messages:
            flash(message, "error")
    return redirect(post_url(post))


@bp.route("/p/<int:post_id>/appeal", methods=["POST"])
@login_required
def appeal(post_id):
    post = get_post(post_id)
    review.appeal(current_user, post, request.form.get("note", ""))
    flash(_("Đã gửi kháng nghị. Điều hành viên sẽ xem lại bài của bạn."), "success")
    return redirect(post_url(post))


@bp.app_context_processor
def moderation_helpers():
    return {
        "review_count": lambda: review.open_count() if is_moderator(current_user) else 0,
        "author_notice": screening.author_notice,
        "can_appeal": review.can_appeal,
        "flag_reasons": review.FLAG_REASONS,
        "suspension_message": suspension.suspension_message,
        "suspension_status": suspension.suspension_status,
        "suspension_hint": suspension.what_still_works,
    }
