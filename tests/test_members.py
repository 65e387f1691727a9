"""What members do beyond asking and answering: duplicates, saved posts, @mentions, their own
data (export, account deletion)."""

import io
import json
import zipfile
from dataclasses import replace as copy

import pytest
from sqlalchemy import inspect, select, text

from forum.extensions import db
from forum.models import (
    DuplicateVote,
    ModerationEvent,
    Notification,
    OutboxMessage,
    Post,
    ReviewCase,
    SavedPost,
    User,
    utcnow,
)
from forum.seeding import seed
from forum.services import accounts, duplicates, member_data, mentions, posts, review, saved
from forum.services.errors import PermissionDenied
from forum.services.originals import prefer_originals
from search.documents import Hit
from tests.conftest import PASSWORD


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def page(client, thread):
    return client.get(f"/q/{thread.id}/{thread.slug}").get_data(as_text=True)


@pytest.fixture
def original(member, other_member, make_thread):
    """An answered question with an accepted answer."""
    thread = make_thread(
        member,
        title="Cách viết prompt để ChatGPT tóm tắt tài liệu dài",
        body="Tài liệu 30 trang, ChatGPT tóm tắt bị thiếu ý. Nên viết prompt thế nào?",
    )
    answer = posts.post_answer(
        other_member, thread, "Chia tài liệu thành từng phần rồi nhờ tóm tắt từng phần một."
    )
    posts.accept_answer(member, answer)
    return thread


@pytest.fixture
def duplicate(make_user, make_thread):
    asker = make_user("nguoi_hoi_lai")
    return make_thread(
        asker,
        title="ChatGPT tóm tắt file dài bị sót ý thì làm sao?",
        body="File word khá dài, nhờ ChatGPT tóm tắt thì nó bỏ sót nhiều đoạn quan trọng.",
    )


@pytest.fixture
def voters(app, make_user):
    """Members with enough reputation to vote to close."""
    level = app.config["DUPLICATE_VOTE_REPUTATION"]
    made = []
    for n in range(app.config["DUPLICATE_VOTES_TO_CLOSE"]):
        user = make_user(f"nguoi_bo_phieu_{n}")
        user.reputation = level
        made.append(user)
    db.session.commit()
    return made


# Duplicates -------------------------------------------------------------------------------------


def test_a_moderator_closes_a_duplicate_which_then_points_to_the_original_answer(
    client, auth, moderator, original, duplicate
):
    auth.login(moderator)
    response = client.post(f"/q/{duplicate.id}/duplicate", data={"of": str(original.id)})
    assert response.status_code == 302
    assert duplicate.duplicate_of_id == original.id
    html = page(client, duplicate)
    box = html[html.index('id="duplicate"'):]
    assert original.title in box and "Chia tài liệu thành từng phần" in box
    assert "Xem câu trả lời được chọn" in box
    event = ModerationEvent.query.filter_by(action="duplicate").one()
    assert event.actor_id == moderator.id and event.data["original_id"] == original.id


def test_the_asker_is_told_kindly_where_the_answer_is(client, auth, moderator, original, duplicate):
    duplicates.close(moderator, duplicate, original.id)
    note = Notification.query.filter_by(user_id=duplicate.author_id, kind="duplicate").one()
    assert note.data["original_id"] == original.id
    auth.login(duplicate.author)
    listing = client.get("/notifications").get_data(as_text=True)
    assert "đã có câu trả lời ở một câu hỏi khác" in listing and original.title in listing


def test_members_vote_and_enough_votes_close(app, client, voters, original, duplicate):
    *first, last = voters
    for voter in first:
        outcome = duplicates.close(voter, duplicate, original.id)
        assert not outcome.closed and duplicate.duplicate_of_id is None
    assert outcome.votes == len(first) and outcome.needed == len(voters)
    outcome = duplicates.close(last, duplicate, original.id)
    assert outcome.closed and duplicate.duplicate_of_id == original.id
    assert DuplicateVote.query.count() == 0  # the votes did their job
    note = Notification.query.filter_by(kind="duplicate").one()
    assert note.actor_id is None  # closed by the community, not by one named person


def test_members_below_the_level_and_suspended_members_cannot_vote(
    app, member, other_member, voters, original, duplicate
):
    with pytest.raises(PermissionDenied):
        duplicates.close(other_member, duplicate, original.id)  # reputation 1
    voter = voters[0]
    voter.suspended_until = utcnow().replace(year=9999)
    db.session.commit()
    with pytest.raises(PermissionDenied):
        duplicates.close(voter, duplicate, original.id)
    assert DuplicateVote.query.count() == 0


def test_bad_originals_are_refused_with_a_message(client, auth, moderator, duplicate, original):
    auth.login(moderator)
    for typed, status in (("", 422), ("abc", 422), (str(duplicate.id), 422), ("99999", 404)):
        response = client.post(f"/q/{duplicate.id}/duplicate", data={"of_link": typed})
        assert response.status_code == status, typed
        html = response.get_data(as_text=True)
        assert 'role="alert"' in html or 'class="field-error"' in html
    # A link to the original works as well as its number.
    response = client.post(
        f"/q/{duplicate.id}/duplicate", data={"of_link": f"https://x.vn/q/{original.id}/abc"}
    )
    assert response.status_code == 302 and duplicate.duplicate_of_id == original.id


def test_a_duplicate_of_a_duplicate_points_to_the_first_original(
    moderator, original, duplicate, make_thread, member
):
    third = make_thread(member, title="Tóm tắt tài liệu dài bằng ChatGPT bị thiếu")
    duplicates.close(moderator, duplicate, original.id)
    duplicates.close(moderator, third, duplicate.id)
    assert third.duplicate_of_id == original.id


def test_the_api_closes_for_moderators_and_counts_votes_for_members(
    client, moderator, voters, original, duplicate
):
    voter_token = accounts.create_api_token(voters[0])
    response = client.post(
        f"/api/v1/questions/{duplicate.id}/duplicate",
        json={"of": original.id},
        headers=bearer(voter_token),
    )
    assert response.status_code == 202
    assert response.get_json() | {} == {
        "id": duplicate.id, "duplicate_of": None, "closed": False, "votes": 1,
        "votes_needed": len(voters),
    }
    token = accounts.create_api_token(moderator)
    bad = client.post(
        f"/api/v1/questions/{duplicate.id}/duplicate", json={"of": "x"}, headers=bearer(token)
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["message"]
    response = client.post(
        f"/api/v1/questions/{duplicate.id}/duplicate", json={"of": original.id},
        headers=bearer(token),
    )
    assert response.status_code == 200 and response.get_json()["closed"] is True
    detail = client.get(f"/api/v1/questions/{duplicate.id}").get_json()
    assert detail["duplicate_of"] == original.id
    again = client.post(
        f"/api/v1/questions/{duplicate.id}/duplicate", json={"of": original.id},
        headers=bearer(token),
    )
    assert again.status_code == 409


def test_a_duplicate_stays_in_search_and_its_hits_lead_to_the_original(
    client, moderator, original, duplicate
):
    duplicates.close(moderator, duplicate, original.id)
    # The duplicate's own wording ("file word", "bỏ sót") finds the original.
    body = client.get("/api/v1/search?q=file+word+b%E1%BB%8F+s%C3%B3t&mode=keyword").get_json()
    assert [hit["question_id"] for hit in body["results"]] == [original.id]
    assert body["results"][0]["title"] == original.title


def test_similar_questions_and_suggestions_prefer_the_original(
    client, moderator, original, duplicate, member
):
    duplicates.close(moderator, duplicate, original.id)
    body = client.get(
        "/api/v1/questions/similar?text=ChatGPT+t%C3%B3m+t%E1%BA%AFt+file+word+d%C3%A0i+b%E1%BB%8F"
        "+s%C3%B3t+nhi%E1%BB%81u+%C4%91o%E1%BA%A1n"
    ).get_json()
    ids = [q["id"] for q in body["questions"]]
    assert duplicate.id not in ids and ids[0] == original.id
    assist = client.post(
        "/api/v1/questions/assist",
        json={"title": "ChatGPT tóm tắt file word dài bỏ sót nhiều đoạn", "body": ""},
    ).get_json()
    assert duplicate.id not in [q["id"] for q in assist["similar"]]
    assert original.id in [answer["question_id"] for answer in assist["answers"]]


def test_merging_moves_every_answer_and_comment_with_its_author(
    client, auth, moderator, original, duplicate, other_member, make_user
):
    helper = make_user("nguoi_giup")
    answer = posts.post_answer(helper, duplicate, "Dùng Claude vì cửa sổ ngữ cảnh lớn hơn.")
    comment = posts.post_comment(other_member, answer, "Cảm ơn, mình thử rồi, được.")
    posts.accept_answer(duplicate.author, answer)
    duplicates.close(moderator, duplicate, original.id)
    auth.login(moderator)
    response = client.post(f"/q/{duplicate.id}/merge")
    assert response.status_code == 302
    assert (answer.thread_id, comment.thread_id) == (original.id, original.id)
    assert (answer.author_id, comment.author_id) == (helper.id, other_member.id)
    assert duplicate.accepted_answer_id is None and duplicate.answer_count == 0
    assert original.answer_count == 2
    html = page(client, original)
    assert "Dùng Claude vì cửa sổ ngữ cảnh" in html and "Cảm ơn, mình thử rồi" in html
    assert "nguoi_giup" in html
    # The duplicate stays as a signpost.
    assert client.get(f"/q/{duplicate.id}/{duplicate.slug}").status_code == 200


def test_only_moderators_merge(client, auth, original, duplicate, moderator, other_member):
    duplicates.close(moderator, duplicate, original.id)
    auth.login(other_member)
    assert client.post(f"/q/{duplicate.id}/merge").status_code == 403


# Saved posts ------------------------------------------------------------------------------------


def test_saving_a_question_and_an_answer_and_the_saved_page(
    client, auth, other_member, original
):
    answer = db.session.get(Post, original.accepted_answer_id)
    auth.login(other_member)
    client.post(f"/p/{original.question.id}/save", data={"action": "save"})
    client.post(f"/p/{answer.id}/save", data={"action": "save"})
    client.post(f"/p/{answer.id}/save", data={"action": "save"})  # twice: saved once
    assert SavedPost.query.count() == 2
    listing = client.get("/saved").get_data(as_text=True)
    assert listing.count(original.title) == 2 and "Chia tài liệu" in listing
    assert 'aria-pressed="true"' in page(client, original)
    client.post(f"/p/{answer.id}/save", data={"action": "unsave", "back": "saved"})
    assert [row.post_id for row in saved.saved_posts(other_member)] == [original.question.id]


def test_saved_posts_in_the_api(client, other_member, original):
    token = accounts.create_api_token(other_member)
    question_id = original.question.id
    response = client.put(f"/api/v1/posts/{question_id}/saved", headers=bearer(token))
    assert response.status_code == 200 and response.get_json()["saved"] is True
    listed = client.get("/api/v1/saved", headers=bearer(token)).get_json()["saved"]
    assert [row["post_id"] for row in listed] == [question_id]
    removed = client.delete(f"/api/v1/posts/{question_id}/saved", headers=bearer(token))
    assert removed.status_code == 200 and removed.get_json()["saved"] is False
    assert client.get("/api/v1/saved", headers=bearer(token)).get_json()["saved"] == []
    assert client.put("/api/v1/posts/99999/saved", headers=bearer(token)).status_code == 404
    assert client.get("/api/v1/saved").status_code == 401


def test_a_suspended_member_cannot_save(client, other_member, original):
    other_member.suspended_until = utcnow().replace(year=9999)
    db.session.commit()
    token = accounts.create_api_token(other_member)
    response = client.put(f"/api/v1/posts/{original.question.id}/saved", headers=bearer(token))
    assert response.status_code == 403


def test_the_header_links_to_saved_posts_and_visitors_see_register(client, auth, member):
    assert 'href="/register"' in client.get("/").get_data(as_text=True).split("</header>")[0]
    auth.login(member)
    assert 'href="/saved"' in client.get("/").get_data(as_text=True).split("</header>")[0]


# Mentions ---------------------------------------------------------------------------------------


def test_a_mention_notifies_once_with_a_link_to_the_post(
    client, member, other_member, thread, make_user
):
    answer = posts.post_answer(
        member, thread, f"Hỏi thêm @{other_member.username} nhé, bạn ấy rành vụ này."
    )
    posts.edit_post(member, answer, answer.body_md + " Cảm ơn @" + other_member.username)
    notes = Notification.query.filter_by(kind="mention").all()
    assert [(n.user_id, n.post_id) for n in notes] == [(other_member.id, answer.id)]
    token = accounts.create_api_token(other_member)
    listed = client.get("/api/v1/notifications", headers=bearer(token)).get_json()
    mention = next(n for n in listed["notifications"] if n["kind"] == "mention")
    assert mention["post_id"] == answer.id and mention["url"].endswith(f"#post-{answer.id}")
    assert mention["actor"] == member.username


def test_mentions_are_capped_per_post_and_nobody_is_told_of_their_own(
    app, member, thread, make_user
):
    cap = app.config["MENTIONS_PER_POST"]
    names = [make_user(f"ban_so_{n}").username for n in range(cap + 2)]
    body = "Gọi mọi người: " + " ".join(f"@{name}" for name in names) + f" @{member.username}"
    posts.post_comment(member, thread.question, body)
    told = {n.user_id for n in Notification.query.filter_by(kind="mention")}
    assert len(told) == cap and member.id not in told


def test_an_email_address_is_not_a_mention(app, member, other_member, thread):
    assert mentions.mentioned_names(f"Gửi về lan@{other_member.username}.vn nhé") == []


def test_a_held_post_notifies_only_when_approved(
    app, member, other_member, moderator, thread
):
    rude = f"@{other_member.username} hỏi ngu vcl, đồ óc chó, tự đi mà tìm hiểu."
    answer = posts.post_answer(member, thread, rude)
    assert answer.status == "pending"
    assert Notification.query.filter_by(kind="mention").count() == 0
    review.approve(moderator, ReviewCase.query.filter_by(post_id=answer.id).one())
    assert Notification.query.filter_by(kind="mention", user_id=other_member.id).count() == 1


def test_a_mention_is_emailed_to_members_who_chose_instant_emails(
    app, member, other_member, thread
):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=9)  # nothing listens: stays queued
    other_member.email = "minh@example.com"
    other_member.email_verified_at = utcnow()
    db.session.commit()
    answer = posts.post_answer(member, thread, f"@{other_member.username} xem giúp với nhé bạn.")
    message = OutboxMessage.query.filter_by(key=f"mention:{answer.id}:{other_member.id}").one()
    assert message.to_address == "minh@example.com" and member.name in message.body_text


def test_username_completion_for_mentions(client, member, other_member):
    found = client.get("/users/complete?q=@minh").get_json()["users"]
    assert [user["username"] for user in found] == [other_member.username]
    assert client.get("/users/complete?q=%25").get_json()["users"] == []


# Own data ---------------------------------------------------------------------------------------


@pytest.fixture
def leaving(make_user, thread, original):
    """A member with a question, an answer and a comment, about to leave."""
    user = make_user(
        "nguoi_sap_roi", email="roi.nhom@example.com", display_name="Trần Thị Rời Nhóm"
    )
    user.bio = "Giáo viên ở Phổ Yên"
    db.session.commit()
    own = posts.ask_question(
        user, "Prompt cho giáo án lớp ba thế nào?", "Mình cần mẫu prompt soạn giáo án.", "giáo án"
    )
    answer = posts.post_answer(user, thread, "Bạn thử nêu rõ vai trò và đầu ra mong muốn.")
    posts.post_comment(user, original.question, "Câu hỏi hay, mình cũng đang cần.")
    saved.save(user, original.question)
    accounts.create_api_token(user)
    return user, own, answer


def test_an_export_holds_every_post_the_member_wrote(client, leaving):
    user, _own, answer = leaving
    posts.delete_post(user, answer)  # deleted posts are theirs too
    token = accounts.create_api_token(user)
    data = client.get("/api/v1/me/export", headers=bearer(token)).get_json()
    written = Post.query.filter_by(author_id=user.id).count()
    assert written == 3 and len(data["posts"]) == written
    assert data["profile"]["email"] == "roi.nhom@example.com"
    assert {post["type"] for post in data["posts"]} == {"question", "answer", "comment"}


def test_the_export_zip_is_made_by_a_job_and_downloaded_from_the_account_page(
    client, auth, leaving, other_member
):
    user, _own, _answer = leaving
    auth.login(user)
    client.post("/account/data/export")
    html = client.get("/account/data").get_data(as_text=True)
    link = html.split('href="/account/data/export/')[1].split('"')[0]
    response = client.get(f"/account/data/export/{link}")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    response.close()  # the file sent
    data = json.loads(archive.read("data.json"))
    assert len(data["posts"]) == Post.query.filter_by(author_id=user.id).count()
    readable = archive.read("bai-viet.html").decode()
    assert "Prompt cho giáo án lớp ba" in readable and "nêu rõ vai trò" in readable
    auth.logout()
    auth.login(other_member)
    assert client.get(f"/account/data/export/{link}").status_code == 404


def _rows_mentioning(values):
    """Every (table, row) of the database holding one of these strings, in any column."""
    found = []
    connection = db.session.connection()
    for table in inspect(connection).get_table_names():
        for row in connection.execute(text(f'SELECT * FROM "{table}"')):
            cells = " ".join(str(cell) for cell in row).lower()
            if any(value.lower() in cells for value in values):
                found.append((table, row))
    return found


def test_deleting_an_account_leaves_no_personal_data_and_keeps_the_posts(client, auth, leaving):
    user, own, answer = leaving
    personal = [user.username, user.email, user.display_name, user.bio]
    assert _rows_mentioning(personal)  # the scan does find them while the account exists
    auth.login(user)
    wrong = client.post("/account/delete", data={"password": "sai-mat-khau"})
    assert wrong.status_code == 422 and "Mật khẩu không đúng" in wrong.get_data(as_text=True)
    response = client.post("/account/delete", data={"password": PASSWORD})
    assert response.status_code == 302
    db.session.expire_all()
    assert _rows_mentioning(personal) == []
    html = page(client, own)
    assert "Mình cần mẫu prompt soạn giáo án" in html and "thành viên đã rời nhóm" in html
    assert client.get("/account").status_code == 302  # logged out
    assert accounts.authenticate(f"deleted.{user.id}", PASSWORD) is None
    assert db.session.get(User, user.id).deleted_at is not None
    assert "thành viên đã rời nhóm" not in client.get("/users").get_data(as_text=True)


def test_deleting_an_account_with_its_posts_erases_their_text(client, leaving, moderator):
    user, own, answer = leaving
    token = accounts.create_api_token(user)
    response = client.delete(
        "/api/v1/me", json={"password": PASSWORD, "remove_posts": True}, headers=bearer(token)
    )
    assert response.status_code == 200
    texts = db.session.scalars(select(Post.body_md).where(Post.author_id == user.id)).all()
    assert texts and set(texts) == {""}
    assert _rows_mentioning(["nêu rõ vai trò", "mẫu prompt soạn giáo án", "giáo án lớp ba"]) == []
    assert client.get("/api/v1/me/export", headers=bearer(token)).status_code == 401
    assert ModerationEvent.query.filter_by(action="delete_account").one().subject_id == user.id


def test_the_api_refuses_a_wrong_password(client, leaving):
    user, _own, _answer = leaving
    token = accounts.create_api_token(user)
    response = client.delete("/api/v1/me", json={"password": "sai"}, headers=bearer(token))
    assert response.status_code == 422
    assert client.delete("/api/v1/me", json={}, headers=bearer(token)).status_code == 422
    assert db.session.get(User, user.id).deleted_at is None


def test_moderators_cli_exports_and_deletes(app, leaving):
    user, _own, _answer = leaving
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "export", user.username])
    assert result.exit_code == 0
    assert len(json.loads(result.output)["posts"]) == 3
    result = runner.invoke(args=["users", "delete", user.username, "--remove-posts", "--yes"])
    assert result.exit_code == 0, result.output
    assert db.session.get(User, user.id).email is None
    assert runner.invoke(args=["users", "delete", "khong_co_ai", "--yes"]).exit_code != 0


def test_member_data_module_is_used_for_deletion(leaving):
    user, _own, _answer = leaving
    member_data.delete_account(user)
    member_data.delete_account(user)  # twice: nothing more happens
    assert ModerationEvent.query.filter_by(action="delete_account").count() == 1


def test_a_duplicate_takes_no_new_answers(client, auth, moderator, original, duplicate, member):
    duplicates.close(moderator, duplicate, original.id)
    auth.login(member)
    html = page(client, duplicate)
    assert 'id="answer-form"' not in html and "hãy trả lời ở" in html
    response = client.post(f"/q/{duplicate.id}/answer", data={"body": "Một câu trả lời muộn."})
    assert response.status_code == 403 and "Một câu trả lời muộn." in response.get_data(
        as_text=True
    )


# Snags ------------------------------------------------------------------------------------------


def test_an_answer_with_a_phone_number_gets_the_check_step_with_the_warning_first(
    client, auth, thread, other_member
):
    auth.login(other_member)
    body = "Bạn gọi số 0987654321 của mình, mình chỉ cho cách cài nhé."
    response = client.post(f"/q/{thread.id}/answer", data={"body": body})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Xem lại trước khi đăng" in html
    warning, textarea = html.index('id="privacy-warning"'), html.index('id="answer-body"')
    assert warning < textarea and "chưa được đăng" in html
    assert body in html[textarea:] and 'name="personal_data_ok"' in html
    assert Post.query.filter_by(post_type="answer").count() == 0
    client.post(
        f"/q/{thread.id}/answer", data={"body": body, "confirmed": "1", "personal_data_ok": "1"}
    )
    assert Post.query.filter_by(post_type="answer").count() == 1


def test_seeded_members_joined_before_their_first_post_not_minutes_ago(app):
    seed()
    first_post = dict(
        db.session.execute(
            select(Post.author_id, db.func.min(Post.created_at)).group_by(Post.author_id)
        ).all()
    )
    seeded = User.query.filter(User.is_placeholder.is_(False)).all()
    assert len(seeded) >= 20
    for user in seeded:
        assert (utcnow() - user.created_at).days > 30, user.username
        if user.id in first_post:
            assert user.created_at < first_post[user.id].replace(tzinfo=user.created_at.tzinfo)


def test_a_member_without_the_reputation_is_told_why(client, auth, other_member, duplicate,
                                                      original):
    auth.login(other_member)
    assert client.get(f"/q/{duplicate.id}/duplicate").status_code == 403
    response = client.post(f"/q/{duplicate.id}/duplicate", data={"of": str(original.id)})
    assert response.status_code == 403 and "điểm uy tín" in response.get_data(as_text=True)


def test_one_export_file_is_kept(client, auth, leaving):
    user, _own, _answer = leaving
    member_data.request_export(user)
    member_data.request_export(user)
    exports = list(member_data.exports_dir().glob("*.zip"))
    assert len(exports) == 1 and member_data.latest_export(user).status == "ready"


def test_originals_replace_duplicate_hits_and_leave_other_hits_alone(
    app, moderator, original, duplicate, thread
):
    duplicates.close(moderator, duplicate, original.id)
    base = Hit("q:1", "question", thread.id, None, "t", "t", "", 1.0, (), utcnow(), 0, False, 0)
    hits = [
        copy(base, question_id=duplicate.id, score=0.9),
        copy(base, question_id=thread.id, score=0.8),
        copy(base, question_id=thread.id, answer_id=5, kind="answer", score=0.7),
        copy(base, question_id=original.id, score=0.6),  # stood for by the duplicate's hit
        copy(base, question_id=original.id, answer_id=7, kind="answer", score=0.5),
    ]
    assert [(h.question_id, h.answer_id, h.score) for h in prefer_originals(hits)] == [
        (original.id, None, 0.9),
        (thread.id, None, 0.8),
        (thread.id, 5, 0.7),
        (original.id, 7, 0.5),
    ]
