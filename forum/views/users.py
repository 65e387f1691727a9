"""Member profiles and the member list."""

from flask import Blueprint, render_template
from flask_login import current_user

from forum.services import accounts, browse, review

bp = Blueprint("users", __name__)


@bp.route("/u/<username>")
def profile(username):
    user = accounts.get_user(username)
    return render_template(
        "users/profile.html",
        user=user,
        questions=browse.user_posts(user, current_user, "question"),
        answers=browse.user_posts(user, current_user, "answer"),
        suspension_days=review.SUSPENSION_DAYS,
        can_suspend=review.can_suspend(current_user, user),
    )


@bp.route("/users")
def index():
    return render_template("users/index.html", users=browse.top_users(50))
