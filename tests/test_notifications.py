"""In-app notifications and the bell's unread count."""

from forum.models import Notification
from forum.services import posts


def bell(client):
    page = client.get("/").get_data(as_text=True)
    return page.split('class="badge">')[1].split("<")[0] if 'class="badge">' in page else "0"


def test_answer_comment_and_accept_each_notify(client, auth, thread, member, other_member):
    answer = posts.post_answer(other_member, thread, "Câu trả lời sẽ được chọn.")
    posts.post_comment(other_member, thread.question, "Bạn cho xem ảnh nhé.")
    posts.accept_answer(member, answer)
    assert [n.kind for n in Notification.query.order_by(Notification.id)] == [
        "answer",
        "comment",
        "accepted",
    ]
    auth.login(member)
    assert bell(client) == "2"


def test_nobody_is_notified_of_their_own_acts(thread, member):
    posts.post_comment(member, thread.question, "Tự bình luận của mình.")
    assert Notification.query.count() == 0


def test_opening_a_notification_marks_it_read_and_goes_to_the_post(
    client, auth, thread, member, other_member
):
    answer = posts.post_answer(other_member, thread, "Câu trả lời để mở thông báo.")
    auth.login(member)
    note = Notification.query.one()
    response = client.post(f"/notifications/{note.id}")
    assert response.headers["Location"].endswith(f"#post-{answer.id}")
    assert bell(client) == "0"


def test_mark_all_read(client, auth, thread, member, other_member):
    posts.post_answer(other_member, thread, "Câu trả lời một cho thông báo.")
    posts.post_comment(other_member, thread.question, "Bình luận hai.")
    auth.login(member)
    client.post("/notifications/read")
    assert bell(client) == "0"


def test_someone_elses_notification_cannot_be_opened(client, auth, thread, other_member, make_user):
    posts.post_answer(other_member, thread, "Câu trả lời tạo thông báo riêng.")
    auth.login(make_user("nguoi_la"))
    note = Notification.query.one()
    client.post(f"/notifications/{note.id}")
    assert Notification.query.one().read_at is None


def test_opening_the_list_clears_the_bell_and_still_shows_what_was_new(
    client, auth, thread, member, other_member
):
    posts.post_answer(other_member, thread, "Câu trả lời mới cho chuông.")
    auth.login(member)
    assert bell(client) == "1"
    page = client.get("/notifications").get_data(as_text=True)
    assert '<li class="unread">' in page  # new on this visit
    assert 'class="badge"' not in page  # and the bell on this very page is clear
    assert bell(client) == "0"
    assert '<li class="unread">' not in client.get("/notifications").get_data(as_text=True)
