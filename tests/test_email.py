"""Email: a real SMTP server on loopback (aiosmtpd) receives the verification link, the instant
notice of a new answer and the weekly digest, each with a working one-click unsubscribe; a
failed send stays in the outbox and goes out on the next try."""

import re
import socket
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from forum.extensions import db
from forum.models import OutboxMessage, ReviewCase, Thread, User, utcnow
from forum.services import posts, review, subscriptions, votes
from forum.services.browse import tag_by_slug
from tests.test_moderation_flow import RUDE

LINK = re.compile(r"http://127\.0\.0\.1:5000(/\S+)")


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted"

    def to(self, address):
        return [m for m in self.messages if m["To"] == address]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def inbox(app):
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_USE_TLS=False,
                      MAIL_FROM="Xứ Trà Hỏi Đáp <hoidap@xutra.test>")  # fmt: skip
    yield handler
    controller.stop()


def text_of(message):
    return message.get_body(("plain",)).get_content()


def html_of(message):
    return message.get_body(("html",)).get_content()


def verified(user, email):
    user = db.session.get(User, user.id)
    user.email, user.email_verified_at = email, utcnow()
    db.session.commit()
    return user


def two_minutes_later():
    """As if the wait between one verification link and the next had passed."""
    db.session.execute(db.update(OutboxMessage).values(created_at=utcnow() - timedelta(hours=1)))
    db.session.commit()


def test_an_address_is_verified_by_a_link_sent_to_it(inbox, client, auth, member):
    auth.login(member)
    client.post("/account", data={"display_name": "Hoa", "email": "hoa@xutra.test", "bio": ""})
    (message,) = inbox.to("hoa@xutra.test")
    assert message["Subject"] == "Xác minh địa chỉ email của bạn"
    assert not db.session.get(User, member.id).email_verified
    assert db.session.get(User, member.id).email is None  # not before the link is clicked
    path = LINK.search(text_of(message)).group(1)
    assert path.startswith("/email/verify/")
    auth.logout()  # the link works on a phone where the member is not logged in
    page = client.get(path)
    assert page.status_code == 200 and "Đã xác minh" in page.get_data(as_text=True)
    assert db.session.get(User, member.id).email_verified
    # A forged or stale link gets a clear page, not a 500.
    assert client.get(path[:-3] + "abc").status_code == 404
    # A new address is the account's only once its own link is clicked.
    auth.login(member)
    two_minutes_later()
    client.post("/account", data={"display_name": "Hoa", "email": "hoa2@xutra.test", "bio": ""})
    assert db.session.get(User, member.id).email == "hoa@xutra.test"
    (message,) = inbox.to("hoa2@xutra.test")
    new_path = LINK.search(text_of(message)).group(1)
    assert client.get(new_path).status_code == 200
    user = db.session.get(User, member.id)
    assert user.email == "hoa2@xutra.test" and user.email_verified
    assert client.get(path).status_code == 404  # the old link was for the old address


def test_an_answer_sends_the_asker_an_instant_notice_with_one_click_unsubscribe(
    inbox, client, member, other_member, thread
):
    verified(member, "hoa@xutra.test")
    answer = posts.post_answer(other_member, thread, "Bạn thêm vai trò và ví dụ cụ thể nhé.")
    (message,) = inbox.to("hoa@xutra.test")
    assert message["Subject"] == f"Câu trả lời mới: {thread.title}"
    assert message["From"] == "Xứ Trà Hỏi Đáp <hoidap@xutra.test>"
    text, html = text_of(message), html_of(message)
    assert "Câu hỏi của bạn vừa có câu trả lời mới" in text
    assert "Bạn thêm vai trò và ví dụ cụ thể nhé." in text and "vai trò" in html
    assert f"/q/{thread.id}/{thread.slug}#post-{answer.id}" in text
    # No tracking: no images, every link straight to the forum.
    assert "<img" not in html
    assert all(h.startswith("http://127.0.0.1:5000/") for h in re.findall(r'href="([^"]+)"', html))
    # RFC 8058 one-click unsubscribe: the mail program POSTs to the header's URL, no login.
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message["List-Unsubscribe"].strip("<>")
    assert url in text
    path = LINK.search(url).group(1)
    assert client.get(path).status_code == 200  # a page with a button, for a person
    assert db.session.get(User, member.id).email_instant  # opening it changes nothing
    response = client.post(path, data={"List-Unsubscribe": "One-Click"}, csrf=False)
    assert response.status_code == 200
    assert not db.session.get(User, member.id).email_instant
    posts.post_answer(other_member, thread, "Thêm một cách nữa: nói rõ bạn là ai.")
    assert len(inbox.to("hoa@xutra.test")) == 1


def test_followers_of_a_thread_hear_of_new_answers_but_not_of_their_own(
    inbox, client, auth, member, other_member, make_user, thread
):
    follower = verified(make_user("nguoi_theo_doi"), "theodoi@xutra.test")
    verified(other_member, "minh@xutra.test")
    auth.login(follower)
    client.post(f"/follow/q/{thread.id}")
    assert subscriptions.is_following(follower, thread=thread)
    posts.post_answer(other_member, thread, "Bạn thêm vai trò và ví dụ cụ thể nhé.")
    (message,) = inbox.to("theodoi@xutra.test")
    assert "Câu hỏi bạn theo dõi vừa có câu trả lời mới" in text_of(message)
    assert inbox.to("minh@xutra.test") == []  # the answer's author is not told of it
    assert inbox.to(None) == []


def test_unverified_addresses_and_unset_mail_get_nothing(app, member, other_member, thread):
    member = db.session.get(User, member.id)
    member.email = "hoa@xutra.test"
    db.session.commit()
    posts.post_answer(other_member, thread, "Bạn thêm vai trò và ví dụ cụ thể nhé.")
    assert OutboxMessage.query.count() == 0  # MAIL_SERVER unset: nothing is queued or sent
    result = app.test_cli_runner().invoke(args=["mail", "digest"])
    assert result.exit_code != 0 and "MAIL_SERVER is not set" in result.output


def test_the_weekly_digest_brings_the_best_new_threads_of_followed_tags(
    app, inbox, client, auth, member, other_member, make_user, make_thread
):
    reader = verified(make_user("nguoi_doc"), "doc@xutra.test")
    voters = [make_user(f"nguoi_bau_{i}") for i in range(3)]
    best = make_thread(member, title="Viết prompt để ChatGPT tóm tắt biên bản họp", tags="chatgpt")
    good = make_thread(other_member, title="ChatGPT có đọc được ảnh chụp hóa đơn không?",
                       tags="chatgpt")  # fmt: skip
    old = make_thread(member, title="Cách đăng ký tài khoản ChatGPT miễn phí", tags="chatgpt")
    other_tag = make_thread(member, title="Zalo AI nằm ở đâu trong ứng dụng?", tags="zalo")
    for voter in voters:
        votes.vote(voter, best.question, 1)
    votes.vote(voters[0], good.question, 1)
    db.session.get(Thread, old.id).created_at = utcnow() - timedelta(days=10)
    db.session.commit()
    auth.login(reader)
    client.post("/follow/tags/chatgpt")
    client.post("/account/email", data={"instant": "1", "digest": "1"})
    assert db.session.get(User, reader.id).email_digest

    result = app.test_cli_runner().invoke(args=["mail", "digest"])
    assert result.exit_code == 0, result.output
    assert "digests queued 1; sent 1, failed 0" in result.output
    (message,) = inbox.to("doc@xutra.test")
    text = text_of(message)
    assert best.title in text and good.title in text
    assert text.index(best.title) < text.index(good.title)  # most votes first
    assert old.title not in text and other_tag.title not in text
    assert message["Subject"] == "Tuần này ở Xứ Trà Hỏi Đáp: 2 câu hỏi hay trong thẻ bạn theo dõi"
    # Once a week: running it again sends nothing new.
    app.test_cli_runner().invoke(args=["mail", "digest"])
    assert len(inbox.to("doc@xutra.test")) == 1
    # Its unsubscribe link turns off the digest only, without logging in.
    auth.logout()
    path = LINK.search(message["List-Unsubscribe"].strip("<>")).group(1)
    client.post(path, csrf=False)
    reader = db.session.get(User, reader.id)
    assert not reader.email_digest and reader.email_instant
    assert tag_by_slug("chatgpt") in subscriptions.followed_tags(reader)


def test_a_failed_send_is_kept_and_goes_out_on_the_next_try(
    app, inbox, member, other_member, thread
):
    verified(member, "hoa@xutra.test")
    working_port = app.config["MAIL_PORT"]
    app.config.update(MAIL_PORT=free_port(), MAIL_RETRY_MINUTES=[0])  # nobody listens there
    posts.post_answer(other_member, thread, "Bạn thêm vai trò và ví dụ cụ thể nhé.")
    (row,) = OutboxMessage.query.all()
    assert row.sent_at is None and row.attempts == 1 and "Error" in row.last_error
    assert inbox.messages == []
    app.config["MAIL_PORT"] = working_port  # the server is back
    result = app.test_cli_runner().invoke(args=["mail", "send"])
    assert "sent 1, failed 0" in result.output and "waiting 0" in result.output
    (message,) = inbox.to("hoa@xutra.test")
    assert thread.title in message["Subject"]
    row = db.session.get(OutboxMessage, row.id)
    assert row.sent_at is not None and row.attempts == 2
    # Sent once: another run sends nothing again.
    app.test_cli_runner().invoke(args=["mail", "send"])
    assert len(inbox.messages) == 1


def test_a_forged_unsubscribe_link_gets_a_clear_page(client):
    response = client.post("/unsubscribe/not-a-real-token", csrf=False)
    assert response.status_code == 404
    assert "Liên kết hủy nhận email không đúng" in response.get_data(as_text=True)


def test_the_email_page_shows_choices_and_follows(client, auth, member, thread):
    auth.login(member)
    client.post("/follow/tags/chatgpt")
    page = client.get("/account/email").get_data(as_text=True)
    assert "Bản tin hằng tuần" in page and "chatgpt" in page.lower()
    assert "chưa được cấu hình để gửi email" in page


def test_a_held_answer_is_announced_only_once_a_moderator_approves_it(
    inbox, member, moderator, make_user, thread
):
    verified(member, "hoa@xutra.test")
    held = posts.post_answer(make_user("nguoi_noi_nang"), thread, RUDE)
    assert held.status == "pending" and inbox.messages == []
    review.approve(moderator, ReviewCase.query.filter_by(post_id=held.id).one())
    (message,) = inbox.to("hoa@xutra.test")
    assert thread.title in message["Subject"]


def test_the_account_page_does_not_tell_whose_address_it_is(
    inbox, client, auth, member, other_member
):
    """Typing an address that has an account here gets the same answer as any other address;
    the address's owner is told someone tried, and nothing of theirs changes (as Discourse's
    hide_email_address_taken and django-allauth's prevent-enumeration do)."""
    verified(other_member, "minh@xutra.test")
    auth.login(member)
    answers = []
    for address in ("minh@xutra.test", "chua-ai-dung@xutra.test"):
        two_minutes_later()
        response = client.post(
            "/account", data={"display_name": "Hoa", "email": address, "bio": ""},
            follow_redirects=True,
        )  # fmt: skip
        answers.append((response.status_code, response.text.replace(address, "ADDRESS")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200 and "Đã gửi liên kết xác nhận tới ADDRESS" in answers[0][1]
    assert "đã được dùng" not in answers[0][1]
    (notice,) = inbox.to("minh@xutra.test")
    assert notice["Subject"] == "Có người muốn dùng địa chỉ email của bạn"
    assert "vẫn thuộc tài khoản minh_thanh_vien" in text_of(notice)
    assert "/email/verify/" not in text_of(notice)  # nothing to click that would move it
    assert db.session.get(User, other_member.id).email == "minh@xutra.test"
    assert db.session.get(User, member.id).email is None


def test_without_mail_an_address_cannot_be_changed_and_nothing_is_revealed(
    client, auth, member, other_member
):
    verified(other_member, "minh@xutra.test")
    auth.login(member)
    pages = []
    for address in ("minh@xutra.test", "chua-ai-dung@xutra.test"):
        response = client.post(
            "/account", data={"display_name": "Hoa", "email": address, "bio": ""},
            follow_redirects=True,
        )  # fmt: skip
        pages.append((response.status_code, response.text.replace(address, "ADDRESS")))
    assert pages[0] == pages[1]
    assert "chưa xác nhận được địa chỉ mới" in pages[0][1]
    assert db.session.get(User, member.id).display_name == "Hoa"  # the rest is saved
