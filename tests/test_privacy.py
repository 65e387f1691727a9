"""Personal data (phone, CCCD, address) is never published by accident, and what an edit took
out is not left for everyone to read in the history."""

import pytest

from forum.models import Post, Revision, Thread
from forum.services import accounts, posts
from forum.services.errors import PermissionDenied, PersonalData, ValidationError

PHONE_BODY = "Em bị khóa Zalo rồi, ai biết cách mở thì gọi em số 0912 345 678 với ạ."
QUESTION = {"title": "Bị khóa Zalo thì mở lại thế nào?", "body": PHONE_BODY, "tags": "zalo"}


def test_a_question_with_a_phone_number_waits_even_when_the_page_script_confirmed(
    client, auth, member
):
    auth.login(member)
    # The script sets confirmed=1 once the member has seen the assistant; that is not a yes
    # to publishing a phone number.
    response = client.post("/ask", data={**QUESTION, "confirmed": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and Thread.query.count() == 0
    assert page.index('id="privacy-warning"') < page.index("<h2")  # first, above the rest
    assert "số điện thoại" in page and 'name="personal_data_ok"' in page
    assert "0912 345 678" in page  # the text is kept, to be edited


def test_the_check_step_without_javascript_shows_the_warning_first(client, auth, member):
    auth.login(member)
    page = client.post("/ask", data=QUESTION).get_data(as_text=True)
    assert 'id="privacy-warning"' in page and Thread.query.count() == 0


def test_confirming_or_editing_out_the_number_publishes(client, auth, member):
    auth.login(member)
    client.post("/ask", data={**QUESTION, "confirmed": "1", "personal_data_ok": "1"})
    assert Thread.query.count() == 1
    edited = {**QUESTION, "title": "Bị khóa Zalo, mở lại ra sao?", "confirmed": "1",
              "body": "Em bị khóa Zalo rồi, ai biết cách mở lại thì chỉ em với ạ, em cảm ơn."}
    client.post("/ask", data=edited)
    assert Thread.query.count() == 2


@pytest.mark.parametrize(
    "text, kind",
    [("Số CCCD của em là 019283746512 ạ", "số CCCD"), ("Nhà em ở xóm 5 Tân Cương", "địa chỉ nhà")],
)
def test_id_numbers_and_addresses_are_personal_data_too(app, member, text, kind):
    with pytest.raises(PersonalData) as stopped:
        posts.ask_question(member, "Cho em hỏi về thủ tục này", text + " nhé mọi người.", "vneid")
    assert stopped.value.found == {"body": [kind]}


def test_hotlines_are_not_personal(app, member):
    posts.ask_question(
        member, "Tổng đài VNeID là số nào?", "Em gọi 1900 0368 mãi không ai nghe máy ạ.", "vneid"
    )


def test_answers_and_comments_wait_too_and_keep_their_text(client, auth, thread, other_member):
    auth.login(other_member)
    response = client.post(f"/q/{thread.id}/answer", data={"body": PHONE_BODY})
    assert response.status_code == 422 and PHONE_BODY in response.get_data(as_text=True)
    assert Post.query.filter_by(post_type="answer").count() == 0
    client.post(f"/q/{thread.id}/answer", data={"body": PHONE_BODY, "personal_data_ok": "1"})
    assert Post.query.filter_by(post_type="answer").count() == 1
    comment = client.post(f"/p/{thread.question.id}/comment", data={"body": "Gọi 0987654321"})
    page = comment.get_data(as_text=True)
    assert comment.status_code == 422 and "Gọi 0987654321" in page and "personal_data_ok" in page


def test_the_api_says_what_was_found_and_takes_an_explicit_yes(client, member):
    token = accounts.create_api_token(member)
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post("/api/v1/questions", json=QUESTION, headers=headers)
    error = response.get_json()["error"]
    assert response.status_code == 422 and error["code"] == "personal_data"
    assert "số điện thoại" in error["fields"]["body"][0]
    check = client.post("/api/v1/personal-data", json={"text": PHONE_BODY}).get_json()
    assert check["found"] == ["số điện thoại"] and check["message"]


def edited_thread(member):
    thread = posts.ask_question(
        member, "Cách cài Canva trên laptop cũ", PHONE_BODY, "canva", personal_data_ok=True
    )
    posts.edit_post(member, thread.question, "Em bị khóa Zalo rồi, ai biết cách mở chỉ em ạ.")
    return thread


def test_old_revisions_are_for_the_author_and_moderators_only(
    client, auth, member, other_member, moderator
):
    thread = edited_thread(member)
    history = f"/p/{thread.question.id}/history"
    assert client.get(history).status_code == 404
    assert "0912" not in client.get(f"/q/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert history not in client.get(f"/q/{thread.id}/{thread.slug}").get_data(as_text=True)
    auth.login(other_member)
    assert client.get(history).status_code == 404
    auth.logout()
    auth.login(member)
    assert "0912 345 678" in client.get(history).get_data(as_text=True)
    auth.logout()
    auth.login(moderator)
    assert "0912 345 678" in client.get(history).get_data(as_text=True)


def test_the_author_redacts_an_old_revision_for_good(client, auth, member):
    thread = edited_thread(member)
    auth.login(member)
    client.post(f"/p/{thread.question.id}/history/1/redact")
    first = Revision.query.filter_by(post_id=thread.question.id, number=1).one()
    assert first.body_md == "" and first.redacted_at is not None and first.redacted_by_id
    page = client.get(f"/p/{thread.question.id}/history").get_data(as_text=True)
    assert "0912" not in page and "đã được xóa" in page


def test_the_current_revision_is_changed_by_editing_not_redacting(app, member, other_member):
    thread = edited_thread(member)
    current = Revision.query.filter_by(post_id=thread.question.id, number=2).one()
    with pytest.raises(ValidationError):
        posts.redact_revision(member, current)
    first = Revision.query.filter_by(post_id=thread.question.id, number=1).one()
    with pytest.raises(PermissionDenied):
        posts.redact_revision(other_member, first)


def test_a_moderators_redaction_is_in_the_audit_log(app, member, moderator):
    from forum.models import ModerationEvent

    thread = edited_thread(member)
    first = Revision.query.filter_by(post_id=thread.question.id, number=1).one()
    posts.redact_revision(moderator, first)
    assert ModerationEvent.query.filter_by(action="redact").one().data == {"revision": 1}
