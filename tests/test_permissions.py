"""Who may write what on a thread: anonymous / author / other member / moderator x the thread's
write routes (every route x seven personas, suspension included: tests/test_authorization.py)."""

import pytest

from forum.services import posts

ANON, AUTHOR, OTHER, MODERATOR = "anonymous", "author", "other member", "moderator"


@pytest.fixture
def world(thread, member, other_member, moderator, make_user):
    answerer = make_user("nguoi_tra_loi")
    answer = posts.post_answer(answerer, thread, "Một câu trả lời của người khác.")
    comment = posts.post_comment(member, thread.question, "Bình luận của người hỏi.")
    return {
        "thread": thread,
        "answer": answer,
        "comment": comment,
        "answerer": answerer,
        AUTHOR: member,
        OTHER: other_member,
        MODERATOR: moderator,
    }


def routes(world):
    thread, question = world["thread"], world["thread"].question
    edit = {
        "title": "Tiêu đề đã sửa cho câu hỏi",
        "body": "Nội dung đã sửa, đủ dài để hợp lệ.",
        "tags": "chatgpt",
    }
    return {
        "edit question": (f"/p/{question.id}/edit", edit),
        "delete question": (f"/p/{question.id}/delete", {}),
        "edit comment": (f"/p/{world['comment'].id}/edit", {"body": "Bình luận đã sửa"}),
        "delete comment": (f"/p/{world['comment'].id}/delete", {}),
        "accept answer": (f"/p/{world['answer'].id}/accept", {}),
        "answer": (f"/q/{thread.id}/answer", {"body": "Một câu trả lời mới, đủ dài."}),
        "comment": (f"/p/{question.id}/comment", {"body": "Bình luận mới"}),
        "vote": (f"/p/{world['answer'].id}/vote", {"value": "up"}),
        "ask": (
            "/ask",
            {
                "title": "Câu hỏi mới về Gemini là gì?",
                "body": "Nội dung câu hỏi mới đủ dài.",
                "tags": "gemini",
                "confirmed": "1",  # past the check-first step, as after the live assistant
            },
        ),
    }


# (route, who) -> expected status. Owner-only routes: author and moderator pass, others get 403.
EXPECTED = {
    ("edit question", ANON): 302,
    ("edit question", AUTHOR): 302,
    ("edit question", OTHER): 403,
    ("edit question", MODERATOR): 302,
    ("delete question", ANON): 302,
    ("delete question", AUTHOR): 302,
    ("delete question", OTHER): 403,
    ("delete question", MODERATOR): 302,
    ("edit comment", ANON): 302,
    ("edit comment", AUTHOR): 302,
    ("edit comment", OTHER): 403,
    ("edit comment", MODERATOR): 302,
    ("delete comment", ANON): 302,
    ("delete comment", AUTHOR): 302,
    ("delete comment", OTHER): 403,
    ("delete comment", MODERATOR): 302,
    ("accept answer", ANON): 302,
    ("accept answer", AUTHOR): 302,
    ("accept answer", OTHER): 403,
    ("accept answer", MODERATOR): 403,
    ("answer", ANON): 302,
    ("answer", AUTHOR): 302,
    ("answer", OTHER): 302,
    ("answer", MODERATOR): 302,
    ("comment", ANON): 302,
    ("comment", AUTHOR): 302,
    ("comment", OTHER): 302,
    ("comment", MODERATOR): 302,
    ("vote", ANON): 302,
    ("vote", AUTHOR): 302,
    ("vote", OTHER): 302,
    ("vote", MODERATOR): 302,
    ("ask", ANON): 302,
    ("ask", AUTHOR): 302,
    ("ask", OTHER): 302,
    ("ask", MODERATOR): 302,
}


@pytest.mark.parametrize(("route", "who"), sorted(EXPECTED))
def test_authorisation_matrix(client, auth, world, route, who):
    url, data = routes(world)[route]
    if who != ANON:
        auth.login(world[who])
    response = client.post(url, data=data)
    assert response.status_code == EXPECTED[(route, who)], response.get_data(as_text=True)[:300]
    if who == ANON:
        assert "/login" in response.headers["Location"]


def test_a_refused_edit_changes_nothing(client, auth, world):
    auth.login(world[OTHER])
    question = world["thread"].question
    client.post(
        f"/p/{question.id}/edit",
        data={
            "title": "Bị phá hoại rồi nhé",
            "body": "Nội dung bị phá hoại hoàn toàn",
            "tags": "spam",
        },
    )
    assert world["thread"].title == "Làm sao viết prompt cho ChatGPT hay hơn?"


def test_edit_form_is_forbidden_to_other_members(client, auth, world):
    auth.login(world[OTHER])
    assert client.get(f"/p/{world['thread'].question.id}/edit").status_code == 403
