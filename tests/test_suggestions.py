"""Suggested answers, the question assistant, routing and the optional drafted answer."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from forum.extensions import db
from forum.indexing import sync_index
from forum.markup import plain_text
from forum.models import Notification, Suggestion, Thread
from forum.seeding import seed
from forum.services import accounts, assistant, drafting, posts, review, suggestions, votes

ZALO_TITLE = "Quên mật khẩu Zalo thì lấy lại thế nào?"
ZALO_BODY = "Điện thoại Samsung của mình đăng xuất Zalo, giờ không nhớ mật khẩu đăng nhập lại."
ZALO_ANSWER = (
    "Bạn mở Zalo, bấm Quên mật khẩu. Nhập số điện thoại rồi chờ mã xác nhận gửi về "
    "tin nhắn. Sau đó đặt mật khẩu mới và đăng nhập lại."
)


@pytest.fixture
def past(app, snapshots, member, other_member, make_user, make_thread):
    """The seed's 99 threads, plus a past Zalo thread with an accepted answer and an unaccepted
    one (similarity is only meaningful among many threads, as in a real forum). Built once per
    run, then restored (see conftest.Snapshots)."""

    def build():
        seed()
        sync_index()
        thread = make_thread(member, title=ZALO_TITLE, body=ZALO_BODY, tags="zalo")
        accepted = posts.post_answer(other_member, thread, ZALO_ANSWER)
        plain = posts.post_answer(
            make_user("nguoi_khac"),
            thread,
            "Bạn mở Zalo, bấm Quên mật khẩu, nhập số điện thoại và làm theo hướng dẫn.",
        )
        votes.vote(make_user("nguoi_bau"), plain, 1)
        posts.accept_answer(member, accepted)
        make_thread(
            member,
            title="Cách bón phân cho chè vụ xuân thế nào?",
            body="Nhà mình trồng chè ở Tân Cương, muốn hỏi cách bón phân.",
            tags="che",
        )
        return {"thread": thread, "accepted": accepted, "plain": plain}

    return snapshots.restore_or_build(app, "past", build)


@pytest.fixture
def asker(make_user):
    return make_user("ba_nga")


def ask_zalo(asker):
    return posts.ask_question(
        asker,
        "Làm sao lấy lại mật khẩu Zalo khi bị quên?",
        "Mình bị đăng xuất Zalo trên điện thoại, không nhớ mật khẩu.",
        "zalo",
    )


def test_accepted_answer_beats_an_unaccepted_one_at_equal_similarity(app, past, asker):
    ranked = suggestions.rank("Lấy lại mật khẩu Zalo", "Mình quên mật khẩu Zalo rồi", limit=10)
    ids = [c.answer.id for c in ranked]
    assert ids.index(past["accepted"].id) < ids.index(
        past["plain"].id
    )  # same thread, same similarity
    accepted = ranked[ids.index(past["accepted"].id)]
    assert "Quên mật khẩu" in accepted.passage


def test_suggestions_are_stored_after_asking_and_shown_only_to_the_asker(client, auth, past, asker):
    thread = ask_zalo(asker)
    stored = suggestions.for_thread(thread)
    assert past["accepted"].id in {s.answer_id for s in stored}
    assert thread.answer_count == 0  # never a community answer
    auth.login(asker)
    page = client.get(f"/q/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "Gợi ý tự động từ các câu trả lời cũ" in page and stored[0].answer.thread.title in page
    auth.logout()
    assert "Gợi ý tự động" not in client.get(f"/q/{thread.id}/{thread.slug}").get_data(as_text=True)


def never_search(*args, **kwargs):
    raise AssertionError("a page searched for suggestions instead of reading the stored ones")


def test_none_found_is_stored_and_pages_only_read_it(
    client, auth, member, make_thread, monkeypatch
):
    thread = make_thread(member)  # nothing on the forum to suggest from
    db.session.refresh(thread)  # the job ran in its own session
    assert suggestions.checked(thread) and suggestions.for_thread(thread) == []
    monkeypatch.setattr(suggestions, "rank", never_search)
    body = client.get(f"/api/v1/questions/{thread.id}/suggestions").get_json()
    assert body == {"status": "ready", "message": None, "suggestions": []}
    auth.login(member)
    page = client.get(f"/q/{thread.id}/{thread.slug}")
    assert page.status_code == 200
    assert "Đang tìm câu trả lời gợi ý" not in page.get_data(as_text=True)


def test_before_the_job_runs_pages_say_so_and_never_search(
    app, client, auth, member, make_thread, monkeypatch
):
    # The job is queued but no worker has run it yet.
    monkeypatch.setitem(app.extensions["jobs"].jobs, "suggest_answers", lambda thread_id: None)
    thread = make_thread(member)
    monkeypatch.setattr(suggestions, "rank", never_search)
    body = client.get(f"/api/v1/questions/{thread.id}/suggestions").get_json()
    assert body == {
        "status": "pending",
        "message": "Đang tìm câu trả lời gợi ý…",
        "suggestions": [],
    }
    auth.login(member)
    page = client.get(f"/q/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "Đang tìm câu trả lời gợi ý…" in page
    assert not suggestions.checked(thread)
    monkeypatch.undo()
    suggestions.suggest_answers(thread.id)  # the worker gets to it
    assert suggestions.checked(thread)
    body = client.get(f"/api/v1/questions/{thread.id}/suggestions").get_json()
    assert body["status"] == "ready"


def test_an_old_question_never_suggested_for_is_not_said_to_be_pending(
    app, client, auth, member, make_thread, monkeypatch
):
    """Imported questions (and those asked before the job stored its runs) never get the job:
    their asker is not told suggestions are coming."""
    monkeypatch.setitem(app.extensions["jobs"].jobs, "suggest_answers", lambda thread_id: None)
    thread = make_thread(member)
    thread.created_at -= suggestions.PENDING_AT_MOST
    db.session.commit()
    monkeypatch.setattr(suggestions, "rank", never_search)
    body = client.get(f"/api/v1/questions/{thread.id}/suggestions").get_json()
    assert body == {"status": "ready", "message": None, "suggestions": []}
    auth.login(member)
    page = client.get(f"/q/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "Đang tìm câu trả lời gợi ý" not in page


def test_suggestions_never_come_from_hidden_or_deleted_posts(past, asker, moderator):
    posts.delete_post(moderator, past["accepted"])
    review.flag(moderator, past["plain"], "spam")  # hidden pending review
    ranked = suggestions.rank("Lấy lại mật khẩu Zalo", "quên mật khẩu Zalo", limit=20)
    assert ranked and not {c.answer.id for c in ranked} & {past["accepted"].id, past["plain"].id}


def test_marking_solved_credits_the_source_answers_author(client, auth, past, asker):
    thread = ask_zalo(asker)
    suggestion = suggestions.for_thread(thread)[0]
    source_author = suggestion.answer.author
    before = source_author.reputation
    auth.login(asker)
    client.post(f"/s/{suggestion.id}/feedback", data={"feedback": "solved"})
    assert db.session.get(Thread, thread.id).solved_by_answer_id == suggestion.answer_id
    assert db.session.get(type(source_author), source_author.id).reputation == before + 10
    assert Notification.query.filter_by(user_id=source_author.id, kind="solved").count() == 1
    page = client.get(f"/q/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "Đã giải quyết nhờ một câu trả lời cũ" in page


def test_only_the_asker_gives_feedback(client, auth, past, asker, other_member):
    thread = ask_zalo(asker)
    suggestion = suggestions.for_thread(thread)[0]
    auth.login(other_member)
    assert (
        client.post(f"/s/{suggestion.id}/feedback", data={"feedback": "solved"}).status_code == 403
    )


def test_not_relevant_ranks_a_suggestion_down_for_similar_questions(past, asker, make_user):
    first = ask_zalo(asker)
    top = suggestions.for_thread(first)[0]
    suggestions.give_feedback(asker, top, "not_relevant")
    second = posts.ask_question(
        make_user("nguoi_moi"),
        "Quên mật khẩu Zalo phải làm sao?",
        "Mình không đăng nhập được Zalo vì quên mật khẩu.",
        "zalo",
    )
    assert suggestions.for_thread(second)[0].answer_id != top.answer_id


def test_suggestions_api_and_feedback_api(client, past, asker):
    thread = ask_zalo(asker)
    body = client.get(f"/api/v1/questions/{thread.id}/suggestions").get_json()
    assert body["status"] == "ready"
    first = body["suggestions"][0]
    assert past["accepted"].id in {s["answer_id"] for s in body["suggestions"]}
    assert first["passage"] and first["url"].endswith(f"/p/{first['answer_id']}")
    assert first["label"].startswith("automatic suggestion")
    token = accounts.create_api_token(asker)
    response = client.post(
        f"/api/v1/suggestions/{first['id']}/feedback",
        json={"feedback": "solved"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.get_json() == {"id": first["id"], "feedback": "solved", "solved": True}
    bad = client.post(
        f"/api/v1/suggestions/{first['id']}/feedback",
        json={"feedback": "meh"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bad.status_code == 422


def test_admins_see_the_acceptance_rate(client, auth, past, asker, make_user):
    thread = ask_zalo(asker)
    suggestions.give_feedback(asker, suggestions.for_thread(thread)[0], "solved")
    auth.login(make_user("quan_tri", role="admin"))
    page = client.get("/admin/suggestions").get_data(as_text=True)
    week = suggestions.acceptance_by_week()[0]  # this week: one of its questions was solved
    assert week["solved"] == 1 and f"{week['acceptance_rate'] * 100:.0f}%" in page
    auth.logout()
    auth.login(asker)
    assert client.get("/admin/suggestions").status_code == 403


# The question assistant ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "body", "code"),
    [
        ("Zalo lỗi", "Mình dùng Zalo trên điện thoại, đã thử cài lại.", "title_short"),
        (
            "Chia sẻ kinh nghiệm dùng Gemini cho bán hàng online",
            "Mình dùng Gemini trên điện thoại, đã thử vài cách.",
            "title_not_question",
        ),
        (
            "Làm sao để ChatGPT viết bài bán chè hay hơn?",
            "Nó viết chung chung quá, trên điện thoại.",
            "what_tried",
        ),
        (
            "Làm sao để AI viết bài bán chè hay hơn?",
            "Mình đã thử yêu cầu viết ngắn gọn nhưng vẫn dài.",
            "which_app",
        ),
        (
            "LÀM SAO ĐĂNG KÝ VNEID CHO MẸ TÔI?",
            "TÔI ĐÃ THỬ TRÊN ĐIỆN THOẠI MÀ KHÔNG ĐƯỢC, AI GIÚP VỚI.",
            "all_caps",
        ),
        (
            "Làm sao dùng AI viết giáo án môn Toán lớp 6?",
            "Mình đã thử ChatGPT trên máy tính. " * 25,
            "wall_of_text",
        ),
        (
            "Làm sao kích hoạt VNeID mức 2?",
            "Số của mình 0912 345 678, CCCD 001203004567, đã thử trên điện thoại.",
            "personal_data",
        ),
    ],
)
def test_the_assistant_gives_specific_vietnamese_advice(app, title, body, code):
    with app.test_request_context():
        codes = [a.code for a in assistant.review_draft(title, body)]
    assert code in codes


def test_a_good_draft_gets_no_advice(app):
    with app.test_request_context():
        advice = assistant.review_draft(
            "Làm sao lấy lại mật khẩu Zalo trên điện thoại Samsung?",
            "Mình đã thử bấm Quên mật khẩu nhưng không thấy mã gửi về. Gọi tổng đài 1900 561 558 "
            "thì bận.",
        )
    assert advice == []


def test_hotlines_are_not_personal_data(app):
    with app.test_request_context():
        assert assistant.personal_data("Gọi 113 hoặc tổng đài VNeID 1900 0368") == []


def test_tags_are_suggested_from_neighbours_and_keywords(app, past):
    suggested = [
        tag.slug
        for tag, _weight in assistant.suggest_tags(
            "Mất mật khẩu Zalo", "Mình cần đăng nhập lại Zalo"
        )
    ]
    assert suggested[0] == "zalo"


def test_the_assist_api_answers_a_draft_without_storing_anything(client, past):
    stored = Suggestion.query.count()
    body = client.post(
        "/api/v1/questions/assist",
        json={"title": ZALO_TITLE, "body": "Số 0912345678 của mình bị khóa Zalo"},
    ).get_json()
    assert "personal_data" in [a["code"] for a in body["advice"]]
    assert body["tags"][0]["slug"] == "zalo"
    assert body["answers"] and body["similar"]
    assert Suggestion.query.count() == stored


def test_without_javascript_asking_stops_once_to_show_similar_questions(client, auth, past, asker):
    auth.login(asker)
    data = {
        "title": ZALO_TITLE,
        "body": ZALO_BODY,
        "tags": "zalo",
    }
    step = client.post("/ask", data=data)
    page = step.get_data(as_text=True)
    assert step.status_code == 200 and "có thể đã trả lời bạn" in page and ZALO_TITLE in page
    assert f'value="{ZALO_TITLE}"' in page  # nothing typed is lost
    threads = Thread.query.count()
    done = client.post("/ask", data={**data, "confirmed": "1"})
    assert done.status_code == 302 and Thread.query.count() == threads + 1


# Routing --------------------------------------------------------------------------------------


def test_unanswered_questions_are_routed_to_members_who_answered_similar_ones(
    past, asker, other_member
):
    thread = ask_zalo(asker)
    note = Notification.query.filter_by(kind="routing", thread_id=thread.id)
    assert other_member.id in {n.user_id for n in note}
    assert asker.id not in {n.user_id for n in note}


def test_routing_respects_the_daily_limit_and_the_opt_out(app, past, other_member, make_user):
    app.config["ROUTING_DAILY_LIMIT"] = 2
    for n in range(4):
        ask_zalo(make_user(f"nguoi_hoi_{n}"))
    assert Notification.query.filter_by(kind="routing", user_id=other_member.id).count() == 2
    other_member.notify_routing = False
    db.session.commit()
    Notification.query.filter_by(kind="routing").delete()
    ask_zalo(make_user("nguoi_hoi_cuoi"))
    assert Notification.query.filter_by(kind="routing", user_id=other_member.id).count() == 0


# The optional drafted answer --------------------------------------------------------------


class FakeChat(BaseHTTPRequestHandler):
    replies = []
    requests = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        length = int(self.headers["Content-Length"])
        FakeChat.requests.append(json.loads(self.rfile.read(length)))
        reply = FakeChat.replies.pop(0)
        if reply is None:
            self.send_response(500)
            self.end_headers()
            return
        body = json.dumps({"choices": [{"message": {"content": reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_llm(app):
    server = HTTPServer(("127.0.0.1", 0), FakeChat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config.update(
        LLM_BASE_URL=f"http://127.0.0.1:{server.server_port}/v1",
        LLM_MODEL="fake-chat",
        LLM_TIMEOUT=2,
    )
    FakeChat.replies, FakeChat.requests = [], []
    yield FakeChat
    server.shutdown()
    server.server_close()


def test_a_drafted_answer_cites_the_past_answers_it_was_given(client, auth, past, asker, fake_llm):
    fake_llm.replies.append("Bấm **Quên mật khẩu** rồi nhập mã gửi về [1]. Xem thêm [7].")
    thread = ask_zalo(asker)
    draft = drafting.for_thread(thread)
    assert "[1]" in draft.body_html and "[7]" not in draft.body_html
    first = suggestions.for_thread(thread)[0]
    assert draft.sources[0]["answer_id"] == first.answer_id and draft.sources[0]["cited"]
    prompt = fake_llm.requests[0]["messages"][1]["content"]
    assert "[1]" in prompt and plain_text(first.answer.body_html)[:30] in prompt
    auth.login(asker)
    page = client.get(f"/q/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "Bản nháp do máy viết (fake-chat)" in page
    assert thread.answer_count == 0


def test_llm_errors_degrade_to_the_retrieval_suggestions(past, asker, fake_llm):
    fake_llm.replies.append(None)  # HTTP 500
    thread = ask_zalo(asker)
    assert drafting.for_thread(thread) is None
    assert suggestions.for_thread(thread)


def test_no_model_configured_means_no_call(app, past, asker):
    assert not drafting.enabled()
    thread = ask_zalo(asker)
    assert drafting.for_thread(thread) is None


def test_one_ask_searches_for_similar_questions_once_not_four_times(
    app, past, asker, monkeypatch
):
    app.config["SIMILAR_CACHE_SECONDS"] = 120
    engine = app.extensions["search"]
    searched = []
    search = engine.similar_questions
    monkeypatch.setattr(
        engine, "similar_questions", lambda text, **kw: searched.append(text) or search(text, **kw)
    )
    title = "Làm sao lấy lại mật khẩu Zalo khi bị quên?"
    body = "Mình bị đăng xuất Zalo trên điện thoại, không nhớ mật khẩu."
    drafted = assistant.help_with_draft(title, body)
    # The moderation check, then answer suggestions and routing after the commit, reuse the
    # draft's search (leaving out the new question itself).
    thread = posts.ask_question(asker, title, body, "zalo")
    assert len(searched) == 1
    assert drafted.similar and past["thread"].id in [h.question_id for h in drafted.similar]
    stored = suggestions.for_thread(thread)
    assert past["accepted"].id in {s.answer_id for s in stored}
    assert thread.id not in [
        h.question_id for h in assistant.similar_questions(f"{title}\n{body}", exclude=[thread.id])
    ]
