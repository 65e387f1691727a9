"""The index feed: every searchable change is a row in the database, written with the change;
each node's follower applies the rows to its own index, in order, and survives being killed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from forum import create_app, indexing
from forum.extensions import db
from forum.models import SearchChange, Thread
from forum.search_feed import (
    HOLE_SECONDS,
    Follower,
    FollowerBusy,
    FollowState,
    missed_changes,
    prune_changes,
)
from forum.services import accounts, posts, votes
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent


def change_rows():
    return db.session.scalars(select(SearchChange.thread_id).order_by(SearchChange.id)).all()


def test_asking_writes_a_change_row_with_the_question(app, member, make_thread):
    thread = make_thread(member)
    assert set(change_rows()) == {thread.id}


def test_a_rolled_back_change_leaves_no_row(app, member, make_thread):
    thread = make_thread(member)
    before = len(change_rows())
    thread.title = "Một tiêu đề khác hẳn"
    db.session.flush()
    db.session.rollback()
    assert len(change_rows()) == before


def test_reading_a_thread_is_not_a_search_change(app, client, member, make_thread):
    thread = make_thread(member)
    before = len(change_rows())
    thread.view_count += 1
    thread.last_activity_at = thread.created_at
    db.session.commit()
    assert len(change_rows()) == before


def test_a_vote_is_a_change_of_its_thread(app, member, other_member, make_thread):
    thread = make_thread(member)
    answer = posts.post_answer(other_member, thread, "Bạn nên nói rõ vai trò và mục tiêu.")
    before = len(change_rows())
    votes.vote(member, answer, 1)
    assert change_rows()[before:] and set(change_rows()[before:]) == {thread.id}


def test_a_post_is_searchable_once_the_follower_applied_its_change(app, member, make_thread):
    thread = make_thread(member, title="Cách dùng Gemini để tóm tắt sách")
    engine = indexing.search_engine()
    assert [h.question_id for h in engine.search("Gemini tóm tắt", mode="keyword").hits] == [
        thread.id
    ]
    follower = Follower(app)
    assert follower.run_once().applied_rows == 0  # the in-process follower already did
    assert FollowState.read(follower.state_path).cursor == db.session.scalar(
        select(SearchChange.id).order_by(SearchChange.id.desc()).limit(1)
    )


def test_a_node_switched_to_another_keyword_engine_builds_that_engines_index(
    app, member, make_thread
):
    thread = make_thread(member, title="Cách dùng Gemini để tóm tắt sách")
    follower = Follower(app)
    follower.run_once()
    assert FollowState.read(follower.state_path).engine == app.config["SEARCH_ENGINE"]
    other = "whoosh" if app.config["SEARCH_ENGINE"] == "tantivy" else "tantivy"
    app.extensions.pop("search").close()
    app.config["SEARCH_ENGINE"] = other  # the node restarts with the other engine

    assert follower.run_once().rebuilt is not None
    assert FollowState.read(follower.state_path).engine == other
    engine = indexing.search_engine()
    assert engine.backend.keyword_engine == other
    assert [h.question_id for h in engine.search("Gemini tóm tắt", mode="keyword").hits] == [
        thread.id
    ]
    assert follower.run_once().rebuilt is None  # built once


def test_a_gap_in_the_ids_is_looked_for_again_until_it_is_too_old():
    state = FollowState(cursor=10)
    state.passed([11, 14], now=1000.0)
    assert state.cursor == 14 and set(state.holes) == {12, 13}
    state.passed([13], now=1001.0)  # a slow transaction committed
    assert set(state.holes) == {12}
    state.passed([], now=1000.0 + HOLE_SECONDS + 1)  # 12 was rolled back
    assert state.holes == {} and state.cursor == 14


def test_only_one_follower_runs_per_index_folder(app):
    follower = Follower(app)
    with follower._running(), pytest.raises(FollowerBusy):
        Follower(app).run(poll_seconds=0)


# Several nodes ---------------------------------------------------------------------------

@pytest.fixture
def shared_database(tmp_path):
    """One database for several nodes: PostgreSQL when the suite runs on it, else a file."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'shared.db'}"
    apps = []

    def node(name):
        app = create_app({
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / name),
            "SQLALCHEMY_DATABASE_URI": url,
            "SEARCH_FOLLOW_IN_PROCESS": False,  # like a server: its follower runs apart
        })
        apps.append(app)
        return app

    first = node("node-a")
    with first.app_context():
        db.drop_all()
        db.create_all()
    yield node, url
    with first.app_context():
        db.drop_all()
    for app in apps:
        with app.app_context():
            engine = app.extensions.get("search")
            if engine is not None:
                engine.close()
            db.session.remove()
            db.engine.dispose()


def ask(app, username, title):
    with app.app_context():
        user = accounts.find_user(username) or accounts.register(username, PASSWORD)
        return posts.ask_question(
            user, title, "Mọi người chỉ giúp mình với, cảm ơn nhiều ạ.", "ai"
        ).id


def found(app, query):
    with app.app_context():
        engine = indexing.search_engine()
        engine.refresh()
        return [hit.question_id for hit in engine.search(query, mode="keyword").hits]


def index_matches_database(app):
    with app.app_context():
        expected = {doc.doc_id: doc.content_hash for doc in indexing.all_documents()}
        engine = indexing.search_engine()
        engine.refresh()
        return (engine.keyword.content_hashes() == expected
                and engine.vectors.doc_ids() == set(expected))


def test_a_question_asked_on_one_node_is_found_on_another_after_it_follows(shared_database):
    node, _url = shared_database
    node_a, node_b = node("node-a"), node("node-b")
    Follower(node_b).run_once()  # B starts: builds its (empty) index
    thread_id = ask(node_a, "lan_node_a", "Cách viết prompt tạo bảng chấm công bằng Copilot")
    assert found(node_b, "chấm công Copilot") == []
    report = Follower(node_b).run_once()
    assert report.applied_rows >= 1
    assert found(node_b, "chấm công Copilot") == [thread_id]
    assert index_matches_database(node_b)


def test_a_new_node_builds_its_index_from_the_database(shared_database):
    node, _url = shared_database
    node_a = node("node-a")
    thread_id = ask(node_a, "lan_node_a", "Dùng Canva AI thiết kế thiệp mời đám cưới")
    Follower(node_a).run_once()  # node A indexed it: its vectors are in the database now
    node_c = node("node-c")
    with node_c.app_context():
        encoder = indexing.search_engine().encoder
    encoded = []
    encoder.encode_passages = lambda texts: encoded.extend(texts)  # must not be called
    report = Follower(node_c).run_once()
    assert report.rebuilt is not None and report.rebuilt.added >= 1
    assert report.rebuilt.embedded_passages == 0 and encoded == []
    assert found(node_c, "Canva thiệp mời") == [thread_id]


def test_a_node_away_longer_than_the_retention_rebuilds_instead_of_missing_changes(
    shared_database,
):
    node, _url = shared_database
    node_a, node_b = node("node-a"), node("node-b")
    ask(node_a, "lan_node_a", "Dùng Canva AI thiết kế thiệp mời đám cưới")
    Follower(node_b).run_once()
    missed = ask(node_a, "lan_node_a", "Cách viết prompt tạo bảng chấm công bằng Copilot")
    ask(node_a, "lan_node_a", "Gemini có đọc được file PDF tiếng Anh không")
    with node_a.app_context():
        assert prune_changes(days=0) >= 1  # B was away longer than the retention
        assert db.session.scalar(select(func.count()).select_from(SearchChange)) == 1

    report = Follower(node_b).run_once()
    assert report.rebuilt is not None
    assert found(node_b, "chấm công Copilot") == [missed]
    assert index_matches_database(node_b)
    assert Follower(node_b).run_once().rebuilt is None  # caught up: it follows again


def test_pruning_keeps_the_newest_change_so_a_current_node_stays_current(app, member, make_thread):
    make_thread(member)
    follower = Follower(app)
    follower.run_once()
    prune_changes(days=0)
    assert change_rows() and not missed_changes(FollowState.read(follower.state_path).cursor)


def test_a_follower_killed_mid_batch_resumes_without_loss(shared_database):
    node, url = shared_database
    node_a, node_b = node("node-a"), node("node-b")
    Follower(node_b).run_once()
    asked = [ask(node_a, "lan_node_a", f"Câu hỏi số {n} về trợ lý Gemini trên điện thoại")
             for n in range(4)]
    with node_a.app_context():
        last_thread = db.session.get(Thread, asked[-1])
        last_thread.title = "Câu hỏi cuối về Gemini, đã sửa tiêu đề"
        db.session.commit()
    killed = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "follower_killer.py"),
         node_b.config["INSTANCE_PATH"], url],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert killed.returncode == -9, killed.stderr  # died after its first index commit
    assert not index_matches_database(node_b)  # half done: its first batch only
    report = Follower(node_b).run_once()  # restarted
    assert report.applied_rows >= len(asked)  # the first batch again, then the rest
    assert index_matches_database(node_b)
    assert sorted(found(node_b, "Gemini")) == sorted(asked)


def test_suggesting_an_indexed_answer_encodes_only_the_question(
    app, member, other_member, make_thread, monkeypatch
):
    from forum.services import suggestions

    thread = make_thread(member, title="Cách đổi giọng đọc của trợ lý Gemini")
    answer = posts.post_answer(
        other_member, thread,
        "Bạn mở ứng dụng Gemini. Chọn Cài đặt rồi Giọng nói. Chọn giọng bạn thích là xong.",
    )
    votes.vote(member, answer, 1)
    encoder = indexing.search_engine().encoder
    encoded = []
    original = encoder.encode_passages
    monkeypatch.setattr(encoder, "encode_passages",
                        lambda texts: encoded.extend(texts) or original(texts))
    found = suggestions.rank("Đổi giọng nói Gemini thế nào?", "Mình muốn giọng nữ miền Bắc.")
    assert [c.answer.id for c in found] == [answer.id]
    assert "Giọng nói" in found[0].passage
    assert encoded == []  # the answer's sentences were embedded when it was indexed


def test_an_index_of_an_older_release_is_replaced_not_opened(app, member, make_thread):
    instance = Path(app.config["INSTANCE_PATH"])
    old = instance / "search" / "keyword"
    old.mkdir(parents=True)
    (old / "_MAIN_1.toc").write_bytes(b"a Whoosh table of contents pickled by an older release")
    thread = make_thread(member, title="Dùng ChatGPT viết đơn xin nghỉ phép")  # builds the index
    assert not (instance / "search").exists()
    assert [h.question_id for h in indexing.search_engine().search("nghỉ phép").hits] == [
        thread.id
    ]
