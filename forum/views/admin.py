"""Admins' pages: how well suggested answers help askers."""

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from forum.services import suggestions

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def admins_only():
    if not current_user.is_admin:
        abort(403)


@bp.route("/suggestions")
def suggestion_stats():
    return render_template("admin/suggestions.html", weeks=suggestions.acceptance_by_week())
