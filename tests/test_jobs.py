"""Background jobs: inline, in a worker thread, and on Redis/RQ workers, including faults."""

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import redis
import rq_crash_job

from forum import create_app, jobs
from forum.extensions import db
from forum.indexing import search_engine
from forum.models import ModerationEvent
from forum.services import accounts, posts

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
HERE = Path(__file__).resolve().parent
done = []


@jobs.job
def remember(value):
    done.append(value)


@pytest.mark.parametrize("mode", ["inline", "thread"])
def test_jobs_run_in_both_embedded_modes(app, mode):
    app.config["JOBS_MODE"] = mode
    runner = jobs.JobRunner(app, [remember])
    done.clear()
    runner.enqueue("remember", 42)
    runner.drain()
    runner.stop()
    assert done == [42]


def test_a_failing_job_is_retried_then_kept_in_the_failed_list(app, monkeypatch):
    app.config["JOBS_MODE"] = "thread"
    monkeypatch.setattr(jobs.time, "sleep", lambda seconds: None)
    attempts = []

    @jobs.job
    def always_fails():
        attempts.append(1)
        raise RuntimeError("index is locked")

    runner = jobs.JobRunner(app, [always_fails])
    runner.enqueue("always_fails")
    runner.drain()
    runner.stop()
    assert len(attempts) == runner.retries
    assert runner.failed[0][0] == "always_fails"


@jobs.job(batched=True)
def remember_batch(keys):
    done.append(keys)


def test_keys_enqueued_while_the_worker_is_busy_are_gathered_into_one_run(app):
    app.config["JOBS_MODE"] = "thread"
    release = threading.Event()

    @jobs.job
    def busy():
        release.wait(timeout=60)
        done.append("busy")

    runner = jobs.JobRunner(app, [busy, remember_batch])
    done.clear()
    runner.enqueue("busy")
    for key in (3, 1, 2, 1):
        runner.enqueue("remember_batch", key)
    release.set()
    runner.drain()
    runner.enqueue("remember_batch", 4)  # after the run: a run of its own
    runner.drain()
    runner.stop()
    assert done == ["busy", [1, 2, 3], [4]]


def test_a_batched_job_runs_at_once_inline(app):
    done.clear()
    jobs.JobRunner(app, [remember_batch]).enqueue("remember_batch", 7)
    assert done == [[7]]


def test_unknown_jobs_are_refused(app):
    with pytest.raises(KeyError):
        jobs.JobRunner(app, [remember]).enqueue("no_such_job")


def test_the_app_registers_every_job_the_code_enqueues(app):
    """Registration is explicit in create_app, not a side effect of importing a module: every
    job name the forum enqueues must be in the table it gives the runner."""
    forum_dir = Path(__file__).resolve().parent.parent / "forum"
    enqueued = {
        name
        for path in forum_dir.rglob("*.py")
        for name in re.findall(r'enqueue\("(\w+)"', path.read_text(encoding="utf-8"))
    }
    runner = app.extensions["jobs"]
    assert {"suggest_answers", "send_outbox", "follow_search_changes"} <= enqueued
    assert enqueued <= set(runner.jobs)
    assert {"send_outbox", "follow_search_changes"} <= runner.batched
    assert "remember" not in runner.jobs  # marked with @job in this file, never registered


# Redis/RQ ---------------------------------------------------------------------------------


def redis_available():
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(not redis_available(), reason=f"no Redis at {REDIS_URL}")


@pytest.fixture
def rq_settings(tmp_path, classifier_path, request):
    database = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'forum.db'}"
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SQLALCHEMY_DATABASE_URI": database,
        "MODERATION_CLASSIFIER_PATH": classifier_path,
        "JOBS_MODE": "rq",
        "REDIS_URL": REDIS_URL,
        "JOBS_QUEUE": f"test-{request.node.name}"[:60],
        "JOBS_RETRY_INTERVALS": [0],
    }


@pytest.fixture
def rq_app(rq_settings):
    redis.Redis.from_url(REDIS_URL).flushdb()
    app = create_app(rq_settings)
    app.extensions["jobs"].add(rq_crash_job.crash_once)
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
        search_engine().close()


def run_worker(settings):
    """A burst worker in a separate process: it runs what is queued, then stops."""
    result = subprocess.run(
        [sys.executable, str(HERE / "rq_worker.py"), json.dumps(settings)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


def fresh_search(app):
    """What a web node sees once it reopens the index the worker wrote."""
    app.extensions.pop("search").close()
    return search_engine()


@needs_redis
def test_posts_wait_for_a_stopped_worker_and_are_indexed_when_it_starts(rq_app, rq_settings):
    member = accounts.register("chi_hoa", "matkhau-an-toan")
    titles = [f"Câu hỏi số {n} về kích hoạt VNeID mức hai" for n in range(4)]
    for title in titles[:2]:
        posts.ask_question(
            member,
            title,
            "Mình cần hướng dẫn kích hoạt trên điện thoại.",
            "vneid",
        )
    queue = rq_app.extensions["jobs"].rq_queue()
    assert queue.count > 0  # nothing runs without a worker…
    for title in titles[2:]:
        posts.ask_question(member, title, "Mình cần hướng dẫn kích hoạt trên điện thoại.", "vneid")
    index_runs = [job for job in queue.get_jobs() if job.args[0] == "follow_search_changes"]
    assert len(index_runs) == 1  # four posts waiting: one index run will take them all
    run_worker(rq_settings)  # …until one starts
    assert queue.count == 0
    found = fresh_search(rq_app).search("kích hoạt VNeID", mode="keyword", limit=20)
    assert {hit.title for hit in found.hits} >= set(titles)
    assert ModerationEvent.query.filter(ModerationEvent.action.like("auto_%")).count() == 4


@needs_redis
def test_a_job_killed_mid_way_is_retried(rq_app, rq_settings, tmp_path):
    marker = tmp_path / "marker"
    rq_app.extensions["jobs"].enqueue("crash_once", str(marker))
    log = run_worker(rq_settings)
    assert "Work-horse terminated unexpectedly" in log
    assert marker.read_text() == "done"


@needs_redis
def test_jobs_that_keep_failing_are_replayed_by_retry_failed(rq_app, rq_settings):
    runner = rq_app.extensions["jobs"]
    runner.enqueue("follow_search_changes", 999_999_999)  # fine: a follower run of nothing
    runner.rq_queue().enqueue_call("forum.jobs.run_job", args=("no_such_job", []), retry=None)
    run_worker(rq_settings)
    assert runner.failed_registry().count == 1
    result = rq_app.test_cli_runner().invoke(args=["jobs", "retry-failed"])
    assert "requeued 1 failed jobs" in result.output
    assert runner.rq_queue().count == 1


@needs_redis
def test_a_failed_batched_run_leaves_its_keys_for_the_retry(rq_app):
    runner = rq_app.extensions["jobs"]
    calls = []

    @jobs.job(batched=True)
    def flaky_batch(keys):
        calls.append(keys)
        if len(calls) == 1:
            raise RuntimeError("index is locked")

    runner.add(flaky_batch)
    runner.enqueue("flaky_batch", 5)
    runner.enqueue("flaky_batch", 6)
    assert runner.rq_queue().count == 1
    with pytest.raises(RuntimeError):
        runner.run_pending_rq("flaky_batch")
    runner.run_pending_rq("flaky_batch")  # what RQ's retry does
    assert runner.run_pending_rq("flaky_batch") is None  # nothing left waiting
    assert calls == [[5, 6], [5, 6]]


def test_redis_down_posting_still_works_and_says_so(rq_settings, caplog):
    settings = {**rq_settings, "REDIS_URL": "redis://127.0.0.1:1/0"}  # nothing listens there
    app = create_app(settings)
    with app.app_context():
        db.drop_all()
        db.create_all()
        member = accounts.register("anh_kien", "matkhau-an-toan")
        thread = posts.ask_question(
            member,
            "Redis tắt thì đăng bài có được không?",
            "Mình thử đăng khi máy chủ hàng đợi bị tắt.",
            "zalo",
        )
        assert thread.question.is_published
        assert "Redis unavailable" in caplog.text
        hits = search_engine().search("Redis tắt", mode="keyword").hits
        assert [hit.question_id for hit in hits] == [thread.id]  # indexed inline instead
        db.session.remove()  # PostgreSQL: DROP waits for this session's open transaction
        db.drop_all()
        db.engine.dispose()
        search_engine().close()
