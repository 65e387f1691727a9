"""Background work with one interface: inline (tests, scripts) or a worker thread (the embedded
server). Services enqueue only after their commit, so a job never looks for a row that does not
exist yet.
"""

import logging
import queue
import threading
import time

from flask import current_app

log = logging.getLogger(__name__)

JOBS = {}
_STOP = object()


def job(fn):
    """Register a function as a job, by name, so every runner can find it."""
    JOBS[fn.__name__] = fn
    return fn


def enqueue(name, *args):
    current_app.extensions["jobs"].enqueue(name, *args)


class JobRunner:
    """Runs registered jobs inside an app context, in the mode the config names."""

    retries = 3

    def __init__(self, app):
        self.app = app
        self.mode = app.config["JOBS_MODE"]
        self.failed = []  # (name, args, error) of jobs that failed every retry
        self._queue = queue.Queue()
        self._thread = None
        self._lock = threading.Lock()

    def enqueue(self, name, *args):
        if name not in JOBS:
            raise KeyError(f"unknown job {name!r}")
        if self.mode == "inline":
            self.run(name, args)
        else:
            self._ensure_thread()
            self._queue.put((name, args))

    def run(self, name, args):
        """Run one job now, retrying with backoff; a job that keeps failing is kept in `failed`."""
        for attempt in range(1, self.retries + 1):
            try:
                with self.app.app_context():
                    return JOBS[name](*args)
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

    def _work(self):
        while True:
            name, args = self._queue.get()
            try:
                if name is _STOP:
                    return
                self.run(name, args)
            finally:
                self._queue.task_done()
