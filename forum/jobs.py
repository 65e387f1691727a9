"""Background work with one interface: inline (tests, scripts), a worker thread (the embedded
server) or Redis/RQ workers (production). Services enqueue only after their commit, so a job never
looks for a row that does not exist yet, and losing a worker loses no post.

A batched job (`@job(batched=True)`) takes a list of keys: keys enqueued while one run is waiting
or working are gathered into the next run, so a burst of posts costs a few index commits, not
one commit per post.

`@job` only marks a function; create_app gives the app's JobRunner its table of jobs, so which
jobs exist is written in one place and does not depend on which modules happened to be imported.
"""

import json
import logging
import queue
import threading
import time

import redis
from flask import current_app
from rq import Queue, Retry
from rq.registry import FailedJobRegistry

log = logging.getLogger(__name__)

_STOP = object()
_PENDING = object()  # a thread-mode batched run: its keys are taken when it starts
_PENDING_TTL = 7 * 86400  # keys wait at most this long in Redis for a worker


def job(fn=None, *, batched=False):
    """Mark a function as a job (batched: it takes a list of keys). Marking registers nothing:
    `register` (called by create_app) puts it in an app's table."""

    def mark(fn):
        fn.job_batched = batched
        return fn

    return mark(fn) if fn is not None else mark


def register(app, functions):
    """Add these jobs to the app's runner, each under its function's name."""
    app.extensions["jobs"].add(*functions)


def enqueue(name, *args):
    current_app.extensions["jobs"].enqueue(name, *args)


class JobRunner:
    """Runs registered jobs inside an app context, in the mode the config names."""

    retries = 3

    def __init__(self, app, functions=()):
        self.app = app
        self.jobs = {}  # name -> function
        self.batched = set()  # names of jobs that take a list of keys
        self.add(*functions)
        self.mode = app.config["JOBS_MODE"]
        self.failed = []  # (name, args, error) of jobs that failed every retry
        self._queue = queue.Queue()
        self._thread = None
        self._lock = threading.Lock()
        self._rq_queue = None
        self._pending = {}  # batched job name -> keys waiting for the worker thread

    def add(self, *functions):
        for fn in functions:
            self.jobs[fn.__name__] = fn
            if getattr(fn, "job_batched", False):
                self.batched.add(fn.__name__)

    def enqueue(self, name, *args):
        if name not in self.jobs:
            raise KeyError(f"unknown job {name!r}")
        if name in self.batched:
            self._enqueue_batched(name, *args)
        elif self.mode == "inline":
            self.run(name, args)
        elif self.mode == "rq":
            self._enqueue_rq(name, args)
        else:
            self._ensure_thread()
            self._queue.put((name, args))

    def _enqueue_batched(self, name, key):
        if self.mode == "inline":
            self.run(name, ([key],))
        elif self.mode == "rq":
            self._enqueue_rq_batched(name, key)
        else:
            self._ensure_thread()
            with self._lock:
                waiting = self._pending.setdefault(name, set())
                scheduled = bool(waiting)
                waiting.add(key)
            if not scheduled:
                self._queue.put((name, _PENDING))

    def _take_pending(self, name):
        with self._lock:
            return sorted(self._pending.pop(name, ()))

    def run(self, name, args):
        """Run one job now, retrying with backoff; a job that keeps failing is kept in `failed`."""
        for attempt in range(1, self.retries + 1):
            try:
                with self.app.app_context():
                    return self.jobs[name](*args)
            except Exception as error:  # a job must never kill its worker
                log.exception("job %s%r failed (attempt %d/%d)", name, args, attempt, self.retries)
                if attempt == self.retries:
                    self.failed.append((name, args, repr(error)))
                    if self.mode == "inline" and self.app.testing:
                        raise
                else:
                    time.sleep(0.05 * 2**attempt)

    def drain(self):
        """Wait until every queued job has run (thread mode)."""
        if self._thread is not None:
            self._queue.join()

    def stop(self):
        if self._thread is not None:
            self._queue.put((_STOP, ()))
            self._thread.join(timeout=10)
            self._thread = None

    def _ensure_thread(self):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="forum-jobs", daemon=True)
                self._thread.start()

    # Redis/RQ -----------------------------------------------------------------------------

    def rq_queue(self):
        if self._rq_queue is None:
            connection = redis.Redis.from_url(
                self.app.config["REDIS_URL"], socket_timeout=5, socket_connect_timeout=2
            )
            self._rq_queue = Queue(self.app.config["JOBS_QUEUE"], connection=connection)
        return self._rq_queue

    def _pending_keys(self, name):
        """Redis keys of a batched job: the set of waiting keys, and the flag that says a run
        is queued (set before enqueuing, cleared when a run starts)."""
        prefix = f"forum:{self.app.config['JOBS_QUEUE']}:{name}"
        return f"{prefix}:pending", f"{prefix}:scheduled"

    def _enqueue_rq_batched(self, name, key):
        pending, scheduled = self._pending_keys(name)
        try:
            connection = self.rq_queue().connection
            with connection.pipeline() as pipe:
                pipe.sadd(pending, json.dumps(key)).expire(pending, _PENDING_TTL).execute()
            if connection.set(scheduled, 1, nx=True, ex=self.app.config["JOBS_TIMEOUT"]):
                self._put_rq(name, [])
            # else a queued run will take this key too
        except redis.RedisError as error:
            # The post is already stored; do its follow-up work here rather than not at all.
            log.warning("Redis unavailable (%s): running job %s([%r]) inline", error, name, key)
            self.run(name, ([key],))

    def run_pending_rq(self, name):
        """One run of a batched job on an RQ worker: every waiting key, removed only once the
        run succeeds, so a failed or killed run leaves them for its retry."""
        pending, scheduled = self._pending_keys(name)
        connection = self.rq_queue().connection
        connection.delete(scheduled)  # keys added from now on schedule another run
        members = connection.smembers(pending)
        if not members:
            return None
        result = self.jobs[name](sorted(json.loads(member) for member in members))
        connection.srem(pending, *members)
        return result

    def _enqueue_rq(self, name, args):
        try:
            self._put_rq(name, args)
        except redis.RedisError as error:
            # The post is already stored; do its follow-up work here rather than not at all.
            log.warning("Redis unavailable (%s): running job %s%r inline", error, name, args)
            self.run(name, args)

    def _put_rq(self, name, args):
        self.rq_queue().enqueue_call(
            run_job,
            args=(name, list(args)),
            retry=Retry(max=self.retries, interval=self.app.config["JOBS_RETRY_INTERVALS"]),
            timeout=self.app.config["JOBS_TIMEOUT"],
            failure_ttl=30 * 86400,
            description=f"{name}{tuple(args)!r}",
        )

    def failed_registry(self):
        return FailedJobRegistry(queue=self.rq_queue())

    def retry_failed(self):
        """Put every job that used up its retries back on the queue; returns how many."""
        registry = self.failed_registry()
        job_ids = registry.get_job_ids()
        for job_id in job_ids:
            registry.requeue(job_id)
        return len(job_ids)

    def _work(self):
        while True:
            name, args = self._queue.get()
            try:
                if name is _STOP:
                    return
                if args is _PENDING:
                    args = (self._take_pending(name),)
                self.run(name, args)
            finally:
                self._queue.task_done()


_worker_app = None


def use_app(app):
    """The app RQ workers run jobs in (set before forking, so models load once per worker)."""
    global _worker_app
    _worker_app = app


def run_job(name, args):
    """What an RQ worker executes: one job inside the app; failures raise so RQ retries them."""
    global _worker_app
    if _worker_app is None:
        from forum import create_app  # a worker started without `flask jobs worker`

        _worker_app = create_app()
    runner = _worker_app.extensions["jobs"]
    with _worker_app.app_context():
        if name in runner.batched:
            return runner.run_pending_rq(name)
        return runner.jobs[name](*args)
