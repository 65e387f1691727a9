"""How long a node takes to build its search index from the database, vectors included.

    nice .venv/bin/python bench/index_build.py --instance bench/out/large/instance
    nice .venv/bin/python bench/index_build.py --instance ... --engine whoosh

The forum comes from bench/seed_large.py. The first time, the posts' passage vectors are not in
the database yet: a first build encodes them with the fake encoder and stores them (what the
follower of the first node does as posts come in). Then the timed build: a fresh index folder,
as on a new node, built by the follower (`Follower.rebuild`), reading every post and its stored
vectors from the database, encoding nothing. Prints documents, passages, seconds and rates.
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from forum import create_app, indexing  # noqa: E402
from forum.extensions import db  # noqa: E402
from forum.models import Post, PostEmbedding  # noqa: E402
from forum.search_feed import Follower  # noqa: E402


def forum_app(instance: Path, database_url: str | None, engine: str, index_path: Path):
    return create_app({
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{instance / 'forum.db'}",
        "SEARCH_INDEX_PATH": str(index_path),
        "SEARCH_ENGINE": engine,
        "SEARCH_ENCODER": "fake",
        "JOBS_MODE": "inline",
        "RATELIMIT_ENABLED": False,
    })


def timed_build(app) -> tuple[float, object]:
    started = time.perf_counter()
    report = Follower(app).rebuild()
    with app.app_context():
        indexing.search_engine().close()
        app.extensions.pop("search", None)
    return time.perf_counter() - started, report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", type=Path, required=True)
    parser.add_argument("--database-url", help="default: the instance's SQLite forum.db")
    parser.add_argument("--engine", choices=("tantivy", "whoosh"), default="tantivy")
    args = parser.parse_args(argv)
    instance = args.instance.resolve()

    scratch = Path(tempfile.mkdtemp(prefix="index-build-", dir=instance))
    try:
        app = forum_app(instance, args.database_url, args.engine, scratch / "first")
        with app.app_context():
            posts = db.session.scalar(select(func.count()).select_from(Post).where(
                Post.post_type != "comment", Post.status == "published",
                Post.deleted_at.is_(None)))
            stored = db.session.scalar(select(func.count()).select_from(PostEmbedding))
        print(f"{posts:,} searchable posts, {stored:,} with stored vectors; engine {args.engine}")
        if stored < posts * 0.95:
            seconds, report = timed_build(app)
            print(f"first build, encoding (fake encoder) and storing vectors: {seconds:.0f} s, "
                  f"{report.embedded_passages:,} passages encoded")
        shutil.rmtree(scratch / "first", ignore_errors=True)

        app = forum_app(instance, args.database_url, args.engine, scratch / "fresh")
        seconds, report = timed_build(app)
        documents = report.added + report.updated + report.unchanged
        print(f"full build on a fresh node from stored vectors: {seconds:.0f} s "
              f"({seconds / 60:.1f} min) for {documents:,} documents, "
              f"{documents / seconds:,.0f} documents/s; passages encoded: "
              f"{report.embedded_passages} (target: 0, and at most 5 min)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
