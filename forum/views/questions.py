"""Asking, reading and working on a thread."""

import difflib

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forum.extensions import db, limiter
from forum.models import Revision
from forum.permissions import can_edit, can_see_history
from forum.services import (
    assistant,
    browse,
    drafting,
    posts,
    screening,
    suggestions,
    uploads,
    votes,
)
from forum.services import tags as tag_service
from forum.services.errors import PermissionDenied, PersonalData, ValidationError
from forum.services.validation import (
    ANSWER_MIN,
    COMMENT_MAX,
    POST_MAX,
    QUESTION_MIN,
    TAGS_MAX,
    TITLE_MAX,
    TITLE_MIN,
)
from forum.templating import post_url, thread_url
from forum.views.helpers import get_post, get_thread, setting_limit

bp = Blueprint("questions", __name__)

LIMITS = {
    "title_min": TITLE_MIN,
    "title_max": TITLE_MAX,
    "question_min": QUESTION_MIN,
    "answer_min": ANSWER_MIN,
    "post_max": POST_MAX,
    "comment_max": COMMENT_MAX,
    "tags_max": TAGS_MAX,
}


def post_rate_limit():
    return current_app.config["POST_RATE_LIMIT"]


@bp.context_processor
def limits():
    return {"limits": LIMITS}


@bp.route("/ask", methods=["GET", "POST"])
@login_required
@limiter.limit(post_rate_limit, methods=["POST"])
def ask():
    form = {
        "title": request.values.get("title", ""),
        "body": "",
        "tags": request.values.get("tags", ""),
    }
    if request.method == "GET":
        return render_template("questions/ask.html", form=form, errors={})
    form = {key: request.form.get(key, "") for key in ("title", "body", "tags")}
    tokens = request.form.getlist("upload")
    try:
        if not request.form.get("confirmed"):
            # Without JavaScript the similar questions and advice come as a step before posting.
            posts.check_question(current_user, form["title"], form["body"], form["tags"])
            draft_help = assistant.help_with_draft(form["title"], form["body"])
            if draft_help.needs_a_look:
                tokens += uploads.keep_for_later(request.files.getlist("images"), current_user)
                return _ask_check(form, draft_help, tokens)
        thread = posts.ask_question(
            current_user,
            form["title"],
            form["body"],
            form["tags"],
            request.files.getlist("images"),
            upload_tokens=tokens,
            # Only the box on the check step says yes: the page script never does.
            personal_data_ok=bool(request.form.get("personal_data_ok")),
        )
    except PersonalData:
        # The warning is the first thing on the next page, and the post waits for an answer.
        tokens += uploads.keep_for_later(request.files.getlist("images"), current_user)
        draft_help = assistant.help_with_draft(form["title"], form["body"])
        return _ask_check(form, draft_help, tokens, status=422)
    except PermissionDenied as error:
        # A suspended member: the text comes back to be kept, with why it cannot be posted.
        return render_template(
            "questions/ask.html", form=form, errors={}, tokens=tokens, denied=error.all_messages
        ), 403
    except ValidationError as error:
        return render_template(
            "questions/ask.html", form=form, errors=error.field_errors, tokens=tokens
        ), 422
    for message in screening.messages(
        screening.latest_verdict(thread.question), g.lang, held=False
    ):
        flash(message, "info")
    flash("ask", "draft-done")  # the page script may forget the draft it kept
    return redirect(thread_url(thread))


def _ask_check(form, draft_help, tokens, status=200):
    privacy = posts.find_personal_data({"title": form["title"], "body": form["body"]})
    return render_template(
        "questions/ask_check.html", form=form, help=draft_help, tokens=tokens, privacy=privacy
    ), status


@bp.route("/q/<int:thread_id>")
@bp.route("/q/<int:thread_id>/<slug>")
def thread(thread_id, slug=None):
    thread = get_thread(thread_id)
    if slug != thread.slug:
        return redirect(thread_url(thread), code=301)
    _count_view(thread)
    return render_thread(thread)


def render_thread(thread, answer_form=None, errors=None, status=200, comment_form=None):
    question, answers, comments = browse.thread_posts(thread, current_user)
    post_ids = [question.id] + [a.id for a in answers]
    is_asker = getattr(current_user, "id", None) == thread.author_id
    return (
        render_template(
            "questions/thread.html",
            thread=thread,
            question=question,
            answers=answers,
            comments=comments,
            my_votes=votes.votes_of(current_user, post_ids),
            answer_form=answer_form or {"body": ""},
            errors=errors or {},
            # {"post_id", "body", "errors", "privacy"} of a comment that could not be posted
            comment_form=comment_form or {},
            # Suggested past answers are for the asker, stored by a job right after posting:
            # the page only reads them, and says so while the job has not run yet.
            suggested=suggestions.for_thread(thread) if is_asker else [],
            suggestions_pending=is_asker and suggestions.pending(thread),
            draft=drafting.for_thread(thread) if is_asker else None,
            solved=browse.solved_state(thread),
        ),
        status,
    )


def _count_view(thread):
    """Count a view once per browser session, and never the asker's own."""
    seen = session.get("seen", [])
    if thread.id in seen or thread.author_id == getattr(current_user, "id", None):
        return
    session["seen"] = (seen + [thread.id])[-40:]
    posts.record_view(thread)


@bp.route("/q/<int:thread_id>/answer", methods=["POST"])
@login_required
@limiter.limit(post_rate_limit)
def answer(thread_id):
    thread = get_thread(thread_id)
    body = request.form.get("body", "")
    tokens = request.form.getlist("upload")
    try:
        if not request.form.get("confirmed"):
            # Casual swearing is published, but its author is first asked, kindly, whether
            # they would like to say it more gently.
            posts.check_answer(current_user, thread, body)
            nudges = screening.draft_nudges(body, lang=g.lang)
            if nudges:
                tokens += uploads.keep_for_later(request.files.getlist("images"), current_user)
                return render_template(
                    "questions/answer_check.html",
                    thread=thread,
                    body=body,
                    nudges=nudges,
                    tokens=tokens,
                )
        answer = posts.post_answer(
            current_user,
            thread,
            body,
            request.files.getlist("images"),
            upload_tokens=tokens,
            personal_data_ok=bool(request.form.get("personal_data_ok")),
        )
    except PersonalData as error:
        # As when asking: a check step, the warning first and the answer kept below it
        # (it used to reload the thread, the warning 7,000 px down).
        tokens += uploads.keep_for_later(request.files.getlist("images"), current_user)
        return render_template(
            "questions/answer_check.html",
            thread=thread,
            body=body,
            nudges=screening.draft_nudges(body, lang=g.lang),
            tokens=tokens,
            privacy=error.found,
        ), 422
    except (ValidationError, PermissionDenied) as error:
        # Nothing typed is lost: the answer comes back in its box with what was wrong.
        errors = {**error.field_errors, "": error.messages}
        return render_thread(thread, {"body": body}, errors, status=error.status)
    flash(f"answer-{thread.id}", "draft-done")
    return redirect(post_url(answer))


@bp.route("/p/<int:post_id>/comment", methods=["POST"])
@login_required
@limiter.limit(post_rate_limit)
def comment(post_id):
    parent = get_post(post_id)
    body = request.form.get("body", "")
    try:
        posts.post_comment(
            current_user, parent, body, personal_data_ok=bool(request.form.get("personal_data_ok"))
        )
    except (ValidationError, PermissionDenied) as error:
        # The comment comes back in its open box, with what was wrong, instead of a flash.
        kept = {
            "post_id": parent.id,
            "body": body,
            "errors": error.all_messages,
            "privacy": getattr(error, "found", None),
        }
        return render_thread(parent.thread, comment_form=kept, status=error.status)
    flash(f"comment-{parent.id}", "draft-done")
    return redirect(post_url(parent))


@bp.route("/s/<int:suggestion_id>/feedback", methods=["POST"])
@login_required
def suggestion_feedback(suggestion_id):
    suggestion = suggestions.get(suggestion_id) or abort(404)
    suggestions.give_feedback(current_user, suggestion, request.form.get("feedback", ""))
    flash(
        _("Cảm ơn bạn! Đã ghi nhận.")
        if suggestion.feedback == "not_relevant"
        else _("Tuyệt! Câu hỏi được đánh dấu đã giải quyết nhờ câu trả lời cũ."),
        "success",
    )
    return redirect(thread_url(suggestion.thread, _anchor="suggestions"))


@bp.route("/p/<int:post_id>")
def permalink(post_id):
    return redirect(post_url(get_post(post_id)))


@bp.route("/p/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit(post_id):
    post = get_post(post_id)
    if not can_edit(current_user, post):
        abort(403)
    thread = post.thread
    form = {
        "title": thread.title,
        "body": post.body_md,
        "tags": ", ".join(tag.name for tag in thread.tags),
    }
    if request.method == "POST":
        form = {key: request.form.get(key, form[key]) for key in form}
        is_question = post.post_type == "question"
        try:
            posts.edit_post(
                current_user,
                post,
                form["body"],
                title=form["title"] if is_question else None,
                tags=form["tags"] if is_question else None,
                images=request.files.getlist("images"),
                personal_data_ok=bool(request.form.get("personal_data_ok")),
            )
        except (ValidationError, PermissionDenied) as error:
            return render_template(
                "questions/edit.html",
                post=post,
                form=form,
                errors={**error.field_errors, "": error.messages},
                privacy=getattr(error, "found", None),
            ), error.status
        flash(_("Đã lưu thay đổi."), "success")
        flash(f"edit-{post.id}", "draft-done")
        return redirect(post_url(post))
    return render_template("questions/edit.html", post=post, form=form, errors={}, privacy=None)


@bp.route("/p/<int:post_id>/delete", methods=["POST"])
@login_required
def delete(post_id):
    post = get_post(post_id)
    posts.delete_post(current_user, post)
    flash(_("Đã xóa bài."), "success")
    if post.post_type == "question":
        return redirect("/")
    return redirect(thread_url(post.thread))


@bp.route("/p/<int:post_id>/vote", methods=["POST"])
@login_required
@setting_limit("VOTE_RATE_LIMIT")
def vote(post_id):
    post = get_post(post_id)
    value = {"up": 1, "down": -1}.get(request.form.get("value"))
    if value is None:
        abort(400)
    votes.vote(current_user, post, value)
    return redirect(post_url(post))


@bp.route("/p/<int:post_id>/accept", methods=["POST"])
@login_required
def accept(post_id):
    answer = get_post(post_id)
    accepted = posts.accept_answer(current_user, answer)
    flash(_("Đã chọn câu trả lời đúng.") if accepted else _("Đã bỏ chọn câu trả lời."), "success")
    return redirect(post_url(answer))


@bp.route("/p/<int:post_id>/history")
def history(post_id):
    post = get_post(post_id)
    if not can_see_history(current_user, post):
        # Old revisions may hold what an edit took out: the public reads the current text.
        abort(404)
    revisions = db.session.scalars(
        db.select(Revision).where(Revision.post_id == post.id).order_by(Revision.number.desc())
    ).all()
    names = tag_service.names_for((r.tags or "").split(", ") for r in revisions)
    changes = []
    for newer, older in zip(revisions, revisions[1:] + [None], strict=True):
        before = _revision_text(older, names) if older else []
        changes.append((newer, list(difflib.ndiff(before, _revision_text(newer, names)))))
    return render_template(
        "questions/history.html",
        post=post,
        changes=changes,
        latest=revisions[0].number if revisions else None,
    )


@bp.route("/p/<int:post_id>/history/<int:number>/redact", methods=["POST"])
@login_required
def redact(post_id, number):
    post = get_post(post_id)
    revision = db.session.scalar(
        db.select(Revision).where(Revision.post_id == post.id, Revision.number == number)
    ) or abort(404)
    try:
        posts.redact_revision(current_user, revision)
        flash(_("Đã xóa nội dung bản %(n)d.", n=number), "success")
    except ValidationError as error:
        for message in error.all_messages:
            flash(message, "error")
    return redirect(url_for("questions.history", post_id=post.id))


def _revision_text(revision, tag_names):
    if revision.redacted_at is not None:
        return [_("(nội dung bản này đã được xóa)")]
    lines = []
    if revision.title is not None:
        lines.append(_("Tiêu đề: %(title)s", title=revision.title))
    if revision.tags is not None:
        shown = [tag_names.get(slug, slug) for slug in revision.tags.split(", ") if slug]
        lines.append(_("Thẻ: %(tags)s", tags=", ".join(shown)))
    return lines + revision.body_md.splitlines()
