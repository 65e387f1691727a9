"""Bulk import from JSON Lines and the shipped seed: bad lines reported, nothing duplicated."""

import json

from forum.extensions import db
from forum.models import Post, Tag, Thread, User
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


def test_import_creates_threads_answers_users_and_accepted_answer(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["import", str(write(tmp_path, [line()]))])
    assert "imported 1" in result.output
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
    result = app.test_cli_runner().invoke(args=["import", str(write(tmp_path, lines))])
    assert "imported 2" in result.output and "bad lines 4" in result.output
    for number in (2, 3, 4, 5):
        assert f"threads.jsonl:{number}:" in result.output
    assert Thread.query.count() == 2


def test_importing_twice_adds_nothing(app, tmp_path):
    path = write(tmp_path, [line(), line(title="Một câu hỏi tốt khác về Zalo AI")])
    runner = app.test_cli_runner()
    runner.invoke(args=["import", str(path)])
    result = runner.invoke(args=["import", str(path)])
    assert "imported 0, already there 2" in result.output
    assert Thread.query.count() == 2 and Post.query.count() == 6


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
