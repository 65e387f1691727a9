"""Runs an RQ burst worker for the job tests, in its own process, as `flask jobs worker` does.

Usage: python tests/rq_worker.py '<create_app overrides as JSON>'
"""

import json
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

import rq_crash_job  # noqa: E402  (the fault tests' job, registered below)
from rq import Worker  # noqa: E402

from forum import create_app, indexing, jobs  # noqa: E402

app = create_app(json.loads(sys.argv[1]))
app.extensions["jobs"].add(rq_crash_job.crash_once)
jobs.use_app(app)
with app.app_context():
    indexing.search_engine(app)
queue = app.extensions["jobs"].rq_queue()
Worker([queue], connection=queue.connection).work(burst=True, with_scheduler=True)
