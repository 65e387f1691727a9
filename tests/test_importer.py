"""Bulk import from JSON Lines and the shipped seed: bad lines reported, nothing duplicated."""

import json

from forum.extensions import db
from forum.models import Post, ReviewCase, Tag, Thread, User
from forum.seeding import SEED_DIR


def line(**fields):
    record = {
        "title": "Cách dùng Gemini để dịch tài liệu tiếng Anh",
        "body": "Mình có file PDF tiếng Anh, muốn dịch sang tiếng Việt.",
        "tags": ["gemini", "Học tiếng Anh"],
        "author": "linh_dinh_hoa",
        "created_at": "2026-09-01T08:00:00+07:00",
        "answers": [
            {
                "body": "Tải file lên Gemini rồi yêu cầu dịch từng phần.",
                "author": "thaonguyen_ai",
                "created_at": "2026-09-01T09:00:00",
                "accepted": True,
            },
            {
                "body": "Google Dịch cũng dịch được cả file.",
                "author": "hieu_sv_tnu",
                "created_at": "2026-09-01T10:00:00+07:00",
                "accepted": False,
            },
        ],
    }
    record.update(fields)
    return json.dumps(record, ensure_ascii=False)


def write(tmp_path, lines):
    path = tmp_path / "threads.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run_import(app, path, *options):
    return app.test_cli_runner().invoke(args=["import", str(path), *options])


def test_import_creates_threads_answers_users_and_accepted_answer(app, tmp_path):
    result = run_import(app, write(tmp_path, [line()]), "--create-authors")
    assert "imported 1" in result.output
    assert (
        "created 3 members for unknown authors (no password; `flask users reset-link NAME` "
        "lets one in): linh_dinh_hoa, thaonguyen_ai, hieu_sv_tnu" in result.output
    )
    thread = Thread.query.one()
    assert thread.answer_count == 2 and thread.accepted_answer_id is not None
    assert {t.slug for t in thread.tags} == {"gemini", "hoc-tieng-anh"}
    assert User.query.count() == 3
    assert thread.created_at.isoformat() == "2026-09-01T01:00:00+00:00"
    accepted = db.session.get(Post, thread.accepted_answer_id)
    assert accepted.author.username == "thaonguyen_ai"
    assert accepted.author.reputation == 16


def test_bad_lines_are_reported_with_their_number_and_skipped(app, tmp_path):
    lines = [
        line(),
        "{not json",
        line(title="ngắn"),
        json.dumps([1, 2]),
        line(title="Câu hỏi thiếu tác giả nhưng đủ dài", author=None),
        line(title="Một câu hỏi tốt khác về Zalo AI"),
    ]
    result = run_import(app, write(tmp_path, lines), "--create-authors")
    assert "imported 2" in result.output and "bad lines 4" in result.output
    for number in (2, 3, 4, 5):
        assert f"threads.jsonl:{number}:" in result.output
    assert Thread.query.count() == 2


def test_importing_twice_adds_nothing(app, tmp_path):
    path = write(tmp_path, [line(), line(title="Một câu hỏi tốt khác về Zalo AI")])
    run_import(app, path, "--create-authors")
    result = run_import(app, path, "--create-authors")
    assert "imported 0, already there 2" in result.output
    assert Thread.query.count() == 2 and Post.query.count() == 6


def test_unknown_authors_are_reported_not_created(app, tmp_path, make_user):
    make_user("linh_dinh_hoa")
    make_user("thaonguyen_ai")
    result = run_import(app, write(tmp_path, [line(), line(title="Một câu hỏi khác về Zalo AI",
                                                           answers=[])]))
    assert "imported 1, already there 0, bad lines 1" in result.output
    assert "threads.jsonl:1: unknown author 'hieu_sv_tnu'" in result.output
    assert (
        "unknown authors (threads skipped; add them as members or use --create-authors): "
        "hieu_sv_tnu" in result.output
    )
    assert User.query.filter_by(username="hieu_sv_tnu").count() == 0
    assert Thread.query.count() == 1


def test_imported_threads_are_searchable_at_once(app, client, tmp_path):
    result = run_import(app, write(tmp_path, [line()]), "--create-authors")
    assert "search index: 3 added" in result.output
    page = client.get("/search?q=dịch tài liệu").get_data(as_text=True)
    assert "Cách dùng Gemini để dịch tài liệu tiếng Anh" in page.replace("<mark>", "").replace(
        "</mark>", ""
    )


def test_import_shows_its_progress(app, tmp_path):
    result = run_import(app, write(tmp_path, [line(), line(title="Một câu hỏi khác về Zalo AI")]),
                        "--create-authors")
    assert "import: 100%" in result.output and "2/2" in result.output
    assert "index: read" in result.output and "index: embed" in result.output


def test_import_without_index_says_how_to_make_it_searchable(app, tmp_path):
    result = run_import(app, write(tmp_path, [line()]), "--create-authors", "--no-index")
    assert "search follow --once" in result.output and "search index:" not in result.output


def test_the_seed_loads_enough_vietnamese_content_and_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed"])
    assert "seed line" not in first.output, first.output
    counts = {
        kind: Post.query.filter_by(post_type=kind).count()
        for kind in ("question", "answer", "comment")
    }
    assert counts["question"] >= 60 and counts["answer"] >= 150 and counts["comment"] >= 20
    assert Tag.query.filter(Tag.question_count > 0).count() >= 15
    assert User.query.filter_by(role="moderator").count() >= 1
    assert Thread.query.filter(Thread.accepted_answer_id.isnot(None)).count() > 20
    assert db.session.query(db.func.max(Post.score)).scalar() > 3
    runner.invoke(args=["seed"])
    assert Post.query.filter_by(post_type="question").count() == counts["question"]


def test_seed_files_are_valid_json_lines():
    for path in sorted(SEED_DIR.glob("threads_*.jsonl")):
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            assert isinstance(json.loads(text), dict), f"{path.name}:{number}"


RUDE_ANSWER = "Hỏi ngu vcl, đồ óc chó, tự đi mà tìm hiểu đi chứ hỏi làm gì."


def test_a_trusted_import_publishes_as_written(app, tmp_path):
    rude = line(answers=[{"body": RUDE_ANSWER, "author": "thaonguyen_ai"}])
    run_import(app, write(tmp_path, [rude]), "--create-authors")
    assert {p.status for p in Post.query} == {"published"}


def test_a_screened_import_holds_what_a_new_post_would_hold(app, tmp_path):
    rude = line(answers=[{"body": RUDE_ANSWER, "author": "thaonguyen_ai"}])
    result = run_import(app, write(tmp_path, [rude]), "--create-authors", "--screen")
    assert "imported 1" in result.output
    answer = Post.query.filter_by(post_type="answer").one()
    assert answer.status in ("pending", "rejected")
    assert ReviewCase.query.filter_by(post_id=answer.id).count() == 1
    assert Thread.query.one().answer_count == 0  # a held answer is not counted yet
