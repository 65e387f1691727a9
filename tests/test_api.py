"""JSON API v1: token auth, question list and detail, posting, error shapes."""

import pytest

from forum.services import accounts, posts


@pytest.fixture
def token(member):
    return accounts.create_api_token(member, "test")


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status, code):
    assert response.status_code == status
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]


def test_list_questions_with_tag_sort_and_page(client, member, make_thread):
    make_thread(member, title="Câu hỏi về Zalo AI số một", tags="zalo")
    make_thread(member, title="Câu hỏi về ChatGPT số hai", tags="chatgpt")
    body = client.get("/api/v1/questions?tag=zalo&sort=newest&page=1").get_json()
    assert body["total"] == 1 and body["questions"][0]["title"] == "Câu hỏi về Zalo AI số một"
    assert body["questions"][0]["tags"] == ["zalo"]


def test_question_detail_includes_answers(client, thread, other_member):
    posts.post_answer(other_member, thread, "Trả lời qua API cũng thấy.")
    body = client.get(f"/api/v1/questions/{thread.id}").get_json()
    assert body["question"]["body"].startswith("Em hỏi ChatGPT")
    assert [a["body"] for a in body["answers"]] == ["Trả lời qua API cũng thấy."]


def test_create_question_returns_201_with_id_url_status(client, token):
    response = client.post(
        "/api/v1/questions",
        json={
            "title": "Hỏi qua API: Gemini có miễn phí không?",
            "body": "Mình muốn biết bản miễn phí làm được gì.",
            "tags": ["gemini"],
        },
        headers=bearer(token),
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "published" and body["url"].endswith(
        "/hoi-qua-api-gemini-co-mien-phi-khong"
    )


def test_create_answer(client, token, thread, other_member):
    other_token = accounts.create_api_token(other_member)
    response = client.post(
        f"/api/v1/questions/{thread.id}/answers",
        json={"body": "Trả lời từ bot, đủ dài."},
        headers=bearer(other_token),
    )
    assert response.status_code == 201
    assert response.get_json()["status"] == "published"


def test_writing_needs_a_token(client):
    response = client.post("/api/v1/questions", json={"title": "t", "body": "b", "tags": []})
    assert_error(response, 401, "unauthorized")


def test_a_bad_token_is_401(client):
    assert_error(client.get("/api/v1/questions", headers=bearer("xt_wrong")), 401, "unauthorized")


def test_invalid_json_is_a_clear_error(client, token):
    response = client.post(
        "/api/v1/questions",
        data="{not json",
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    assert_error(response, 422, "validation_failed")


def test_missing_fields_are_named(client, token):
    response = client.post(
        "/api/v1/questions", json={"title": "Chỉ có tiêu đề thôi nhé"}, headers=bearer(token)
    )
    assert_error(response, 422, "validation_failed")
    assert "body" in response.get_json()["error"]["message"]


def test_validation_errors_list_fields(client, token):
    response = client.post(
        "/api/v1/questions",
        json={"title": "ngắn", "body": "ngắn", "tags": []},
        headers=bearer(token),
    )
    assert_error(response, 422, "validation_failed")
    assert set(response.get_json()["error"]["fields"]) == {"title", "body", "tags"}


def test_unknown_question_and_route_are_json_404(client):
    assert_error(client.get("/api/v1/questions/999"), 404, "not_found")
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_json_405(client):
    assert_error(client.delete("/api/v1/questions"), 405, "method_not_allowed")


def test_bad_sort_is_a_clear_error(client):
    assert_error(client.get("/api/v1/questions?sort=random"), 422, "validation_failed")


def test_the_api_ignores_session_cookies(client, auth, member):
    auth.login(member)
    response = client.post(
        "/api/v1/questions",
        json={"title": "Gửi bằng cookie thôi", "body": "Không có token", "tags": ["x"]},
    )
    assert_error(response, 401, "unauthorized")


def test_tag_autocomplete(client, member, make_thread):
    make_thread(member, tags="Viết prompt, chatgpt")
    tags = client.get("/api/v1/tags?q=viet").get_json()["tags"]
    assert tags == [{"slug": "viet-prompt", "name": "Viết prompt", "count": 1}]


def test_search_shows_a_thread_once_unless_asked_otherwise(
    client, member, other_member, make_thread
):
    thread = make_thread(member, title="Cách dùng Gemini dịch tài liệu tiếng Anh", tags="gemini")
    for n in range(3):
        posts.post_answer(
            other_member, thread, f"Gemini dịch tài liệu rất tốt, cách số {n} nhé bạn."
        )
    collapsed = client.get("/api/v1/search?q=Gemini dịch tài liệu&mode=keyword").get_json()
    assert [r["question_id"] for r in collapsed["results"]] == [thread.id]
    every = client.get("/api/v1/search?q=Gemini dịch tài liệu&mode=keyword&collapse=0").get_json()
    assert len(every["results"]) == 4


def test_the_moderation_check_takes_at_most_twenty_thousand_characters(client, moderator):
    headers = bearer(accounts.create_api_token(moderator))
    response = client.post(
        "/api/v1/moderation/check", json={"text": "chè " * 5001}, headers=headers
    )
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "too_large" and "tối đa 20000 ký tự" in error["message"]
    # A body far past it is refused before it is read.
    response = client.post(
        "/api/v1/moderation/check", json={"text": "chè " * 200_000}, headers=headers
    )
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_large"
    ok = client.post("/api/v1/moderation/check", json={"text": "chè " * 4999}, headers=headers)
    assert ok.status_code == 200
