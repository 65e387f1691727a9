"""`flask backup` and `flask restore`: a seeded forum backed up, restored into an empty instance,
and everything found again: every member, every post, every image, and search once the
follower has caught up. On SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""

import io
import os
import shutil
import tarfile

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from forum import create_app, search_feed
from forum.extensions import db
from forum.models import Attachment, Post, User
from forum.services import accounts, posts, uploads

PASSWORD = "matkhau-an-toan"
POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def make_app(instance, database_url, classifier_path):
    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MODERATION_CLASSIFIER_PATH": classifier_path,
        }
    )


def screenshot():
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 120, 60)).save(buffer, "PNG")
    return FileStorage(io.BytesIO(buffer.getvalue()), filename="loi.png")


def seed(app):
    """Three members, two threads (one with a screenshot), answers and a comment."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        lan = accounts.register("co_giao_lan", PASSWORD)
        minh = accounts.register("anh_minh", PASSWORD)
        accounts.register("dieu_hanh", PASSWORD, role="moderator")
        tea = posts.ask_question(
            lan,
            "Nhờ ChatGPT soạn giáo án môn trà đạo thế nào?",
            "Em muốn ChatGPT soạn giáo án về cách pha trà Tân Cương cho lớp 7, viết prompt ra sao?",
            "chatgpt, giáo án",
            images=[screenshot()],
        )
        answer = posts.post_answer(minh, tea, "Bạn nêu rõ lớp, thời lượng và mục tiêu bài học nhé.")
        posts.post_comment(lan, answer, "Cảm ơn anh Minh nhiều.")
        posts.ask_question(
            minh,
            "Zalo báo lỗi khi gửi ảnh chụp màn hình",
            "Mỗi lần gửi ảnh chụp màn hình qua Zalo thì báo lỗi mạng, dù wifi vẫn tốt.",
            "zalo",
        )
        return snapshot(app)


def snapshot(app):
    """What a restore must bring back: members, posts and image files."""
    return {
        "users": sorted(db.session.scalars(select(User.username))),
        "posts": sorted((p.id, p.body_md) for p in db.session.scalars(select(Post))),
        "images": sorted(
            (a.token, uploads.image_path(a.token).read_bytes())
            for a in db.session.scalars(select(Attachment))
        ),
    }


@pytest.fixture
def databases(tmp_path):
    """(source, target) database URLs: two SQLite files, or the one PostgreSQL test database,
    emptied between backup and restore."""
    if POSTGRES:
        if shutil.which("pg_dump") is None:
            pytest.skip("pg_dump is not installed")
        url = os.environ["TEST_DATABASE_URL"]
        return url, url
    return f"sqlite:///{tmp_path / 'source.db'}", f"sqlite:///{tmp_path / 'target.db'}"


def test_a_backup_restores_into_an_empty_instance_with_everything_found(
    tmp_path, classifier_path, databases
):
    source_url, target_url = databases
    source = make_app(tmp_path / "source", source_url, classifier_path)
    before = seed(source)
    result = source.test_cli_runner().invoke(args=["backup", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    archive = next((tmp_path / "backups").glob("xutra-backup-*.tar"))
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names
    assert not any(name.startswith("search") for name in names)  # derived, rebuilt instead
    with source.app_context():
        if POSTGRES:
            db.drop_all()  # the same database, now empty, is the new instance's
        close(source)

    target = make_app(tmp_path / "target", target_url, classifier_path)
    with target.app_context():
        db.create_all()  # as `flask db upgrade` leaves a new instance: tables, no rows
    result = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert "users: 3" in result.output and "uploaded files: 2" in result.output

    with target.app_context():
        assert snapshot(target) == before
        search_feed.Follower(target).run_once()
        found = target.test_client().get("/api/v1/search?q=giáo án trà&mode=keyword").get_json()
        assert [hit["title"] for hit in found["results"]][:1] == [
            "Nhờ ChatGPT soạn giáo án môn trà đạo thế nào?"
        ]
        db.session.remove()  # its reads hold locks that dropping the tables waits for
        db.drop_all()
        close(target)


def close(app):
    """Let go of the app's database connections and search index files."""
    db.session.remove()
    db.engine.dispose()
    engine = app.extensions.pop("search", None)
    if engine is not None:
        engine.close()


def test_restore_refuses_an_instance_that_already_has_members(tmp_path, classifier_path):
    app = make_app(tmp_path / "forum", f"sqlite:///{tmp_path / 'forum.db'}", classifier_path)
    seed(app)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup", str(tmp_path / "backups")]).exit_code == 0
    archive = next((tmp_path / "backups").glob("*.tar"))
    result = runner.invoke(args=["restore", str(archive)])
    assert result.exit_code != 0
    assert "already holds 3 members" in result.output
    with app.app_context():
        close(app)
