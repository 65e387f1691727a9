"""Email choices, following tags and threads, verifying an address, one-click unsubscribe."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forum.extensions import csrf
from forum.services import browse, mail, subscriptions
from forum.services.errors import NotFound, ValidationError
from forum.views.helpers import get_thread, safe_next

bp = Blueprint("email", __name__)


@bp.app_context_processor
def following_helpers():
    return {
        "follows_tag": lambda tag: subscriptions.is_following(current_user, tag=tag),
        "follows_thread": lambda thread: subscriptions.is_following(current_user, thread=thread),
    }


@bp.route("/account/email", methods=["GET", "POST"])
@login_required
def settings():
    if request.method == "POST":
        subscriptions.set_choices(
            current_user, request.form.get("instant"), request.form.get("digest")
        )
        flash(_("Đã lưu lựa chọn nhận email."), "success")
        return redirect(url_for("email.settings"))
    return render_template(
        "account/email.html",
        mail_enabled=mail.enabled(),
        tags=subscriptions.followed_tags(current_user),
        threads=subscriptions.followed_threads(current_user),
    )


@bp.route("/account/email/verify", methods=["POST"])
@login_required
def send_verification():
    try:
        mail.send_verification(current_user)
    except ValidationError as error:
        for message in error.all_messages:
            flash(message, "error")
    else:
        flash(
            _("Đã gửi liên kết xác minh tới %(email)s. Hãy mở thư và bấm vào liên kết.",
              email=current_user.email),
            "success",
        )  # fmt: skip
    return redirect(url_for("email.settings"))


@bp.route("/email/verify/<token>")
def verify(token):
    try:
        user = mail.verify(token)
    except ValidationError as error:
        return render_template("account/email_done.html", message=error.all_messages[0]), 410
    return render_template(
        "account/email_done.html",
        message=_("Đã xác minh địa chỉ %(email)s. Từ nay bạn nhận được thông báo qua email.",
                  email=user.email),
    )  # fmt: skip


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # mail programs POST here on the member's behalf (RFC 8058 one-click)
def unsubscribe(token):
    user, kind = mail.read_unsubscribe(token)
    if request.method == "POST":
        mail.unsubscribe(token)
        return render_template("account/email_done.html", message=_stopped(kind))
    return render_template("account/unsubscribe.html", kind=kind, email=user.email, token=token)


def _stopped(kind):
    if kind == "digest":
        return _("Bạn sẽ không nhận bản tin hằng tuần nữa.")
    return _("Bạn sẽ không nhận thông báo câu trả lời mới qua email nữa.")


@bp.route("/follow/tags/<slug>", methods=["POST"])
@login_required
def follow_tag(slug):
    tag = browse.tag_by_slug(slug)
    if tag is None:
        raise NotFound(_("Không tìm thấy thẻ này."))
    following = subscriptions.toggle(current_user, tag=tag)
    flash(
        _("Đã theo dõi thẻ %(name)s: câu hỏi hay sẽ có trong bản tin hằng tuần.", name=tag.name)
        if following
        else _("Đã bỏ theo dõi thẻ %(name)s.", name=tag.name),
        "success",
    )
    return redirect(safe_next(request.form.get("next"), url_for("tags.show", slug=tag.slug)))


@bp.route("/follow/q/<int:thread_id>", methods=["POST"])
@login_required
def follow_thread(thread_id):
    thread = get_thread(thread_id)
    following = subscriptions.toggle(current_user, thread=thread)
    flash(
        _("Đã theo dõi câu hỏi: bạn sẽ được báo khi có câu trả lời mới.")
        if following
        else _("Đã bỏ theo dõi câu hỏi này."),
        "success",
    )
    fallback = url_for("questions.thread", thread_id=thread.id, slug=thread.slug)
    return redirect(safe_next(request.form.get("next"), fallback))
