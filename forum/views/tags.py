"""The tag list and tag pages."""

from flask import Blueprint, abort, current_app, render_template, request

from forum.services import browse, tags
from forum.views.helpers import page_arg

bp = Blueprint("tags", __name__)


@bp.route("/tags")
def index():
    sort = "name" if request.args.get("sort") == "name" else "popular"
    return render_template("tags/index.html", tags=tags.all_tags(sort), sort=sort)


@bp.route("/tags/<slug>")
def show(slug):
    tag = browse.tag_by_slug(slug)
    if tag is None:
        abort(404)
    sort = request.args.get("sort", "active")
    page = browse.question_list(
        sort=sort, tag=tag, page=page_arg(), per_page=current_app.config["QUESTIONS_PER_PAGE"]
    )
    return render_template("questions/list.html", page=page, sort=sort, tag=tag)
