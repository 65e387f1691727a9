"""Shared by the quality benchmarks: a forum loaded with the seed, indexed with the real model."""

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402

from forum import create_app  # noqa: E402
from forum.extensions import db  # noqa: E402
from forum.indexing import search_engine, sync_index  # noqa: E402
from forum.models import Thread  # noqa: E402
from forum.seeding import seed  # noqa: E402

DATA = ROOT / "bench" / "data"


def seeded_app(instance, models_path=None, model="auto"):
    """The forum in `instance`, with the seed loaded and indexed (reused when already there)."""
    instance = Path(instance).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    settings = {
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'forum.db'}",
        "MODELS_PATH": str(models_path or ROOT / "instance" / "models"),
        "SEARCH_MODEL": model,
        "JOBS_MODE": "inline",
        "SEARCH_FOLLOW_IN_PROCESS": True,
        "RATELIMIT_ENABLED": False,
    }
    app = create_app(settings)
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        seed()
        report = sync_index()
        print(
            f"seed + index: {time.perf_counter() - started:.1f}s "
            f"({report.embedded_passages} passages embedded), "
            f"encoder {search_engine().encoder.name}"
        )
    return app


def thread_ids_by_key():
    """Seed thread keys ("a-chatgpt-…") -> thread ids in this database."""
    rows = db.session.execute(select(Thread.import_key, Thread.id)).all()
    return {key.removeprefix("seed:"): thread_id for key, thread_id in rows if key}


def read_jsonl(pattern):
    rows = []
    for path in sorted(DATA.glob(pattern)):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return rows


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]
