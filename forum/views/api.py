"""JSON API v1 for apps, bots and scripts. Bearer tokens; errors as {"error": {code, message}}."""

from functools import wraps

from flask import Blueprint, abort, current_app, g, request, url_for
from flask_babel import gettext as _

from forum.extensions import limiter
from forum.indexing import index_ready
from forum.permissions import can_see_feedback, is_moderator
from forum.services import (
    accounts,
    assistant,
    browse,
    posts,
    screening,
    searching,
    suggestions,
    tags,
)
from forum.services.errors import (
    PermissionDenied,
    PersonalData,
    ServiceError,
    TooLarge,
    ValidationError,
)
from forum.templating import hit_url, thread_url
from forum.views.helpers import (
    cap_body,
    costly_limit,
    get_thread,
    page_arg,
    refuse_suspended_changes,
    setting_limit,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


@bp.before_request
def authenticate():
    """The token's user, if any; the API never looks at session cookies."""
    g.api_user = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _sep, token = header.partition(" ")
        user = (
            accounts.user_for_token(token.strip()) if scheme.lower() == "bearer" and token else None
        )
        if user is None:
            raise Unauthorized(_("Mã truy cập (token) không hợp lệ."))
        g.api_user = user
        refuse_suspended_changes(user)


def token_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.api_user is None:
            raise Unauthorized(_("Cần mã truy cập: gửi header Authorization: Bearer <token>."))
        return view(*args, **kwargs)

    return wrapped


def json_body(*required):
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError(_("Nội dung gửi lên phải là một đối tượng JSON."))
    # Text fields are strings; tags may also be a list of strings.
    missing = [
        key
        for key in required
        if not (
            isinstance(data.get(key), str) or (key == "tags" and isinstance(data.get(key), list))
        )
    ]
    if missing:
        raise ValidationError(_("Thiếu trường: %(fields)s.", fields=", ".join(missing)))
    return data


def question_summary(thread):
    return {
        "id": thread.id,
        "title": thread.title,
        "url": thread_url(thread, _external=True),
        "tags": [tag.slug for tag in thread.tags],
        "author": thread.author.username,
        "score": thread.score,
        "answer_count": thread.answer_count,
        "view_count": thread.view_count,
        "has_accepted_answer": thread.accepted_answer_id is not None,
        "duplicate_of": thread.duplicate_of_id,
        "created_at": thread.created_at.isoformat(),
        "last_activity_at": thread.last_activity_at.isoformat(),
    }


def post_json(post):
    return {
        "id": post.id,
        "author": post.author.username,
        "body": post.body_md,
        "body_html": post.body_html,
        "score": post.score,
        "status": post.status,
        "created_at": post.created_at.isoformat(),
        "updated_at": post.updated_at.isoformat() if post.updated_at else None,
    }


def created(thread, post):
    """201 with the new post's id, URL, moderation status and, when held, the reasons."""
    verdict = screening.latest_verdict(post) or {"reasons": []}
    return {
        "id": post.id if post.post_type == "answer" else thread.id,
        "url": url_for("questions.permalink", post_id=post.id, _external=True)
        if post.post_type == "answer"
        else thread_url(thread, _external=True),
        "status": post.status,
        "reasons": [
            {key: reason[key] for key in ("code", "message_vi", "message_en", "score", "action")}
            for reason in verdict["reasons"]
        ],
    }, 201


@bp.get("/questions")
def list_questions():
    tag = None
    if request.args.get("tag"):
        tag = browse.tag_by_slug(request.args["tag"])
        if tag is None:
            abort(404, description=_("Không có thẻ này."))
    sort = request.args.get("sort", "active")
    if sort not in browse.SORTS:
        raise ValidationError(_("sort phải là một trong: %(s)s.", s=", ".join(browse.SORTS)))
    page = browse.question_list(
        sort=sort, tag=tag, page=page_arg(), per_page=current_app.config["QUESTIONS_PER_PAGE"]
    )
    return {
        "questions": [question_summary(thread) for thread in page.items],
        "page": page.page,
        "pages": page.pages,
        "total": page.total,
    }


@bp.get("/questions/<int:thread_id>")
def show_question(thread_id):
    thread = get_thread(thread_id, g.api_user)
    question, answers, _comments = browse.thread_posts(thread, g.api_user)
    return {
        **question_summary(thread),
        "question": post_json(question),
        "accepted_answer_id": thread.accepted_answer_id,
        "answers": [post_json(answer) for answer in answers],
    }


@bp.post("/questions")
@token_required
@limiter.limit(lambda: current_app.config["POST_RATE_LIMIT"])
def create_question():
    data = json_body("title", "body", "tags")
    thread = posts.ask_question(g.api_user, data["title"], data["body"], data["tags"])
    return created(thread, thread.question)


@bp.post("/questions/<int:thread_id>/answers")
@token_required
@limiter.limit(lambda: current_app.config["POST_RATE_LIMIT"])
def create_answer(thread_id):
    thread = get_thread(thread_id, g.api_user)
    data = json_body("body")
    answer = posts.post_answer(g.api_user, thread, data["body"])
    return created(thread, answer)


@bp.get("/search")
@costly_limit("search")
def search():
    query = searching.parse(request.args)
    results = searching.run(query) if query.q else None
    return {
        "results": [
            {
                "type": hit.kind,
                "question_id": hit.question_id,
                "answer_id": hit.answer_id,
                "title": hit.title,
                "snippet": hit.snippet_html,
                "score": round(hit.score, 6),
                "url": hit_url(hit, external=True),
                "tags": list(hit.tags),
                "answer_count": hit.answer_count,
                "has_accepted": hit.has_accepted,
            }
            for hit in (results.hits if results else [])
        ],
        "total": results.total if results else 0,
        "restored_query": results.restored_query if results else None,
        # False: none of the results is really close to the query (they are only the nearest).
        "close_match": searching.close_match(query, results),
        # False right after a start, while the index is being built: results may be missing.
        "index_ready": index_ready(),
    }


@bp.get("/questions/similar")
@costly_limit("similar")
def similar_questions():
    limit = request.args.get("limit", 5, type=int)
    if not 1 <= limit <= 10:
        raise ValidationError(_("limit phải từ 1 đến 10."))
    hits = searching.similar_questions(request.args.get("text", ""), limit=limit)
    return {
        "questions": [
            {
                "id": hit.question_id,
                "title": hit.title,
                "url": hit_url(hit, external=True),
                "answer_count": hit.answer_count,
                "has_accepted_answer": hit.has_accepted,
                "score": round(hit.score, 6),
            }
            for hit in hits
        ]
    }


def suggestion_json(answer, passage, score, **extra):
    return {
        "answer_id": answer.id,
        "question_id": answer.thread_id,
        "title": answer.thread.title,
        "url": url_for("questions.permalink", post_id=answer.id, _external=True),
        "passage": passage,
        "score": round(score, 4),
        "accepted": answer.thread.accepted_answer_id == answer.id,
        "votes": answer.score,
        "label": "automatic suggestion from past community answers",
        **extra,
    }


@bp.post("/questions/assist")
@costly_limit("assist")
def assist_draft():
    """Advice, tags, similar questions and suggested answers for a draft; stores nothing."""
    data = json_body("title")
    title, body = data["title"][:300], str(data.get("body") or "")[:5000]
    draft_help = assistant.help_with_draft(title, body)
    return {
        "advice": [
            {"code": a.code, "message": a.message, "level": a.level} for a in draft_help.advice
        ],
        "tags": [{"slug": t.slug, "name": t.name, "score": w} for t, w in draft_help.tags],
        "similar": [
            {
                "id": h.question_id,
                "title": h.title,
                "url": hit_url(h, external=True),
                "answer_count": h.answer_count,
                "has_accepted_answer": h.has_accepted,
                "score": round(h.score, 4),
            }
            for h in draft_help.similar
        ],
        "answers": [suggestion_json(c.answer, c.passage, c.score) for c in draft_help.answers],
        "index_ready": index_ready(),
    }


@bp.post("/personal-data")
@costly_limit("personal_data")
def personal_data_check():
    """Whether a text seems to hold personal data (the answer form warns while typing)."""
    cap_body(20_000 * 6 + 1024, _("Văn bản quá dài để kiểm tra (tối đa 20.000 ký tự)."))
    data = json_body("text")
    found = assistant.personal_data(data["text"][:20_000])
    return {
        "found": found,
        "message": PersonalData({"body": found}).field_errors["body"][0] if found else None,
    }


@bp.get("/questions/<int:thread_id>/suggestions")
def question_suggestions(thread_id):
    """What the suggest_answers job stored. "pending" (and no search here) while the job of a
    question just asked has not run; "ready" once nothing more is coming. What the asker said
    of each ("feedback") comes only to the asker's token."""
    thread = get_thread(thread_id, g.api_user)

    def asker_only(suggestion):
        return {"feedback": suggestion.feedback} if can_see_feedback(g.api_user, thread) else {}

    pending = suggestions.pending(thread)
    return {
        "status": "pending" if pending else "ready",
        "message": _("Đang tìm câu trả lời gợi ý…") if pending else None,
        "suggestions": [
            suggestion_json(s.answer, s.passage, s.score, id=s.id, **asker_only(s))
            for s in suggestions.for_thread(thread)
        ],
    }


@bp.post("/suggestions/<int:suggestion_id>/feedback")
@token_required
def suggestion_feedback(suggestion_id):
    suggestion = suggestions.get(suggestion_id)
    if suggestion is None:
        abort(404)
    data = json_body("feedback")
    suggestions.give_feedback(g.api_user, suggestion, data["feedback"])
    return {
        "id": suggestion.id,
        "feedback": suggestion.feedback,
        "solved": suggestion.thread.solved_by_answer_id == suggestion.answer_id,
    }


@bp.post("/moderation/check")
@token_required
@setting_limit("MODERATION_CHECK_RATE_LIMIT")
def moderation_check():
    """The checks' Verdict on a text, with no side effects: for tools and audits."""
    if not is_moderator(g.api_user):
        raise PermissionDenied(_("Chỉ điều hành viên mới dùng được API này."))
    most = current_app.config["MODERATION_CHECK_MAX_CHARS"]
    too_long = _("Văn bản quá dài: tối đa %(n)d ký tự mỗi lần kiểm tra.", n=most)
    cap_body(most * 6 + 4096, too_long)  # JSON escapes a Vietnamese letter in up to 6 bytes
    data = json_body("text")
    title = data.get("title") if isinstance(data.get("title"), str) else None
    if len(data["text"]) + len(title or "") > most:
        raise TooLarge(too_long)
    return screening.moderator().check(data["text"], title=title).to_dict()


@bp.get("/tags")
@costly_limit("tags")
def complete_tags():
    found = tags.complete(request.args.get("q", "")[:60])
    return {"tags": [{"slug": t.slug, "name": t.name, "count": t.question_count} for t in found]}
