"""Moderation in the forum: hold for review, explain why, lose nothing; flags, the queue,
suspensions, appeals, the audit log and the moderators' feedback figures."""

import csv

import pytest

from forum.extensions import db
from forum.models import Flag, ModerationEvent, Notification, Post, ReviewCase, User
from forum.services import accounts, posts, review, screening
from moderation import Moderator

RUDE = "Hỏi ngu vcl, đồ óc chó, tự đi mà tìm hiểu."
SEVERE = "Địt mẹ mày, câm mồm đi."
CLEAN = "Bạn vào Cài đặt > Tài khoản > Bảo mật rồi bật xác thực hai lớp nhé."


@pytest.fixture
def rude_answer(thread, other_member):
    return posts.post_answer(other_member, thread, RUDE)


def page(client, thread):
    return client.get(f"/q/{thread.id}/{thread.slug}").get_data(as_text=True)


def test_a_clean_answer_is_published_and_logged(thread, other_member):
    answer = posts.post_answer(other_member, thread, CLEAN)
    assert answer.status == "published"
    assert ModerationEvent.query.filter_by(post_id=answer.id).one().action == "auto_allow"


def test_a_rude_answer_is_held_and_shown_only_to_its_author_and_moderators(
    app, client, auth, thread, rude_answer, other_member, member, moderator
):
    assert rude_answer.status == "pending"
    case = ReviewCase.query.one()
    assert case.source == "auto" and case.status == "open"
    assert RUDE not in page(client, thread)  # visitors
    auth.login(member)
    assert RUDE not in page(client, thread)  # the asker
    auth.logout()
    auth.login(other_member)
    own = page(client, thread)
    assert RUDE in own and "Đang chờ duyệt" in own and "xúc phạm" in own.lower()
    auth.logout()
    auth.login(moderator)
    assert RUDE in page(client, thread)


def test_held_posts_never_reach_search(client, rude_answer):
    body = client.get("/api/v1/search?q=óc chó tìm hiểu&mode=keyword").get_json()
    assert all(hit["answer_id"] != rude_answer.id for hit in body["results"])


def test_a_severe_slur_is_rejected_but_kept_for_its_author(client, auth, thread, other_member):
    answer = posts.post_answer(other_member, thread, SEVERE)
    assert answer.status == "rejected"
    assert db.session.get(Post, answer.id).body_md == SEVERE  # nothing is lost
    auth.login(other_member)
    assert "Bài bị từ chối" in page(client, thread)


def test_a_rejected_post_can_be_appealed_once(client, auth, thread, other_member):
    answer = posts.post_answer(other_member, thread, SEVERE)
    auth.login(other_member)
    assert "Kháng nghị" in page(client, thread)
    client.post(f"/p/{answer.id}/appeal", data={"note": "Tôi trích lời kẻ lừa đảo để cảnh báo."})
    assert ReviewCase.query.filter_by(source="appeal").count() == 1
    assert client.post(f"/p/{answer.id}/appeal", data={"note": "lần hai"}).status_code == 403
    assert "Kháng nghị (chỉ một lần)" not in page(client, thread)


def test_a_crashing_check_holds_the_post_for_review(app, thread, other_member, monkeypatch):
    class Broken:
        name = "broken"

        def run(self, post, context):
            raise RuntimeError("model file missing")

    monkeypatch.setattr(screening, "moderator", lambda: Moderator(checks=[Broken()]))
    answer = posts.post_answer(other_member, thread, CLEAN)
    assert answer.status == "pending"
    reasons = ReviewCase.query.one().verdict["reasons"]
    assert [r["code"] for r in reasons] == ["check_failed"]


def test_an_edit_goes_through_the_checks_again(thread, other_member, moderator):
    answer = posts.post_answer(other_member, thread, CLEAN)
    posts.edit_post(other_member, answer, RUDE)
    assert answer.status == "pending"
    posts.edit_post(other_member, answer, CLEAN + " Chúc bạn thành công.")
    assert answer.status == "published"
    assert ReviewCase.query.one().outcome == "cleared"


def test_a_moderators_edit_is_logged_with_before_and_after(thread, rude_answer, moderator):
    posts.edit_post(moderator, rude_answer, "Nội dung đã được điều hành viên sửa lại.")
    event = ModerationEvent.query.filter_by(action="edit").one()
    assert event.data["before"] == RUDE and event.data["after"].startswith("Nội dung đã")


# The queue ----------------------------------------------------------------------------------


def test_moderators_approve_from_the_queue_and_the_author_is_told(
    client, auth, thread, rude_answer, moderator, other_member
):
    auth.login(moderator)
    queue = client.get("/review").get_data(as_text=True)
    assert "<mark>" in queue  # the words the lexicon matched are highlighted
    case = ReviewCase.query.one()
    client.post(f"/review/{case.id}", data={"action": "approve"})
    assert db.session.get(Post, rude_answer.id).status == "published"
    note = Notification.query.filter_by(user_id=other_member.id, kind="moderation").one()
    assert note.data["outcome"] == "approved"
    auth.logout()
    auth.login(other_member)
    assert "đã được duyệt" in client.get("/notifications").get_data(as_text=True)
    assert ModerationEvent.query.filter_by(action="approve").one().actor_id == moderator.id


def test_rejecting_needs_a_reason_that_the_author_sees(
    client, auth, thread, rude_answer, moderator, other_member
):
    auth.login(moderator)
    case = ReviewCase.query.one()
    client.post(f"/review/{case.id}", data={"action": "reject", "note": "", "label": "offensive"})
    assert db.session.get(Post, rude_answer.id).status == "pending"
    client.post(
        f"/review/{case.id}",
        data={"action": "reject", "note": "Lời lẽ xúc phạm người hỏi", "label": "offensive"},
    )
    assert db.session.get(Post, rude_answer.id).status == "rejected"
    auth.logout()
    auth.login(other_member)
    assert "Lời lẽ xúc phạm người hỏi" in page(client, thread)


def test_queue_orders_by_severity_then_age(thread, other_member, make_user):
    rude = posts.post_answer(other_member, thread, RUDE)
    severe = posts.post_answer(make_user("ke_xau"), thread, SEVERE)
    assert [case.post_id for case in review.open_cases()] == [severe.id, rude.id]


def test_bulk_approve(client, auth, thread, moderator, other_member, make_user):
    posts.post_answer(other_member, thread, RUDE)
    posts.post_answer(make_user("nguoi_thu_ba"), thread, "Vcl, hỏi thế ai trả lời được.")
    auth.login(moderator)
    ids = [str(case.id) for case in ReviewCase.query.all()]
    client.post("/review/bulk", data={"action": "approve", "case": ids})
    assert ReviewCase.query.filter_by(status="open").count() == 0


def test_the_header_shows_moderators_how_many_items_wait(client, auth, rude_answer, moderator):
    auth.login(moderator)
    assert '<span class="badge mod">1</span>' in client.get("/").get_data(as_text=True)


# Flags -----------------------------------------------------------------------------------------


def test_flags_add_up_by_reputation_until_the_post_is_hidden(app, client, thread, make_user):
    answer = posts.post_answer(make_user("nguoi_ban_hang"), thread, CLEAN)
    flaggers = [make_user(f"thanh_vien_{n}") for n in range(3)]
    for n, flagger in enumerate(flaggers):
        hidden = review.flag(flagger, answer, "spam", "")
        assert hidden == (n == 2)
    assert answer.status == "pending"
    assert ReviewCase.query.filter_by(source="flags").count() == 1
    assert ModerationEvent.query.filter_by(action="hidden_by_flags").count() == 1


def test_a_trusted_members_flag_weighs_more(member, make_user):
    trusted = make_user("nguoi_tin_cay")
    trusted.reputation = 500
    assert review.flag_weight(trusted) == 3.0 and review.flag_weight(member) == 1.0


def test_flag_rules(client, auth, thread, member, other_member):
    answer = posts.post_answer(other_member, thread, CLEAN)
    auth.login(other_member)
    assert client.post(f"/p/{answer.id}/flag", data={"reason": "spam"}).status_code == 403
    auth.logout()
    auth.login(member)
    client.post(f"/p/{answer.id}/flag", data={"reason": "other", "note": ""})
    assert Flag.query.count() == 0  # "other" needs a note
    client.post(f"/p/{answer.id}/flag", data={"reason": "rude", "note": "nói khó nghe"})
    response = client.post(f"/p/{answer.id}/flag", data={"reason": "spam"}, follow_redirects=True)
    assert "đã báo cáo bài này rồi" in response.get_data(as_text=True)
    assert Flag.query.count() == 1


def test_dismissing_flags_puts_the_post_back(client, auth, thread, moderator, make_user):
    answer = posts.post_answer(make_user("tac_gia"), thread, CLEAN)
    review.flag(moderator, answer, "spam")  # a moderator's flag alone hides
    assert answer.status == "pending"
    auth.login(moderator)
    client.post(f"/review/{ReviewCase.query.one().id}", data={"action": "dismiss"})
    assert db.session.get(Post, answer.id).status == "published"
    assert Flag.query.one().status == "dismissed"


# Suspensions ---------------------------------------------------------------------------------


def test_a_suspended_member_cannot_post_and_sees_why_and_until_when(
    client, auth, thread, moderator, other_member
):
    auth.login(moderator)
    client.post(
        f"/review/users/{other_member.id}/suspend", data={"days": "3", "reason": "spam nhiều lần"}
    )
    auth.logout()
    auth.login(other_member)
    home = client.get("/").get_data(as_text=True)
    assert "tạm khóa đến" in home and "spam nhiều lần" in home
    response = client.post(f"/q/{thread.id}/answer", data={"body": CLEAN})
    assert response.status_code == 403 and "tạm khóa" in response.get_data(as_text=True)
    auth.logout()
    auth.login(moderator)
    client.post(f"/review/users/{other_member.id}/suspend", data={"days": "lift"})
    assert not db.session.get(User, other_member.id).is_suspended


def test_suspension_until_lifted(moderator, other_member):
    review.suspend(moderator, other_member, None, "lừa đảo")
    assert other_member.is_suspended and other_member.suspended_until.year == 9999


# Logs, dashboard, permissions -------------------------------------------------------------


def test_public_log_leaves_out_private_details(
    client, thread, rude_answer, moderator, other_member
):
    case = ReviewCase.query.one()
    review.reject(moderator, case, "Ghi chú riêng của điều hành viên", "offensive")
    review.suspend(moderator, other_member, 7, "lý do riêng tư")
    public = client.get("/moderation/log").get_data(as_text=True)
    assert "Điều hành viên từ chối một câu trả lời: Xúc phạm, thô tục" in public
    assert "offensive" not in public  # the reason's label, never its code
    for private in ("Ghi chú riêng", "lý do riêng tư", other_member.username, RUDE):
        assert private not in public


def test_moderators_full_log_has_scores_and_before_after(client, auth, rude_answer, moderator):
    auth.login(moderator)
    full = client.get("/review/log").get_data(as_text=True)
    assert "Bộ lọc giữ lại chờ duyệt" in full and "→ giữ chờ duyệt" in full
    assert "auto_review" not in full


def test_dashboard_counts_false_positives_and_misses(client, auth, thread, moderator, make_user):
    held = posts.post_answer(make_user("nguoi_a"), thread, RUDE)
    allowed = posts.post_answer(make_user("nguoi_b"), thread, CLEAN)
    review.approve(moderator, review.open_cases()[0])  # a false positive
    posts.delete_post(moderator, allowed)  # a miss
    overall, per_check = review.feedback(7)
    assert overall["held"] == 1 and overall["held_approved"] == 1 and overall["missed"] == 1
    assert overall["false_positive_rate"] == 1.0
    assert sum(row["approved"] for row in per_check.values()) >= 1
    assert held.status == "published"
    auth.login(moderator)
    assert "Tỷ lệ báo nhầm" in client.get("/review/stats").get_data(as_text=True)


@pytest.mark.parametrize("url", ["/review", "/review/log", "/review/stats"])
def test_members_get_403_and_visitors_the_login_on_moderation_pages(client, auth, member, url):
    assert "/login" in client.get(url).headers["Location"]
    auth.login(member)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("path", ["/review/1", "/review/bulk", "/review/users/1/suspend"])
def test_members_get_403_on_moderation_actions(client, auth, member, rude_answer, path):
    auth.login(member)
    assert (
        client.post(path, data={"action": "approve", "days": "1", "reason": "x"}).status_code == 403
    )
    assert ReviewCase.query.one().status == "open"


# API and retraining -------------------------------------------------------------------------


def test_api_moderation_check_is_for_moderators_and_has_no_side_effects(client, moderator, member):
    mod_token, member_token = (
        accounts.create_api_token(moderator),
        accounts.create_api_token(member),
    )
    body = {"text": RUDE, "title": "Câu hỏi"}
    response = client.post(
        "/api/v1/moderation/check", json=body, headers={"Authorization": f"Bearer {mod_token}"}
    )
    verdict = response.get_json()
    assert response.status_code == 200 and verdict["action"] == "review"
    assert {"code", "message_vi", "message_en", "score", "spans"} <= set(verdict["reasons"][0])
    assert ModerationEvent.query.count() == 0 and Post.query.count() == 0
    denied = client.post(
        "/api/v1/moderation/check", json=body, headers={"Authorization": f"Bearer {member_token}"}
    )
    assert denied.status_code == 403 and denied.get_json()["error"]["code"] == "forbidden"


def test_api_posting_returns_pending_with_reasons(client, thread, other_member):
    token = accounts.create_api_token(other_member)
    response = client.post(
        f"/api/v1/questions/{thread.id}/answers",
        json={"body": RUDE},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.get_json()
    assert response.status_code == 201 and body["status"] == "pending"
    assert body["reasons"] and body["reasons"][0]["message_vi"]


def test_train_command_uses_a_deployers_csv(app, tmp_path):
    app.config["MODERATION_CLASSIFIER_PATH"] = str(tmp_path / "retrained.joblib")
    data = tmp_path / "labelled.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for n in range(30):
            writer.writerow([f"Cảm ơn bạn đã chia sẻ cách dùng Zalo số {n}", "clean"])
            writer.writerow([f"Inbox zalo 09xx nhận quà miễn phí số {n}", "spam"])
    result = app.test_cli_runner().invoke(args=["moderation", "train", "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "60 examples" in result.output
    assert (tmp_path / "retrained.joblib").exists()


def test_decisions_become_training_rows(thread, rude_answer, moderator):
    review.reject(moderator, ReviewCase.query.one(), "xúc phạm", "offensive")
    assert (RUDE, "offensive") in review.decided_rows()
