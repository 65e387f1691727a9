"""Nothing a member typed is lost: suspended members are told before they write, and a post
that fails comes back with its text (the browser also keeps drafts, see static/js/site.js
and tests/browser)."""

from forum.models import Post, Thread
from forum.services import review
from forum.templating import full_date


def test_a_suspended_member_sees_the_suspension_and_its_end_before_writing(
    app, client, auth, member, moderator
):
    review.suspend(moderator, member, 3, "Đăng quảng cáo nhiều lần")
    auth.login(member)
    page = client.get("/ask").get_data(as_text=True)
    assert 'id="suspended-notice"' in page and "Đăng quảng cáo nhiều lần" in page
    assert 'id="ask-form"' not in page  # no form to fill in and lose
    with app.test_request_context():
        assert full_date(member.suspended_until) in page  # until when


def test_text_sent_while_suspended_comes_back_to_be_copied(client, auth, member, moderator):
    auth.login(member)
    client.get("/ask")
    review.suspend(moderator, member, None, "Chờ điều hành viên xem lại")
    response = client.post(
        "/ask",
        data={"title": "Một câu hỏi dài viết trên điện thoại", "body": "Nội dung rất dài " * 20,
              "tags": "zalo", "confirmed": "1"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Một câu hỏi dài viết trên điện thoại" in page and "Nội dung rất dài" in page
    assert "đến khi điều hành viên mở lại" in page
    assert Thread.query.count() == 0


def test_a_suspended_answer_is_kept_on_the_thread_page(
    client, auth, thread, other_member, moderator
):
    auth.login(other_member)
    page = client.get(f"/q/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert 'id="answer-form"' in page
    review.suspend(moderator, other_member, 1, "Nghỉ một ngày")
    response = client.post(f"/q/{thread.id}/answer", data={"body": "Câu trả lời viết rất lâu."})
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and "Câu trả lời viết rất lâu." in page
    assert 'id="suspended-notice"' in page and 'id="answer-form"' not in page


def test_a_comment_that_fails_comes_back_in_its_box(client, auth, thread, other_member):
    auth.login(other_member)
    response = client.post(f"/p/{thread.question.id}/comment", data={"body": "x"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Bình luận quá ngắn" in page
    assert '<details class="add-comment" open>' in page


def test_an_answer_that_fails_keeps_its_text(client, auth, thread, other_member):
    auth.login(other_member)
    response = client.post(f"/q/{thread.id}/answer", data={"body": "Ngắn"})
    assert response.status_code == 422 and ">Ngắn</textarea>" in response.get_data(as_text=True)


def test_the_page_after_a_post_tells_the_script_to_forget_the_draft(client, auth, thread,
                                                                   other_member):
    auth.login(other_member)
    response = client.post(
        f"/q/{thread.id}/answer", data={"body": "Bạn vào Cài đặt rồi chọn Tài khoản nhé."},
        follow_redirects=True,
    )
    assert f'data-draft-done="answer-{thread.id}"' in response.get_data(as_text=True)
    assert Post.query.filter_by(post_type="answer").count() == 1


def test_forms_that_keep_drafts_are_marked(client, auth, thread, member):
    auth.login(member)
    assert 'data-draft="ask"' in client.get("/ask").get_data(as_text=True)
    page = client.get(f"/q/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert f'data-draft="answer-{thread.id}"' in page
    assert f'data-draft="comment-{thread.question.id}"' in page
