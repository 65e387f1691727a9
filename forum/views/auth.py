"""Registering, logging in and out, and the member's own account settings."""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from forum.extensions import db, limiter
from forum.services import accounts, mail, notifications, password_reset
from forum.services.errors import Suspended, ValidationError
from forum.views.errors import service_error, wants_json
from forum.views.helpers import refuse_suspended_changes, safe_next

bp = Blueprint("auth", __name__)


@bp.before_app_request
def suspended_members_change_nothing():
    if request.blueprint != "api":  # the API checks its token's member (it ignores cookies)
        refuse_suspended_changes(current_user)


@bp.app_errorhandler(Suspended)
def suspended_page(error):
    """The refusal, with whatever the member had written to copy: nothing typed is lost."""
    if wants_json():
        return service_error(error)
    db.session.rollback()
    return render_template(
        "account/suspended.html",
        kept=[
            (field, label, request.form[field].strip())
            for field, label in kept_fields().items()
            if request.form.get(field, "").strip()
        ],
        safe_back=safe_next(request.referrer and urlsplit(request.referrer).path),
    ), 403


def kept_fields():
    return {
        "title": _("Tiêu đề"),
        "body": _("Nội dung"),
        "tags": _("Thẻ"),
        "note": _("Ghi chú"),
        "display_name": _("Tên hiển thị"),
        "bio": _("Giới thiệu"),
    }


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTER_RATE_LIMIT"], methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect("/")
    form = {"username": "", "email": "", "display_name": ""}
    if request.method == "POST":
        form = {key: request.form.get(key, "") for key in form}
        try:
            user = accounts.register(
                form["username"],
                request.form.get("password", ""),
                form["email"],
                form["display_name"],
                password_again=request.form.get("password2", ""),
            )
        except accounts.RegistrationError as error:
            # Everything comes back but the passwords, with a username that can be used.
            form.update(error.suggested)
            return render_template("auth/register.html", form=form, errors=error.field_errors), 422
        login_user(user, remember=True)
        flash(_("Chào mừng %(name)s đến với Xứ Trà Hỏi Đáp!", name=user.name), "success")
        return redirect(safe_next(request.args.get("next")))
    return render_template("auth/register.html", form=form, errors={})


@bp.route("/register/username")
@limiter.limit(lambda: current_app.config["USERNAME_RATE_LIMIT"])
def username_suggestion():
    """The username a name would make, free right now (the sign-up form fills it in)."""
    return {"username": accounts.suggest_username(request.args.get("name", "")[:60])}


def address_and_username():
    username = request.form.get("username", "").strip().lower()[:30]
    return f"{get_remote_address()}/{username}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], key_func=address_and_username
)
@limiter.limit(
    lambda: current_app.config["LOGIN_ADDRESS_RATE_LIMIT"], methods=["POST"],
    key_func=get_remote_address,
)  # fmt: skip
def login():
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url)
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "")
        user = accounts.authenticate(username, request.form.get("password", ""))
        if user is not None:
            login_user(user, remember=bool(request.form.get("remember")))
            if user.locale:
                session["lang"] = user.locale
            return redirect(next_url)
        error = _("Sai tên đăng nhập hoặc mật khẩu.")
        return render_template(
            "auth/login.html", username=username, next=next_url, error=error
        ), 401
    return render_template("auth/login.html", username=username, next=next_url, error=None)


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTER_RATE_LIMIT"], methods=["POST"])
def forgot_password():
    """Without email, a moderator makes the reset link: this asks them to (in the bell)."""
    sent = False
    if request.method == "POST":
        notifications.ask_moderators_for_reset(request.form.get("username", ""),
                                               request.form.get("contact", ""))
        sent = True  # the same answer whether the name exists or not
    return render_template("auth/forgot.html", sent=sent)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def reset_password(token):
    reset = password_reset.valid_reset(token)
    if reset is None:
        return render_template("auth/reset.html", reset=None, errors={}), 404
    if request.method == "POST":
        try:
            user = password_reset.use(
                token, request.form.get("password", ""), request.form.get("password2", "")
            )
        except ValidationError as error:
            errors = {**error.field_errors, "": error.messages}
            return render_template("auth/reset.html", reset=reset, errors=errors), 422
        logout_user()
        login_user(user, remember=True)
        flash(_("Đã đặt mật khẩu mới. Chào mừng %(name)s trở lại!", name=user.name), "success")
        return redirect("/")
    return render_template("auth/reset.html", reset=reset, errors={})


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect("/")


@bp.route("/account", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["ACCOUNT_RATE_LIMIT"], methods=["POST"])
def settings():
    form = {
        "display_name": current_user.display_name or "",
        "email": current_user.email or "",
        "bio": current_user.bio or "",
    }
    if request.method == "POST":
        form = {key: request.form.get(key, "") for key in form}
        try:
            new_address = accounts.update_profile(
                current_user,
                form["display_name"],
                form["bio"],
                form["email"],
                notify_routing=bool(request.form.get("notify_routing")),
            )
        except ValidationError as error:
            return _settings_page(form, error.field_errors, 422)
        flash(_("Đã lưu hồ sơ."), "success")
        if new_address:
            # The same answer whether or not the address has an account here already.
            try:
                mail.confirm_new_address(current_user, new_address)
                flash(
                    _("Đã gửi liên kết xác nhận tới %(email)s. Địa chỉ mới được dùng khi bạn "
                      "bấm vào liên kết trong thư.", email=new_address),
                    "info",
                )  # fmt: skip
            except ValidationError as error:
                flash(" ".join(error.all_messages), "error")
        return redirect(url_for("auth.settings"))
    return _settings_page(form, {})


def _settings_page(form, errors, status=200):
    return render_template(
        "auth/settings.html",
        form=form,
        errors=errors,
        tokens=accounts.live_api_tokens(current_user),
        max_tokens=accounts.MAX_LIVE_TOKENS,
    ), status


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    if request.method == "POST":
        new = request.form.get("new_password", "")
        try:
            if new != request.form.get("new_password2", ""):
                raise ValidationError(
                    field_errors={"new_password2": [_("Hai lần nhập mật khẩu không giống nhau.")]}
                )
            accounts.change_password(current_user, request.form.get("current_password", ""), new)
        except ValidationError as error:
            return render_template("auth/password.html", errors=error.field_errors), 422
        login_user(current_user, remember=True)  # this session stays logged in; others end
        flash(_("Đã đổi mật khẩu."), "success")
        return redirect(url_for("auth.settings"))
    return render_template("auth/password.html", errors={})


@bp.route("/account/token", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config["TOKEN_RATE_LIMIT"])
def new_token():
    try:
        token = accounts.create_api_token(current_user, request.form.get("name", "web"))
    except ValidationError as error:
        flash(" ".join(error.all_messages), "error")
        return redirect(url_for("auth.settings", _anchor="tokens"))
    return render_template("auth/token.html", token=token)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id):
    row = accounts.revoke_api_token(current_user, token_id)
    flash(_("Đã thu hồi mã “%(name)s”: nó không dùng được nữa.", name=row.name), "success")
    return redirect(url_for("auth.settings", _anchor="tokens"))
