"""Importing the Facebook group: a small archive of three members (tests/fixtures/facebook,
written by make_fixture.py) becomes threads with correct Vietnamese text; a second run adds
nothing; the abusive comment is held; the bad entry is reported; a claim link hands a
placeholder's posts to a real member."""

import json
import shutil
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from forum.extensions import db
from forum.facebook_archive import fix_mojibake, read_archive
from forum.facebook_import import hashtags, make_title
from forum.models import (
    Attachment,
    FacebookAuthor,
    ImportedPost,
    Post,
    ReviewCase,
    Thread,
    User,
    Vote,
)
from forum.services import accounts, claims, votes
from forum.services.searching import SearchRequest
from forum.services.searching import run as search

FIXTURE = Path(__file__).parent / "fixtures" / "facebook"
LAN, HUNG, MINH = "Nguyễn Thị Lan", "Trần Văn Hùng", "Lê Minh"


def run(app, *args):
    return app.test_cli_runner().invoke(args=["import-facebook", *args])


def thread_titled(start):
    return db.session.scalar(select(Thread).where(Thread.title.startswith(start)))


def author_named(name):
    return db.session.scalar(select(FacebookAuthor).where(FacebookAuthor.name == name)).user


# Text ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stored, shown",
    [
        ("ch\u00c3\u00a0o", "chào"),
        ("Ti\u00e1\u00ba\u00bfng Vi\u00e1\u00bb\u0087t", "Tiếng Việt"),
        ("chào", "chào"),  # already right: untouched
        ("Tiếng Việt", "Tiếng Việt"),  # characters beyond latin-1 cannot be mojibake
        ("café £5", "café £5"),  # latin-1 text that is not UTF-8 bytes stays as it is
        ("plain ascii", "plain ascii"),
    ],
)
def test_mojibake_is_repaired_per_string_and_correct_text_left_alone(stored, shown):
    assert fix_mojibake(stored) == shown


def test_a_title_is_the_first_sentence_without_hashtags_and_hashtags_become_tags():
    text = "Làm sao dùng Zalo AI? Mình tìm mãi không thấy. #Zalo #trợ_lý_AI"
    assert make_title(text) == "Làm sao dùng Zalo AI?"
    assert make_title("Ờ. Ai biết Gemini không?") == "Ờ. Ai biết Gemini không?"  # too short alone
    long_title = make_title("Chữ " * 80)
    assert len(long_title) <= 150 and long_title.endswith("…")
    assert hashtags(text) == [("zalo", "Zalo"), ("tro-ly-ai", "trợ lý AI")]


# The fixture archive ---------------------------------------------------------------------------


def test_the_archive_imports_into_threads_with_correct_vietnamese_text(app):
    result = run(app, str(FIXTURE))
    assert result.exit_code == 0, result.output
    assert "created 3 questions, 5 answers, 1 comments, 1 photos, 3 placeholder accounts" in (
        result.output
    )
    chatgpt = thread_titled("Làm sao để ChatGPT trả lời bằng tiếng Việt có dấu?")
    assert chatgpt is not None
    question = chatgpt.question
    assert "Có cách nào cài mặc định không ạ?" in question.body_md
    assert {t.slug for t in chatgpt.tags} == {"chatgpt", "hoi-dap"}
    assert {t.name for t in chatgpt.tags} == {"ChatGPT", "hỏi đáp"}
    # Dates are kept: posted 08:00 in Việt Nam on 3 March 2025.
    assert chatgpt.created_at == datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
    # The photo went through the upload checks: re-encoded, stored as an attachment.
    (photo,) = question.attachments
    assert (photo.width, photo.height) == (12, 8) and photo.original_name == "anh_cai_dat.png"
    # Minh's comment became the answer; Lan's reply to it a comment under that answer.
    (answer,) = [p for p in Post.query.filter_by(thread_id=chatgpt.id, post_type="answer")]
    assert answer.author == author_named(MINH) and "Cá nhân hóa" in answer.body_md
    (reply,) = Post.query.filter_by(thread_id=chatgpt.id, post_type="comment").all()
    assert reply.parent_id == answer.id and reply.body_md == "Cảm ơn anh, em làm được rồi ạ!"
    assert chatgpt.answer_count == 1 and chatgpt.is_public

    zalo = thread_titled("Zalo có trợ lý AI không mọi người?")
    assert zalo.author == author_named(HUNG)
    bodies = {p.body_md for p in Post.query.filter_by(thread_id=zalo.id, post_type="answer")}
    assert "Cảm ơn Lan nhiều, tìm thấy rồi." in bodies  # his comment on his own post
    assert any(body.startswith("Có đấy anh, Zalo AI") for body in bodies)
    assert zalo.tags  # no hashtags: a suggested tag, or "chưa phân loại"


def test_authors_are_placeholders_nobody_can_log_in_to(app, client):
    run(app, str(FIXTURE))
    lan = author_named(LAN)
    assert lan.is_placeholder and lan.name == "Nguyễn Thị Lan (từ nhóm Facebook)"
    assert lan.username.startswith("fb.nguyen_thi_lan")
    assert accounts.authenticate(lan.username, "") is None
    login = client.post("/login", data={"username": lan.username, "password": "x"})
    assert login.status_code == 401
    page = client.get(f"/u/{lan.username}").get_data(as_text=True)
    assert "Nguyễn Thị Lan (từ nhóm Facebook)" in page


def test_the_abusive_comment_is_held_for_review_not_dropped(app):
    result = run(app, str(FIXTURE))
    abusive = Post.query.filter(Post.body_md.contains("đồ óc chó")).one()
    assert abusive.status in ("pending", "rejected")
    case = ReviewCase.query.filter_by(post_id=abusive.id).one()
    assert case.source == "auto" and case.status == "open"
    assert "held for review 1" in result.output
    held = "held for review: minh/your_facebook_activity/groups/your_comments_in_groups.json #2"
    assert held in result.output
    # Everything else passed the same checks and is published.
    assert Post.query.filter(Post.status == "published").count() == Post.query.count() - 1


def test_the_bad_entry_and_the_unmatched_comment_are_reported_not_guessed(app):
    result = run(app, str(FIXTURE))
    assert "bad entry: hung/groups/your_posts_and_comments_in_groups.json #3: " in result.output
    assert "missing or bad timestamp" in result.output
    assert "bad entries 1" in result.output and "not matched 1" in result.output
    assert "not matched to a post: minh/your_facebook_activity/groups/" in result.output
    assert "no post by Phạm Thu" in result.output
    assert Post.query.filter(Post.body_md.contains("Mình cũng đang tìm cách này")).count() == 0
    assert "Traceback" not in result.output


def test_importing_twice_adds_nothing(app):
    run(app, str(FIXTURE))
    def counts():
        return [model.query.count() for model in (Post, Thread, User, Attachment)]

    before = counts()
    result = run(app, str(FIXTURE))
    assert result.exit_code == 0
    assert "created 0 questions, 0 answers, 0 comments, 0 photos, 0 placeholder" in result.output
    assert "already there 9" in result.output
    assert counts() == before


def test_a_newer_archive_adds_only_what_is_new(app, tmp_path):
    archive = tmp_path / "archive"
    shutil.copytree(FIXTURE, archive)
    run(app, str(archive))
    before = Post.query.count()
    comments = archive / "minh/your_facebook_activity/groups/your_comments_in_groups.json"
    data = json.loads(comments.read_text())
    later = data["group_comments_v2"][0]["timestamp"] + 3600
    data["group_comments_v2"].append(
        {
            "timestamp": later,
            "data": [{"comment": {"timestamp": later, "author": MINH,
                                  "comment": "Cập nhật: bản mới có nút chọn ngôn ngữ luôn rồi."}}],
            "title": f"{MINH} đã bình luận về bài viết của {LAN}.",
        }
    )  # fmt: skip
    comments.write_text(json.dumps(data, ensure_ascii=False))
    result = run(app, str(archive))
    assert "created 0 questions, 1 answers, 0 comments" in result.output
    assert Post.query.count() == before + 1
    new = Post.query.filter(Post.body_md.startswith("Cập nhật: bản mới")).one()
    assert new.thread.title.startswith("Làm sao để ChatGPT")
    assert new.thread.answer_count == 2


def test_dry_run_prints_what_would_happen_and_changes_nothing(app):
    result = run(app, str(FIXTURE), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "DRY RUN: would create 3 questions, 5 answers, 1 comments, 1 photos, " in result.output
    assert "3 placeholder accounts" in result.output
    assert "held for review 1" in result.output
    assert Post.query.count() == 0 and User.query.count() == 0 and ImportedPost.query.count() == 0
    uploads = Path(app.config["UPLOADS_PATH"])
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))


def test_a_zip_of_members_zips_imports_the_same(app, tmp_path):
    """An admin gathers each member's downloaded .zip into one .zip."""
    outer = tmp_path / "nhom.zip"
    with zipfile.ZipFile(outer, "w") as gathered:
        for member in ("lan", "hung", "minh"):
            inner = tmp_path / f"facebook-{member}.zip"
            with zipfile.ZipFile(inner, "w") as archive:
                for path in (FIXTURE / member).rglob("*"):
                    if path.is_file():
                        archive.write(path, path.relative_to(FIXTURE / member).as_posix())
            gathered.write(inner, f"{member}/facebook-{member}.zip")
    result = run(app, str(outer))
    assert "created 3 questions, 5 answers, 1 comments, 1 photos, 3 placeholder" in result.output


def test_one_json_file_can_be_imported_alone(app):
    path = FIXTURE / "hung/groups/your_posts_and_comments_in_groups.json"
    result = run(app, str(path))
    assert "created 1 questions, 1 answers, 0 comments" in result.output
    assert "bad entries 1" in result.output


def test_bad_files_get_a_clear_message_and_are_counted(app, tmp_path):
    (tmp_path / "groups").mkdir()
    (tmp_path / "groups/your_posts_in_groups.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "groups/your_comments_in_groups.json").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "broken.zip").write_bytes(b"PK not really a zip")
    result = run(app, str(tmp_path))
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert "bad file: broken.zip: not a readable zip file" in result.output
    assert "bad files 3" in result.output
    result = run(app, str(tmp_path / "groups"))
    assert "bad file: your_posts_in_groups.json: invalid JSON" in result.output
    assert "bad file: your_comments_in_groups.json: not UTF-8 text" in result.output
    assert "bad files 2" in result.output


def test_a_path_that_is_not_an_archive_is_refused_clearly(app, tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    result = run(app, str(other))
    assert result.exit_code != 0 and "expected a Facebook archive" in result.output


def test_a_comment_two_posts_could_own_is_listed_not_guessed(tmp_path):
    day = 1741000000
    posts = [
        {"timestamp": day + i * 3600, "data": [{"post": f"Câu hỏi số {i} về Canva và ảnh"}],
         "title": f"{HUNG} posted in Nhóm."}
        for i in (0, 1)
    ]  # fmt: skip
    comment = {"timestamp": day + 3 * 3600,
               "data": [{"comment": {"timestamp": day + 3 * 3600, "comment": "Dùng Canva nhé",
                                     "author": LAN}}],
               "title": f"{LAN} commented on {HUNG}'s post."}  # fmt: skip
    (tmp_path / "groups").mkdir()
    (tmp_path / "groups/your_posts_in_groups.json").write_text(
        json.dumps({"group_posts_v2": posts})
    )
    (tmp_path / "groups/your_comments_in_groups.json").write_text(
        json.dumps({"group_comments_v2": [comment]})
    )
    archive = read_archive(tmp_path)
    assert archive.comments == []
    ((unmatched, reason),) = archive.unmatched
    assert unmatched.text == "Dùng Canva nhé" and reason == f"2 posts by {HUNG} could be the one"
    # A narrower window leaves one candidate: matched.
    archive = read_archive(tmp_path, match_window=timedelta(hours=2, minutes=30))
    assert [c.text for c in archive.comments] == ["Dùng Canva nhé"]


def test_imported_threads_are_indexed_for_search(app):
    run(app, str(FIXTURE))
    results = search(SearchRequest(q="Gemini thư mời họp thôn", mode="keyword"))
    assert any(hit.title.startswith("Chia sẻ cách dùng Gemini") for hit in results.hits)


# Claiming a placeholder ----------------------------------------------------------------------


def test_a_claim_link_moves_a_placeholders_posts_votes_and_reputation_to_a_member(
    app, client, auth, make_user
):
    run(app, str(FIXTURE))
    voter = make_user("nguoi_bau")
    minh = author_named(MINH)
    minh_answer = Post.query.filter_by(author_id=minh.id, post_type="answer", status="published")
    votes.vote(voter, minh_answer.first(), 1)
    assert db.session.get(User, minh.id).reputation == 11
    real = make_user("leminh_thai_nguyen")

    result = app.test_cli_runner().invoke(args=["users", "claim-link", minh.username])
    assert result.exit_code == 0, result.output
    link = result.output.strip().rsplit(" ", 1)[1]
    assert link.startswith("http://127.0.0.1:5000/claim/")
    path = link.removeprefix("http://127.0.0.1:5000")

    assert client.get(path).status_code == 302  # log in first
    auth.login(real)
    page = client.get(path).get_data(as_text=True)
    assert "Lê Minh (từ nhóm Facebook)" in page
    response = client.post(path)
    assert response.status_code == 302
    real = db.session.get(User, real.id)
    assert Post.query.filter_by(author_id=minh.id).count() == 0
    assert Post.query.filter_by(author_id=real.id).count() == 3
    assert real.reputation == 11
    vote = Vote.query.filter_by(user_id=voter.id).one()
    assert db.session.get(Post, vote.post_id).author_id == real.id
    author = FacebookAuthor.query.filter_by(name=MINH).one()
    assert author.claimed_by_id == real.id
    # The link was one-time.
    assert client.post(path).status_code == 404
    # A newer archive's posts by that name now go straight to the member.
    assert claims.find_placeholder(MINH).claimed_by_id == real.id


def test_admins_make_claim_links_on_a_page(app, client, auth, make_user):
    run(app, str(FIXTURE))
    admin = make_user("quan_tri", role="admin")
    member = make_user("thanh_vien_thuong")
    auth.login(member)
    assert client.get("/admin/facebook").status_code == 403
    auth.logout()
    auth.login(admin)
    page = client.get("/admin/facebook?q=lan").get_data(as_text=True)
    assert "Nguyễn Thị Lan" in page and "Lê Minh" not in page
    lan = FacebookAuthor.query.filter_by(name=LAN).one()
    page = client.post(f"/admin/facebook/{lan.id}/link").get_data(as_text=True)
    assert "/claim/" in page


def test_a_thread_the_database_refuses_is_reported_and_the_others_still_import(app, make_user):
    """Threads are written a batch at a time; a refused batch is written again one by one."""
    squatter = make_user("nguoi_co_san")
    key = next(p.key for p in read_archive(FIXTURE).posts if p.author == HUNG)
    db.session.add(Thread(title="Một chủ đề cũ giữ khóa", slug="x", author_id=squatter.id,
                          import_key=key))  # fmt: skip
    db.session.commit()
    result = run(app, str(FIXTURE))
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert "bad entry: hung/groups/your_posts_and_comments_in_groups.json #1: database error" in (
        result.output
    )
    assert "created 2 questions, 2 answers, 1 comments" in result.output
