"""Threads: ask, answer, comment, edit with history, soft delete, accept, views, slugs."""

from forum.extensions import db
from forum.models import Post, Revision, Tag, Thread
from forum.services import posts


def ask(client, **fields):
    data = {
        "title": "Làm sao đăng ký VNeID mức 2 cho bố mẹ?",
        "body": "Bố mẹ em ở Võ Nhai, không biết làm trên điện thoại. Cần mang giấy tờ gì ạ?",
        "tags": "VNeID, dịch vụ công",
    }
    return client.post("/ask", data={**data, **fields})


def test_a_member_asks_a_question_and_lands_on_its_page(client, auth, member):
    auth.login(member)
    response = ask(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/lam-sao-dang-ky-vneid-muc-2-cho-bo-me")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Làm sao đăng ký VNeID mức 2 cho bố mẹ?" in page
    assert "Dịch vụ công" in page or "dịch vụ công" in page


def test_tags_are_normalised_to_slugs_without_diacritics(client, auth, member):
    auth.login(member)
    ask(client, tags="AI tạo ảnh, #Zalo; Chè Thái Nguyên, zalo")
    assert sorted(t.slug for t in Tag.query.all()) == ["ai-tao-anh", "che-thai-nguyen", "zalo"]
    assert Tag.query.filter_by(slug="ai-tao-anh").one().name == "AI tạo ảnh"


def test_existing_tags_keep_their_display_name(client, auth, member, make_thread):
    make_thread(member, tags="Viết prompt")
    auth.login(member)
    ask(client, tags="viet prompt")
    assert Tag.query.filter_by(slug="viet-prompt").one().name == "Viết prompt"


def test_asking_reports_every_problem_and_keeps_what_was_typed(client, auth, member):
    auth.login(member)
    response = ask(client, title="Hỏi?", body="ngắn", tags="a, b, c, d, e, f")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tiêu đề quá ngắn" in page
    assert "Nội dung quá ngắn" in page
    assert "Tối đa 5 thẻ" in page
    assert 'value="Hỏi?"' in page and ">ngắn</textarea>" in page
    assert Thread.query.count() == 0


def test_old_or_wrong_slug_redirects_to_the_canonical_url(client, thread):
    response = client.get(f"/q/{thread.id}/sai-duong-dan")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(f"/q/{thread.id}/{thread.slug}")
    assert client.get(f"/q/{thread.id}").status_code == 301


def test_unknown_thread_is_a_404_page(client):
    response = client.get("/q/999/khong-co")
    assert response.status_code == 404
    assert "Không tìm thấy" in response.get_data(as_text=True)


def test_answering_notifies_the_asker(client, auth, thread, other_member, member):
    auth.login(other_member)
    response = client.post(
        f"/q/{thread.id}/answer", data={"body": "Bạn thử thêm vai trò: `Bạn là giáo viên...`"}
    )
    assert response.status_code == 302
    assert thread.answer_count == 1
    auth.logout()
    auth.login(member)
    page = client.get("/notifications").get_data(as_text=True)
    assert "đã trả lời câu hỏi" in page


def test_a_too_short_answer_keeps_the_draft(client, auth, thread, other_member):
    auth.login(other_member)
    response = client.post(f"/q/{thread.id}/answer", data={"body": "ok"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Câu trả lời quá ngắn" in page and ">ok</textarea>" in page


def test_comments_under_question_and_answer(client, auth, thread, member, other_member):
    answer = posts.post_answer(
        other_member, thread, "Dùng mẫu: vai trò, bối cảnh, yêu cầu, định dạng."
    )
    auth.login(member)
    client.post(f"/p/{answer.id}/comment", data={"body": "Cảm ơn bạn nhiều!"})
    client.post(f"/p/{thread.question.id}/comment", data={"body": "Bổ sung: em dùng bản miễn phí."})
    page = client.get(f"/q/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "Cảm ơn bạn nhiều!" in page and "Bổ sung: em dùng bản miễn phí." in page
    assert Post.query.filter_by(post_type="comment").count() == 2


def test_editing_keeps_every_revision_and_shows_history(client, auth, thread, member):
    auth.login(member)
    question = thread.question
    response = client.post(
        f"/p/{question.id}/edit",
        data={
            "title": "Làm sao viết prompt cho ChatGPT hay và đúng ý?",
            "body": "Nội dung mới, rõ hơn nhiều ạ.",
            "tags": "chatgpt",
        },
    )
    assert response.status_code == 302
    assert [r.number for r in Revision.query.filter_by(post_id=question.id)] == [1, 2]
    assert thread.slug == "lam-sao-viet-prompt-cho-chatgpt-hay-va-dung-y"
    history = client.get(f"/p/{question.id}/history").get_data(as_text=True)
    assert "Bản 2" in history and "Bản 1" in history and "Nội dung mới, rõ hơn nhiều ạ." in history


def test_soft_deleted_answer_disappears_but_stays_in_the_database(
    client, auth, thread, other_member
):
    answer = posts.post_answer(other_member, thread, "Câu trả lời sẽ bị xóa sau đây.")
    auth.login(other_member)
    assert client.post(f"/p/{answer.id}/delete").status_code == 302
    assert "sẽ bị xóa" not in client.get(f"/q/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert db.session.get(Post, answer.id).deleted_at is not None
    assert thread.answer_count == 0


def test_deleted_question_is_gone_for_members_but_moderators_still_see_it(
    client, auth, thread, member, moderator
):
    auth.login(member)
    client.post(f"/p/{thread.question.id}/delete")
    assert client.get(f"/q/{thread.id}/{thread.slug}").status_code == 404
    auth.logout()
    auth.login(moderator)
    page = client.get(f"/q/{thread.id}/{thread.slug}")
    assert page.status_code == 200 and "đã bị xóa" in page.get_data(as_text=True)


def test_the_asker_accepts_one_answer_and_can_change_it(
    client, auth, thread, member, other_member, make_user
):
    third = make_user("co_giao_mai")
    first = posts.post_answer(other_member, thread, "Câu trả lời thứ nhất, khá đầy đủ.")
    second = posts.post_answer(third, thread, "Câu trả lời thứ hai, hay hơn.")
    auth.login(member)
    client.post(f"/p/{first.id}/accept")
    assert thread.accepted_answer_id == first.id
    client.post(f"/p/{second.id}/accept")
    assert thread.accepted_answer_id == second.id
    assert other_member.reputation == 1 and third.reputation == 16
    client.post(f"/p/{second.id}/accept")
    assert thread.accepted_answer_id is None


def test_only_the_asker_accepts(client, auth, thread, other_member):
    answer = posts.post_answer(other_member, thread, "Tự chấp nhận câu trả lời của mình?")
    auth.login(other_member)
    assert client.post(f"/p/{answer.id}/accept").status_code == 403


def test_views_count_once_per_visitor_and_never_the_askers_own(app, client, auth, thread, member):
    client.get(f"/q/{thread.id}/{thread.slug}")
    client.get(f"/q/{thread.id}/{thread.slug}")
    app.test_client().get(f"/q/{thread.id}/{thread.slug}")
    auth.login(member)
    client.get(f"/q/{thread.id}/{thread.slug}")
    assert db.session.get(Thread, thread.id).view_count == 2


def test_markdown_preview_renders_like_the_stored_post(client, auth, member):
    auth.login(member)
    response = client.post("/preview", data={"body": "**đậm** <script>x</script>"})
    assert (
        response.get_data(as_text=True).strip()
        == "<p><strong>đậm</strong> &lt;script&gt;x&lt;/script&gt;</p>"
    )
