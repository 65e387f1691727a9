"""Two nodes, one PostgreSQL (and Redis): how soon a question asked on node A is found by search
on node B, whose follower (`flask search follow`) runs as a separate process, as in production.

    .venv/bin/python bench/two_nodes.py [--questions 20] [--database-url postgresql+psycopg://…]

Each node has its own instance folder (its own index); both use the real encoder when it is
prepared (`flask models prepare`), else the fake one. Prints, per question, the seconds from
the commit on A to the first search on B that finds it (polled every 50 ms), and p50 / max.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from forum import create_app, indexing  # noqa: E402
from forum.extensions import db  # noqa: E402
from forum.services import accounts, posts  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/xutra_two_nodes"
TOPICS = ["Zalo", "Gemini", "ChatGPT", "Canva", "Copilot", "VNeID", "Perplexity", "Claude"]


def fresh_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    server = url.rsplit("/", 1)[0].replace("+psycopg", "") + "/postgres"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def node_settings(folder: Path, url: str, encoder: str) -> dict:
    return {
        "INSTANCE_PATH": str(folder),
        "SQLALCHEMY_DATABASE_URI": url,
        "MODELS_PATH": str(ROOT / "instance" / "models"),
        "SEARCH_ENCODER": encoder,
        "SEARCH_ENGINE": "tantivy",
        "JOBS_MODE": "inline",
        "RATELIMIT_ENABLED": False,
        "MODERATION_ENABLED": False,  # the question's path to the index is what is timed
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--encoder", default="auto", help="SEARCH_ENCODER of both nodes")
    args = parser.parse_args(argv)

    fresh_database(args.database_url)
    scratch = Path(tempfile.mkdtemp(prefix="two-nodes-"))
    node_a = create_app(node_settings(scratch / "node-a", args.database_url, args.encoder))
    with node_a.app_context():
        db.create_all()
        asker = accounts.register("hoi_tu_node_a", "matkhau-an-toan-2026")
    env = dict(os.environ, DATABASE_URL=args.database_url,
               FORUM_INSTANCE_PATH=str(scratch / "node-b"), SEARCH_ENGINE="tantivy",
               SEARCH_ENCODER=args.encoder)  # fmt: skip
    # B's own settings for MODELS_PATH: the prepared model lives in the checkout's instance.
    (scratch / "node-b").mkdir()
    (scratch / "node-b" / "models").symlink_to(ROOT / "instance" / "models")
    follower = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "forum", "search", "follow",
         "--poll", "0.5"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    node_b = create_app(node_settings(scratch / "node-b", args.database_url, args.encoder))
    delays = []
    try:
        with node_b.app_context():
            engine_b = indexing.search_engine()
            engine_b.warm()
        for n in range(args.questions):
            word = f"{TOPICS[n % len(TOPICS)]}{n}"
            with node_a.app_context():
                asker = db.session.merge(asker)
                posts.ask_question(asker, f"Hỏi về cách dùng {word} trên điện thoại",
                                   "Mọi người chỉ giúp mình với ạ, cảm ơn nhiều.", "ai")
            committed = time.monotonic()
            while time.monotonic() - committed < 60:
                with node_b.app_context():
                    engine_b.refresh()
                    if engine_b.search(word.lower(), mode="keyword").hits:
                        break
                time.sleep(0.05)
            delays.append(time.monotonic() - committed)
            print(f"  question {n + 1:>2}: found on node B after {delays[-1]:.2f} s", flush=True)
    finally:
        follower.terminate()
        follower.wait(timeout=30)
        with node_b.app_context():
            indexing.search_engine().close()
            db.engine.dispose()
        with node_a.app_context():
            db.engine.dispose()
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"asked on A, found on B with B's follower running: "
          f"p50 {statistics.median(delays):.2f} s, max {max(delays):.2f} s "
          f"over {len(delays)} questions (target: within 10 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
