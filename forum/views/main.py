"""The home page (the question list), language switch, Markdown preview and uploaded images."""

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    session,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forum.markup import render_markdown
from forum.services import accounts, browse, uploads
from forum.services.validation import POST_MAX
from forum.views.helpers import cap_body, page_arg, safe_next, setting_limit

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    sort = request.args.get("sort", "active")
    page = browse.question_list(
        sort=sort, page=page_arg(), per_page=current_app.config["QUESTIONS_PER_PAGE"]
    )
    return render_template("questions/list.html", page=page, sort=sort, tag=None)


@bp.route("/lang", methods=["POST"])
def set_language():
    lang = request.form.get("lang")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            accounts.set_locale(current_user, lang)
    return redirect(safe_next(request.form.get("next")))


@bp.route("/preview", methods=["POST"])
@login_required
@setting_limit("PREVIEW_RATE_LIMIT")
def preview():
    """Markdown rendered exactly as it will be stored; the ask and answer forms call it."""
    # A post's longest text, as UTF-8 form data (a Vietnamese letter is up to 9 bytes escaped).
    cap_body(POST_MAX * 9 + 1024, _("Nội dung xem trước quá dài."))
    text = request.form.get("body", "")[:POST_MAX]
    return render_markdown(text), 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.route("/media/<token>.webp")
def media(token):
    thumb = token.endswith("_t")
    token = token.removesuffix("_t")
    if not token.replace("-", "").replace("_", "").isalnum():
        abort(404)
    path = uploads.image_path(token, thumb=thumb)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="image/webp", max_age=31536000)


@bp.route("/healthz")
def health():
    return {"ok": True, "user": current_user.is_authenticated}
