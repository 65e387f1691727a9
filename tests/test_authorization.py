"""Who may change what: every route that takes POST, PUT, PATCH or DELETE (read from the app's
URL map, so a new route without an entry here fails) x every kind of visitor, allowed or denied.

The personas, for a target answer written by "author" on a question asked by "other member":
a visitor, an unrelated member, the author, the asker, the author while suspended (so every
refusal of "suspended" is for the suspension, not for not owning the post), a moderator and
an admin. The API is called with each persona's own token."""

import hashlib
import re
from datetime import timedelta

import pytest

from forum.dates import full_date
from forum.extensions import db
from forum.models import (
    ApiToken,
    FacebookAuthor,
    Notification,
    PasswordReset,
    ReviewCase,
    Suggestion,
    utcnow,
)
from forum.services import duplicates, mail, posts, review
from forum.services.posts import refresh_thread
from tests.conftest import PASSWORD

ANON, MEMBER, AUTHOR, OTHER = "anonymous", "member", "author", "other member"
SUSPENDED, MODERATOR, ADMIN = "suspended", "moderator", "admin"
PERSONAS = (ANON, MEMBER, AUTHOR, OTHER, SUSPENDED, MODERATOR, ADMIN)

EVERYONE = frozenset(PERSONAS)
LOGGED_IN = EVERYONE - {ANON}
ACTIVE = LOGGED_IN - {SUSPENDED}
OWNER = frozenset({AUTHOR, MODERATOR, ADMIN})
NOT_OWNER = ACTIVE - {AUTHOR}
STAFF = frozenset({MODERATOR, ADMIN})
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
NEW_PASSWORD = "mat-khau-moi-2026"


def entry(allowed, path, data=None, api=False):
    """`path` is a function of the world giving the URL; `data` the form or JSON body (or a
    function of the world giving it)."""
    return {"allowed": allowed, "path": path, "data": data or {}, "api": api}


# (rule, method) -> who may, and how to call it.
MATRIX = {
    ("/lang", "POST"): entry(EVERYONE, lambda w: "/lang", {"lang": "en"}),
    ("/preview", "POST"): entry(LOGGED_IN, lambda w: "/preview", {"body": "**Xin chào**"}),
    ("/register", "POST"): entry(
        EVERYONE,
        lambda w: "/register",
        {"username": "nguoi_moi", "password": PASSWORD, "password2": PASSWORD},
    ),
    ("/login", "POST"): entry(
        EVERYONE, lambda w: "/login", {"username": "thanh_vien", "password": PASSWORD}
    ),
    ("/forgot", "POST"): entry(
        EVERYONE, lambda w: "/forgot", {"username": "tac_gia", "contact": "Zalo nhóm"}
    ),
    # A reset link is a capability: whoever holds it sets the password.
    ("/reset/<token>", "POST"): entry(
        EVERYONE,
        lambda w: f"/reset/{w['reset_token']}",
        {"password": NEW_PASSWORD, "password2": NEW_PASSWORD},
    ),
    ("/logout", "POST"): entry(EVERYONE, lambda w: "/logout"),
    ("/account", "POST"): entry(
        ACTIVE, lambda w: "/account", {"display_name": "Tên mới", "bio": "", "email": ""}
    ),
    ("/account/password", "POST"): entry(
        LOGGED_IN,
        lambda w: "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    ),
    ("/account/token", "POST"): entry(ACTIVE, lambda w: "/account/token", {"name": "bot"}),
    ("/account/tokens/<int:token_id>/revoke", "POST"): entry(
        {AUTHOR, SUSPENDED}, lambda w: f"/account/tokens/{w['author_token_id']}/revoke"
    ),
    ("/ask", "POST"): entry(
        ACTIVE,
        lambda w: "/ask",
        {
            "title": "Câu hỏi mới về Gemini là gì?",
            "body": "Nội dung câu hỏi mới đủ dài.",
            "tags": "gemini",
            "confirmed": "1",
        },
    ),
    ("/q/<int:thread_id>/answer", "POST"): entry(
        ACTIVE,
        lambda w: f"/q/{w['thread'].id}/answer",
        {"body": "Một câu trả lời mới, đủ dài.", "confirmed": "1"},
    ),
    ("/p/<int:post_id>/comment", "POST"): entry(
        ACTIVE, lambda w: f"/p/{w['answer'].id}/comment", {"body": "Bình luận mới"}
    ),
    ("/s/<int:suggestion_id>/feedback", "POST"): entry(
        {OTHER}, lambda w: f"/s/{w['suggestion'].id}/feedback", {"feedback": "not_relevant"}
    ),
    ("/p/<int:post_id>/edit", "POST"): entry(
        OWNER, lambda w: f"/p/{w['answer'].id}/edit", {"body": "Nội dung đã sửa, đủ dài nhé."}
    ),
    ("/p/<int:post_id>/delete", "POST"): entry(OWNER, lambda w: f"/p/{w['answer'].id}/delete"),
    ("/p/<int:post_id>/vote", "POST"): entry(
        NOT_OWNER, lambda w: f"/p/{w['answer'].id}/vote", {"value": "up"}
    ),
    ("/p/<int:post_id>/accept", "POST"): entry({OTHER}, lambda w: f"/p/{w['answer'].id}/accept"),
    ("/p/<int:post_id>/history/<int:number>/redact", "POST"): entry(
        OWNER, lambda w: f"/p/{w['answer'].id}/history/1/redact"
    ),
    ("/p/<int:post_id>/flag", "POST"): entry(
        NOT_OWNER, lambda w: f"/p/{w['answer'].id}/flag", {"reason": "spam"}
    ),
    ("/p/<int:post_id>/appeal", "POST"): entry(
        {AUTHOR, SUSPENDED},
        lambda w: f"/p/{w['rejected'].id}/appeal",
        {"note": "Bài này không vi phạm."},
    ),
    ("/review/<int:case_id>", "POST"): entry(
        STAFF, lambda w: f"/review/{w['case'].id}", {"action": "dismiss"}
    ),
    ("/review/bulk", "POST"): entry(
        STAFF, lambda w: "/review/bulk", lambda w: {"action": "dismiss", "case": str(w["case"].id)}
    ),
    ("/review/users/<int:user_id>/suspend", "POST"): entry(
        STAFF,
        lambda w: f"/review/users/{w[MEMBER].id}/suspend",
        {"days": "1", "reason": "Đăng quảng cáo"},
    ),
    ("/review/users/<int:user_id>/reset-link", "POST"): entry(
        STAFF, lambda w: f"/review/users/{w[MEMBER].id}/reset-link"
    ),
    ("/claim/<token>", "POST"): entry(ACTIVE, lambda w: w["claim_path"]),
    ("/admin/facebook/<int:author_id>/link", "POST"): entry(
        {ADMIN}, lambda w: f"/admin/facebook/{w['facebook_author'].id}/link"
    ),
    ("/account/email", "POST"): entry(
        LOGGED_IN, lambda w: "/account/email", {"instant": "1", "digest": ""}
    ),
    ("/account/email/verify", "POST"): entry(LOGGED_IN, lambda w: "/account/email/verify"),
    # An unsubscribe link works without logging in (mail programs post to it).
    ("/unsubscribe/<token>", "POST"): entry(EVERYONE, lambda w: w["unsubscribe_path"]),
    ("/follow/tags/<slug>", "POST"): entry(ACTIVE, lambda w: "/follow/tags/gemini"),
    ("/follow/q/<int:thread_id>", "POST"): entry(ACTIVE, lambda w: f"/follow/q/{w['thread'].id}"),
    # A member opens only their own notifications; another's id leads to their own list.
    ("/notifications/<int:note_id>", "POST"): entry(
        LOGGED_IN, lambda w: f"/notifications/{w['note'].id}"
    ),
    ("/notifications/read", "POST"): entry(LOGGED_IN, lambda w: "/notifications/read"),
    ("/q/<int:thread_id>/duplicate", "POST"): entry(
        STAFF, lambda w: f"/q/{w['thread'].id}/duplicate", lambda w: {"of": str(w["original"].id)}
    ),
    ("/q/<int:thread_id>/reopen", "POST"): entry(STAFF, lambda w: f"/q/{w['closed'].id}/reopen"),
    ("/q/<int:thread_id>/merge", "POST"): entry(STAFF, lambda w: f"/q/{w['closed'].id}/merge"),
    ("/p/<int:post_id>/save", "POST"): entry(
        ACTIVE, lambda w: f"/p/{w['answer'].id}/save", {"action": "save"}
    ),
    # A member's own data: exported and deleted even while suspended.
    ("/account/data/export", "POST"): entry(LOGGED_IN, lambda w: "/account/data/export"),
    ("/account/delete", "POST"): entry(
        LOGGED_IN, lambda w: "/account/delete", {"password": PASSWORD}
    ),
    ("/api/v1/me", "DELETE"): entry(
        LOGGED_IN, lambda w: "/api/v1/me", {"password": PASSWORD}, api=True
    ),
    ("/api/v1/questions/<int:thread_id>/duplicate", "POST"): entry(
        STAFF,
        lambda w: f"/api/v1/questions/{w['thread'].id}/duplicate",
        lambda w: {"of": w["original"].id},
        api=True,
    ),
    ("/api/v1/questions/<int:thread_id>/merge", "POST"): entry(
        STAFF, lambda w: f"/api/v1/questions/{w['closed'].id}/merge", api=True
    ),
    ("/api/v1/posts/<int:post_id>/saved", "PUT"): entry(
        ACTIVE, lambda w: f"/api/v1/posts/{w['answer'].id}/saved", api=True
    ),
    ("/api/v1/posts/<int:post_id>/saved", "DELETE"): entry(
        ACTIVE, lambda w: f"/api/v1/posts/{w['answer'].id}/saved", api=True
    ),
    ("/api/v1/questions", "POST"): entry(
        ACTIVE,
        lambda w: "/api/v1/questions",
        {"title": "Câu hỏi qua API về Gemini?", "body": "Nội dung đủ dài nhé.", "tags": ["gemini"]},
        api=True,
    ),
    ("/api/v1/questions/<int:thread_id>/answers", "POST"): entry(
        ACTIVE,
        lambda w: f"/api/v1/questions/{w['thread'].id}/answers",
        {"body": "Một câu trả lời qua API, đủ dài."},
        api=True,
    ),
    ("/api/v1/questions/assist", "POST"): entry(
        EVERYONE, lambda w: "/api/v1/questions/assist", {"title": "Gemini là gì?"}, api=True
    ),
    ("/api/v1/personal-data", "POST"): entry(
        EVERYONE, lambda w: "/api/v1/personal-data", {"text": "Không có gì riêng."}, api=True
    ),
    ("/api/v1/suggestions/<int:suggestion_id>/feedback", "POST"): entry(
        {OTHER},
        lambda w: f"/api/v1/suggestions/{w['suggestion'].id}/feedback",
        {"feedback": "not_relevant"},
        api=True,
    ),
    ("/api/v1/moderation/check", "POST"): entry(
        STAFF, lambda w: "/api/v1/moderation/check", {"text": "Chào cả nhà."}, api=True
    ),
}


def write_routes(app):
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods & WRITE_METHODS
    }


def test_every_write_route_is_in_the_matrix(app):
    assert write_routes(app) - set(MATRIX) == set(), "add these routes to MATRIX"
    assert set(MATRIX) - write_routes(app) == set(), "these routes are gone"


RESET_TOKEN, CLAIM_TOKEN = "reset-for-the-matrix", "claim-for-the-matrix"


def api_token(who):
    return f"xt_matrix_{who.replace(' ', '_')}"


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def build_world(make_user, make_thread):
    """The posts, cases and links every route acts on. Its secrets are known strings stored
    as their hashes, so the state can be copied from one test to the next (`snapshots`)."""
    asker = make_user("nguoi_hoi")
    author = make_user("tac_gia")
    member = make_user("thanh_vien")
    moderator = make_user("dieu_hanh", role="moderator")
    admin = make_user("quan_tri", role="admin")
    thread = make_thread(asker, tags="gemini, chatgpt")
    original = make_thread(member, title="Cách viết prompt để Gemini tóm tắt tài liệu?")
    closed = make_thread(member, title="Làm sao để Gemini tóm tắt tài liệu dài cho đúng?")
    duplicates.close(moderator, closed, original.id)
    answer = posts.post_answer(author, thread, "Câu trả lời của tác giả, đủ dài.")
    posts.edit_post(author, answer, "Câu trả lời của tác giả, đã sửa một lần.")
    rejected = posts.post_answer(author, thread, "Một câu trả lời khác bị từ chối.")
    rejected.status = "rejected"
    refresh_thread(thread)
    suggestion = Suggestion(thread_id=thread.id, answer_id=answer.id, rank=1, score=0.9)
    review.flag(member, thread.question, "spam")
    placeholder = make_user("fb.thao", display_name="Thảo")
    placeholder.is_placeholder = True
    facebook_author = FacebookAuthor(
        name_key="thảo",
        name="Thảo",
        user_id=placeholder.id,
        claim_token_hash=sha256(CLAIM_TOKEN),
        claim_link_created_at=utcnow(),
    )
    now = utcnow()
    reset = PasswordReset(
        user_id=author.id,
        token_hash=sha256(RESET_TOKEN),
        created_at=now,
        expires_at=now + timedelta(days=3),
    )
    users = {MEMBER: member, AUTHOR: author, OTHER: asker, MODERATOR: moderator, ADMIN: admin}
    tokens = [
        ApiToken(user_id=user.id, name=who, token_hash=ApiToken.hash(api_token(who)))
        for who, user in users.items()
    ]
    db.session.add_all([suggestion, facebook_author, reset, *tokens])
    db.session.commit()
    return {
        **users,
        "thread": thread,
        "original": original,
        "closed": closed,
        "answer": answer,
        "rejected": rejected,
        "suggestion": suggestion,
        "case": db.session.scalar(db.select(ReviewCase).filter_by(post_id=thread.question.id)),
        "note": db.session.scalar(db.select(Notification).filter_by(user_id=asker.id)),
        "facebook_author": facebook_author,
        "author_token": tokens[1],
    }


@pytest.fixture
def world(app, snapshots, make_user, make_thread):
    world = snapshots.restore_or_build(
        app, "authorization", lambda: build_world(make_user, make_thread)
    )
    world[SUSPENDED] = world[AUTHOR]  # the author, suspended by the test
    return {
        **world,
        "reset_token": RESET_TOKEN,
        "claim_path": f"/claim/{CLAIM_TOKEN}",
        "unsubscribe_path": "/" + mail.unsubscribe_url(world[AUTHOR], "digest").split("/", 3)[3],
        "author_token_id": world["author_token"].id,
        "tokens": {who: api_token(AUTHOR if who == SUSPENDED else who) for who in PERSONAS},
    }


def suspend(user):
    user.suspended_until = utcnow() + timedelta(days=3)
    user.suspension_reason = "Đăng quảng cáo"
    db.session.commit()


def call(client, auth, world, route, who):
    spec, method = MATRIX[route], route[1]
    url = spec["path"](world)
    data = spec["data"](world) if callable(spec["data"]) else spec["data"]
    if spec["api"]:
        headers = {"Authorization": f"Bearer {world['tokens'][who]}"} if who != ANON else {}
        return client.open(url, method=method, json=data, headers=headers)
    if who != ANON:
        auth.login(world[who])
    return client.post(url, data=data)


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize("route", sorted(MATRIX), ids="{0[1]} {0[0]}".format)
def test_authorization_matrix(client, auth, world, route, who):
    spec = MATRIX[route]
    if who == SUSPENDED:
        suspend(world[SUSPENDED])
    response = call(client, auth, world, route, who)
    status, text = response.status_code, response.get_data(as_text=True)
    to_login = status == 302 and "/login" in response.headers.get("Location", "")
    if who in spec["allowed"]:
        assert status < 400 and not to_login, (status, text[:400])
    elif who == ANON:
        assert to_login or status == 401, (status, text[:400])
    else:
        assert status in (403, 404), (status, text[:400])
    if who == SUSPENDED and who not in spec["allowed"]:
        # The refusal says it is a suspension, until when, and what still works.
        assert status == 403
        if spec["api"]:
            error = response.get_json()["error"]
            assert error["code"] == "suspended"
            text = error["message"]
        until = full_date(world[SUSPENDED].suspended_until)
        assert "tạm khóa đến" in text and until in text and "kháng nghị" in text, text[:400]


def test_what_the_asker_said_of_a_suggestion_is_for_the_asker_only(client, world):
    world["suggestion"].feedback = "not_relevant"
    db.session.commit()
    url = f"/api/v1/questions/{world['thread'].id}/suggestions"
    for who in (ANON, MEMBER, AUTHOR, MODERATOR):
        headers = {"Authorization": f"Bearer {world['tokens'][who]}"} if who != ANON else {}
        (shown,) = client.get(url, headers=headers).get_json()["suggestions"]
        assert "feedback" not in shown, who
        assert shown["answer_id"] == world["answer"].id  # the suggestion itself is public
    asker = {"Authorization": f"Bearer {world['tokens'][OTHER]}"}
    (shown,) = client.get(url, headers=asker).get_json()["suggestions"]
    assert shown["feedback"] == "not_relevant"


def test_a_suspended_member_is_shown_no_button_they_cannot_use(client, auth, world):
    """The thread page of a suspended author: no vote, flag, comment, edit, delete, follow or
    answer form, the suspension notice instead; the appeal of their rejected answer stays."""
    thread_page = f"/q/{world['thread'].id}/{world['thread'].slug}"
    auth.login(world[AUTHOR])
    assert changes_offered(client.get(thread_page).text) >= {
        "vote",
        "flag",
        "comment",
        "edit",
        "delete",
        "follow",
        "answer",
    }
    suspend(world[SUSPENDED])
    page = client.get(thread_page).text
    assert changes_offered(page) == {"appeal"}
    assert 'id="suspended-notice"' in page


def changes_offered(page):
    """What the page's forms and edit links would change: "vote", "follow", "edit"…"""
    actions = re.findall(r'<form method="post" action="([^"]+)"', page)
    actions += re.findall(r'href="(/p/\d+/edit)"', page)
    kinds = {"follow" if a.startswith("/follow/") else a.rsplit("/", 1)[-1] for a in actions}
    return kinds - {"logout", "lang"}
