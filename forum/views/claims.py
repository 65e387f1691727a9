"""Claiming a placeholder from the Facebook import: the member's claim page and the admins'
page that makes the one-time links."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forum.extensions import db
from forum.models import FacebookAuthor
from forum.services import claims

bp = Blueprint("claims", __name__)


@bp.route("/claim/<token>", methods=["GET", "POST"])
@login_required
def claim(token):
    author = claims.author_for_token(token)
    if request.method == "POST":
        claims.claim(current_user, token)
        flash(
            _("Đã nhận các bài của %(name)s về tài khoản của bạn.", name=author.name), "success"
        )
        return redirect(url_for("users.profile", username=current_user.username))
    return render_template(
        "claims/claim.html", author=author, count=claims.post_count(author.user), token=token
    )


@bp.route("/admin/facebook")
@login_required
def admin_list():
    _admins_only()
    query = request.args.get("q", "")
    return render_template(
        "claims/admin.html", rows=claims.placeholders(query), q=query, link=None, linked=None
    )


@bp.route("/admin/facebook/<int:author_id>/link", methods=["POST"])
@login_required
def admin_link(author_id):
    _admins_only()
    author = db.session.get(FacebookAuthor, author_id) or abort(404)
    link = claims.make_link(author)
    return render_template(
        "claims/admin.html", rows=claims.placeholders(""), q="", link=link, linked=author
    )


def _admins_only():
    if not current_user.is_admin:
        abort(403)
