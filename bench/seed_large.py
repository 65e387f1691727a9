"""A large synthetic forum for load tests: 100,000 questions, 300,000 answers, comments, votes.

    nice .venv/bin/python bench/seed_large.py --reset                 # SQLite, bench/out/large
    nice .venv/bin/python bench/seed_large.py --reset \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/xutra_load \\
        --instance bench/out/large-pg/instance
    nice .venv/bin/python bench/seed_large.py --questions 2000 --answers 6000 --reset   # quick

Runs the real migrations, then writes rows in bulk (executemany on SQLite, COPY on PostgreSQL)
with every derived field computed as the services compute it: answer counts, accepted answers,
scores, last activity, tag counts, reputation. Text comes from bench/load_lib/synthetic_text.py
(the seed threads recombined, with and without diacritics). A sample of derived fields and HTML
is then checked against the app's own code. Last, the search index is built the way the app
builds it (forum.indexing.sync_index), with the fake encoder: embedding 400,000 posts with the
real model would take hours on a small machine. All members share one password (printed), and
the instance folder gets bench_manifest.json, which bench/load.py reads.
"""

import argparse
import csv
import json
import os
import random
import shutil
import sqlite3
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import flask_migrate  # noqa: E402
from load_lib.synthetic_text import Text, TextFactory, check_rendering  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from forum import create_app, indexing  # noqa: E402
from forum.extensions import db  # noqa: E402
from forum.markup import normalize_text, render_markdown, render_plain, slugify  # noqa: E402
from forum.models import Post, Tag, Thread, User, thread_tags  # noqa: E402
from forum.search_feed import Follower  # noqa: E402
from forum.services import reputation as reputation_service  # noqa: E402
from forum.services import screening  # noqa: E402

DEFAULT_INSTANCE = ROOT / "bench" / "out" / "large" / "instance"
MANIFEST = "bench_manifest.json"
BENCH_PASSWORD = "matkhau-tai-thu-2026"  # every synthetic member's password (load.py logs in)
CHUNK_THREADS = 2000
UP_Q, UP_A, DOWN, ACCEPTED = (
    reputation_service.QUESTION_UPVOTE,
    reputation_service.ANSWER_UPVOTE,
    reputation_service.DOWNVOTE,
    reputation_service.ACCEPTED_ANSWER,
)

COLUMNS = {
    "users": "id username display_name email password_hash role reputation bio locale "
    "session_version created_at last_seen_at",
    "tags": "id slug name description question_count",
    "threads": "id title slug author_id created_at last_activity_at view_count score "
    "answer_count accepted_answer_id is_public",
    "thread_tags": "thread_id tag_id",
    # The score comes last: votes fill it in after the rest of the row is known.
    "posts": "id thread_id post_type parent_id author_id body_md body_html status created_at "
    "updated_at deleted_at deleted_by_id score",
    "revisions": "id post_id number author_id created_at title tags body_md",
    "votes": "id user_id post_id value created_at",
    "notifications": "id user_id kind actor_id thread_id post_id data created_at read_at",
    "moderation_events": "id created_at action actor_id post_id subject_id reason data",
    "review_cases": "id post_id source severity verdict status created_at",
}
COLUMNS = {table: names.split() for table, names in COLUMNS.items()}
# Written in this order, so that a reader of the finished database never meets a dangling key.
TABLE_ORDER = list(COLUMNS)

GIVEN_NAMES = [
    "Lan", "Hương", "Mai", "Hoa", "Nga", "Thảo", "Trang", "Linh", "Hà", "Yến", "Tuấn", "Hùng",
    "Dũng", "Minh", "Nam", "Sơn", "Long", "Quang", "Đức", "Toàn", "Hiếu", "Phương", "Thắng",
    "Bình", "Cường", "Hạnh", "Oanh", "Vân", "Tú", "Khánh",
]  # fmt: skip
FAMILY_NAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Đỗ", "Dương", "Ma", "Lục", "Hà", "Vũ"]
PLACE_SUFFIXES = ["dong_hy", "pho_yen", "song_cong", "dai_tu", "dinh_hoa", "phu_binh", "tncity",
                  "vo_nhai", "phu_luong", "tan_cuong", "tnu", ""]  # fmt: skip


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", type=Path, default=DEFAULT_INSTANCE)
    parser.add_argument("--database-url", help="default: SQLite forum.db in the instance folder")
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--answers", type=int, default=300_000)
    parser.add_argument("--comments", type=int, help="about this many (default: 1 per 10 posts)")
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument(
        "--index",
        choices=("keyword", "none"),
        default="keyword",
        help="keyword: build the search index with the fake encoder (default)",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--now",
        type=_utc_moment,
        default=datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0),
        help="the newest post is two days before this (default: today 00:00 UTC)"
        "; same seed, sizes and --now give the same forum, ids and all",
    )
    parser.add_argument(
        "--index-from",
        type=Path,
        metavar="SEARCH_DIR",
        help="start from a copy of this search index (e.g. the SQLite run's "
        "instance/search for the same forum); the sync then checks every "
        "document and rewrites only those that differ",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="empty the database and the instance's search index first",
    )
    return parser.parse_args(argv)


def _utc_moment(text):
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# Database plumbing ---------------------------------------------------------------------------


def prepare_database(url, instance, reset):
    """Make sure the database exists and is empty (emptying it only when asked to)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database)
        if path.exists() and not reset and _sqlite_has_tables(path):
            raise SystemExit(f"{path} already holds a forum; pass --reset to replace it")
        if reset:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        import psycopg

        libpq = parsed.set(drivername="postgresql")
        maintenance = libpq.set(database="postgres").render_as_string(hide_password=False)
        with psycopg.connect(maintenance, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{parsed.database}"')
        with psycopg.connect(libpq.render_as_string(hide_password=False), autocommit=True) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchone()[0]
            if tables and not reset:
                raise SystemExit(f"{parsed.database} already has tables; pass --reset")
            if reset:
                conn.execute("DROP SCHEMA public CASCADE")
                conn.execute("CREATE SCHEMA public")
    if reset:
        shutil.rmtree(instance / "search-v2", ignore_errors=True)
        (instance / MANIFEST).unlink(missing_ok=True)


def _sqlite_has_tables(path):
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]


class SqliteLoader:
    """executemany on the raw connection, foreign keys checked at the end instead of per row."""

    def __init__(self, engine):
        sqlite3.register_adapter(datetime, lambda moment: moment.isoformat(" ", "microseconds"))
        self.raw = engine.raw_connection()
        self.conn = self.raw.driver_connection
        self.conn.commit()
        for pragma in ("foreign_keys=OFF", "synchronous=OFF", "cache_size=-400000",
                       "temp_store=MEMORY"):  # fmt: skip
            self.conn.execute(f"PRAGMA {pragma}")

    def write(self, table, rows):
        columns = COLUMNS[table]
        marks = ", ".join("?" * len(columns))
        self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def update(self, statement, rows):
        self.conn.executemany(statement, rows)

    def commit(self):
        self.conn.commit()

    def finish(self):
        problems = self.conn.execute("PRAGMA foreign_key_check").fetchmany(5)
        if problems:
            raise SystemExit(f"dangling foreign keys: {problems}")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.raw.close()


class PostgresLoader:
    """COPY, with foreign-key triggers off for this session (the rows are written in an order
    that keeps them valid; a check at the end confirms it) and table statistics at the end."""

    def __init__(self, engine):
        self.raw = engine.raw_connection()
        self.conn = self.raw.driver_connection
        self.conn.execute("SET session_replication_role = replica")
        self.conn.execute("SET synchronous_commit = off")

    def write(self, table, rows):
        columns = ", ".join(COLUMNS[table])
        with (
            self.conn.cursor() as cursor,
            cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def update(self, statement, rows):
        with self.conn.cursor() as cursor:
            cursor.executemany(statement.replace("?", "%s"), rows)

    def commit(self):
        self.conn.commit()

    def finish(self):
        checks = {
            "posts.thread_id": "SELECT count(*) FROM posts p LEFT JOIN threads t "
            "ON t.id = p.thread_id WHERE t.id IS NULL",
            "threads.accepted_answer_id": "SELECT count(*) FROM threads t LEFT JOIN posts p "
            "ON p.id = t.accepted_answer_id "
            "WHERE t.accepted_answer_id IS NOT NULL AND p.id IS NULL",
            "votes.post_id": "SELECT count(*) FROM votes v LEFT JOIN posts p ON p.id = v.post_id "
            "WHERE p.id IS NULL",
        }
        for name, query in checks.items():
            dangling = self.conn.execute(query).fetchone()[0]
            if dangling:
                raise SystemExit(f"{dangling} dangling {name}")
        for table in TABLE_ORDER:
            if "id" in COLUMNS[table]:
                self.conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
        self.conn.execute("SET session_replication_role = origin")
        self.conn.commit()
        self.conn.autocommit = True
        self.conn.execute("VACUUM ANALYZE")  # what autovacuum would do after a bulk load
        self.raw.close()


# The forum's content ----------------------------------------------------------------------


class ForumGenerator:
    """Rows for every table, a chunk of threads at a time, with derived fields kept right."""

    def __init__(self, args, factory, rng, now, flagged):
        self.args = args
        self.factory = factory
        self.rng = rng
        self.now = now
        self.flagged = flagged  # [(Text, verdict dict)] that the real checks hold or reject
        self.start = now - timedelta(days=730)
        self.end = now - timedelta(days=2)
        self.ids = Counter()  # last id used per table
        self.tag_ids = {}
        self.reputation = defaultdict(int)  # points above the base, by user id
        self.tag_counts = Counter()
        self.totals = Counter()
        self.unplaced_answers = 0
        posts = max(1, args.questions + args.answers)
        wanted = args.comments if args.comments is not None else posts // 10
        # A commented post gets one comment, or two one time in five: 1.2 on average.
        self.comment_chance = min(1.0, wanted / posts / 1.2)
        users = list(range(1, args.users + 1))
        rng.shuffle(users)
        self.askers, self.asker_weights = users, _zipf_cum_weights(len(users), 20, 0.7)
        answerers = users[:]
        rng.shuffle(answerers)
        self.answerers, self.answerer_weights = answerers, _zipf_cum_weights(len(users), 3, 1.0)

    def next_id(self, table):
        self.ids[table] += 1
        return self.ids[table]

    # Users and tags -----------------------------------------------------------------------

    def users(self):
        password_hash = generate_password_hash(BENCH_PASSWORD)
        rows, taken = [], set()
        for user_id in range(1, self.args.users + 1):
            if user_id == 1:
                username, display, role = "quantri", "Ban quản trị Xứ Trà", "admin"
            else:
                given, family = self.rng.choice(GIVEN_NAMES), self.rng.choice(FAMILY_NAMES)
                base = f"{slugify(given).replace('-', '')}_{self.rng.choice(PLACE_SUFFIXES)}"
                username = base.rstrip("_")
                while username in taken:
                    username = f"{base.rstrip('_')}{self.rng.randint(1, 9999)}"
                display = f"{family} {given}"
                role = "moderator" if user_id <= 6 else "member"
            taken.add(username)
            created = self.start - timedelta(days=self.rng.uniform(7, 400))
            rows.append((
                user_id, username, display, f"{username}@example.vn", password_hash, role,
                1, None, None, 1, created, None,
            ))  # fmt: skip
        self.ids["users"] = len(rows)
        return rows

    def tags(self, tag_records):
        rows = []
        for record in tag_records:
            tag_id = self.next_id("tags")
            self.tag_ids[record["slug"]] = tag_id
            rows.append((tag_id, record["slug"], record["name"], record.get("description"), 0))
        return rows

    def final_user_rows(self):
        return [(max(1, 1 + points), user_id) for user_id, points in self.reputation.items()]

    # Threads ------------------------------------------------------------------------------

    def answer_counts(self):
        """Answers per thread: some unanswered, most 1-5, summing exactly to --answers."""
        import numpy as np

        questions, target = self.args.questions, self.args.answers
        generator = np.random.default_rng(self.args.seed)
        mean = target / max(1, questions)
        counts = np.where(
            generator.random(questions) < 0.08,
            0,
            1 + generator.poisson(max(0.0, mean / 0.92 - 1), questions),
        )
        difference = int(counts.sum()) - target
        while difference:
            index = generator.integers(questions, size=abs(difference))
            if difference > 0:
                index = np.unique(index[counts[index] > 0])
                np.subtract.at(counts, index, 1)
            else:
                np.add.at(counts, index, 1)
            difference = int(counts.sum()) - target
        return [int(c) for c in counts]

    def chunk(self, thread_ids, answer_counts):
        """Rows of every table for these threads."""
        rows = defaultdict(list)
        span = (self.end - self.start).total_seconds()
        askers = self.rng.choices(self.askers, cum_weights=self.asker_weights, k=len(thread_ids))
        for thread_id, asker, answers in zip(thread_ids, askers, answer_counts, strict=True):
            moment = self.start + timedelta(
                seconds=span * (thread_id - 0.5) / self.args.questions + self.rng.uniform(-900, 900)
            )
            self._thread(rows, thread_id, asker, moment, answers)
        return rows

    def _thread(self, rows, thread_id, asker, created, answer_count):
        rng, factory = self.rng, self.factory
        topic = factory.topic()
        style = factory.style()
        title = factory.title(topic, style)
        status, deleted = self._fate()
        question = self._post(
            rows, thread_id, "question", asker, created, factory.question(topic, style),
            status, deleted, title=title, tags=topic.tags,
        )  # fmt: skip
        public = status == "published" and not deleted
        if public:
            for slug in topic.tags:
                self.tag_counts[slug] += 1
            answer_count, self.unplaced_answers = answer_count + self.unplaced_answers, 0
        else:
            # Nobody answers a held or deleted question: its answers go to the next thread.
            self.unplaced_answers += answer_count
            answer_count = 0
        rows["thread_tags"] += [(thread_id, self.tag_ids[slug]) for slug in topic.tags]
        last_activity = created
        answers = []
        when = created
        for _ in range(answer_count):
            answerer = self._answerer(asker)
            when = min(self.end, when + timedelta(minutes=3 + rng.expovariate(1 / 400)))
            a_status, a_deleted = self._fate()
            answer = self._post(
                rows, thread_id, "answer", answerer, when,
                factory.answer(topic, factory.style()), a_status, a_deleted,
            )  # fmt: skip
            answers.append(answer)
            if a_status == "published":
                last_activity = max(last_activity, when)
                self._notify(rows, asker, "answer", answerer, thread_id, answer["id"], when)
        visible = [a for a in answers if a["status"] == "published" and not a["deleted"]]
        accepted = None
        candidates = [a for a in visible if a["author"] != asker]
        if candidates and rng.random() < 0.6:
            accepted = rng.choice(candidates)
            self._notify(rows, accepted["author"], "accepted", asker, thread_id, accepted["id"],
                         accepted["created"] + timedelta(hours=2))  # fmt: skip
            self.reputation[accepted["author"]] += ACCEPTED
            self.totals["accepted"] += 1
        if public:
            self._votes(rows, question, upvotes=int(rng.expovariate(1 / 2.0)))
        for answer in visible:
            mean = 5.0 if answer is accepted else 1.5
            self._votes(rows, answer, upvotes=int(rng.expovariate(1 / mean)))
        for post in [question] + visible if public else []:
            for _ in range(self._comment_count()):
                last_activity = max(last_activity, self._comment(rows, thread_id, post))
        rows["posts"] += [p["row"] + (p["score"],) for p in [question] + answers]
        rows["threads"].append((
            thread_id, title, slugify(title), asker, created, last_activity,
            int(rng.expovariate(1 / 120)) + len(answers) * 5, question["score"], len(visible),
            accepted["id"] if accepted else None, public,
        ))  # fmt: skip
        self.totals["threads"] += 1

    def _fate(self):
        """(status, deleted): most posts are published; a few held, rejected or deleted."""
        roll = self.rng.random()
        if roll < 0.005:
            return "pending", False
        if roll < 0.007:
            return "rejected", False
        return "published", roll < 0.011

    def _answerer(self, asker):
        while True:
            user = self.rng.choices(self.answerers, cum_weights=self.answerer_weights)[0]
            if user != asker:
                return user

    def _comment_count(self):
        roll = self.rng.random()
        return 0 if roll >= self.comment_chance else 1 + (roll < self.comment_chance * 0.2)

    def _post(self, rows, thread_id, kind, author, created, text, status, deleted, *,
              title=None, tags=None, parent_id=None):  # fmt: skip
        post_id = self.next_id("posts")
        verdict = None
        deleted_at = created + timedelta(days=1) if deleted else None
        if status != "published" and self.flagged:
            # A held or rejected post holds what the real checks hold: spam, scams, insults.
            text, verdict = self.flagged[self.rng.randrange(len(self.flagged))]
        post = {
            "id": post_id, "author": author, "created": created, "status": status,
            "deleted": deleted, "kind": kind, "score": 0,
            "row": (post_id, thread_id, kind, parent_id, author, text.md, text.html, status,
                    created, None, deleted_at, author if deleted else None),
        }  # fmt: skip
        rows["revisions"].append((
            self.next_id("revisions"), post_id, 1, author, created, title,
            ", ".join(tags) if tags is not None else None, text.md,
        ))  # fmt: skip
        action = {"published": "allow", "pending": "review", "rejected": "reject"}[status]
        reasons = verdict["reasons"] if verdict else []
        rows["moderation_events"].append((
            self.next_id("moderation_events"), created, f"auto_{action}", None, post_id, author,
            "new", json.dumps({"reasons": reasons}),
        ))  # fmt: skip
        if status != "published":
            rows["review_cases"].append((
                self.next_id("review_cases"), post_id, "auto", 3 if status == "rejected" else 2,
                json.dumps(verdict or {"action": action, "reasons": []}), "open", created,
            ))  # fmt: skip
        self.totals[kind + "s"] += 1
        self.totals[f"{kind}s {status}{' deleted' if deleted else ''}"] += 1
        return post

    def _votes(self, post_rows, post, upvotes):
        downvotes = 1 if self.rng.random() < 0.06 else 0
        upvotes = min(upvotes, 60)
        voters = self.rng.sample(range(1, self.args.users + 1), upvotes + downvotes + 1)
        voters = [v for v in voters if v != post["author"]][: upvotes + downvotes]
        points_up = UP_Q if post["kind"] == "question" else UP_A
        for index, voter in enumerate(voters):
            value = 1 if index < upvotes else -1
            when = min(self.end, post["created"] + timedelta(hours=self.rng.expovariate(1 / 30)))
            post_rows["votes"].append((self.next_id("votes"), voter, post["id"], value, when))
            post["score"] += value
            if not post["deleted"]:
                self.reputation[post["author"]] += points_up if value > 0 else DOWN

    def _comment(self, rows, thread_id, parent):
        author = self._answerer(parent["author"])
        when = min(
            self.end, parent["created"] + timedelta(minutes=2 + self.rng.expovariate(1 / 240))
        )
        comment = self._post(
            rows, thread_id, "comment", author, when, self.factory.comment(self.factory.style()),
            "published", False, parent_id=parent["id"],
        )  # fmt: skip
        rows["posts"].append(comment["row"] + (0,))
        self._notify(rows, parent["author"], "comment", author, thread_id, comment["id"], when)
        return when

    def _notify(self, rows, user_id, kind, actor_id, thread_id, post_id, when):
        if user_id == actor_id:
            return
        recent = self.now - when < timedelta(days=10)
        read_at = None if recent and self.rng.random() < 0.7 else when + timedelta(hours=3)
        rows["notifications"].append((
            self.next_id("notifications"), user_id, kind, actor_id, thread_id, post_id, "{}",
            when, read_at,
        ))  # fmt: skip


def _zipf_cum_weights(count, offset, exponent):
    total, weights = 0.0, []
    for rank in range(count):
        total += 1 / (rank + offset) ** exponent
        weights.append(total)
    return weights


def flagged_texts(app, factory):
    """Texts the real checks hold or reject, with their verdicts: bodies of the held posts.
    Also trains the moderation model into the instance, as the first post of a new forum would."""
    with open(ROOT / "seed" / "moderation" / "labelled.csv", encoding="utf-8") as handle:
        candidates = [row["text"] for row in csv.DictReader(handle) if row["label"] != "clean"]
    factory.rng.shuffle(candidates)
    with app.app_context():
        moderator = screening.moderator()
        found = []
        for text in candidates[:80]:
            text = normalize_text(text)
            if len(text) < 20:
                continue
            verdict = moderator.check(text)
            if verdict.action != "allow":
                found.append((Text(text, render_markdown(text)), verdict.to_dict()))
    return found


# Checks -------------------------------------------------------------------------------------


def verify_sample(app, rng, questions):
    """Derived fields and stored HTML of a sample, recomputed by the app's own code."""
    problems = []
    with app.app_context():
        for thread_id in rng.sample(range(1, questions + 1), min(200, questions)):
            thread = db.session.get(Thread, thread_id)
            published_answers = db.session.scalar(
                select(func.count()).where(
                    Post.thread_id == thread.id, Post.post_type == "answer",
                    Post.status == "published", Post.deleted_at.is_(None),
                )
            )  # fmt: skip
            if published_answers != thread.answer_count:
                problems.append(f"thread {thread_id}: answer_count {thread.answer_count}")
            if thread.question is not None and thread.score != thread.question.score:
                problems.append(f"thread {thread_id}: score")
            question = thread.question
            public = question is not None and question.status == "published" and (
                question.deleted_at is None
            )
            if thread.is_public != public:
                problems.append(f"thread {thread_id}: is_public {thread.is_public}")
        user_ids = db.session.scalars(select(User.id).order_by(func.random()).limit(60)).all()
        for user_id in user_ids:
            stored = db.session.get(User, user_id).reputation
            if stored != reputation_service.compute_reputation(user_id):
                problems.append(f"user {user_id}: reputation {stored}")
        for tag in db.session.scalars(select(Tag)):
            count = db.session.scalar(
                select(func.count()).select_from(thread_tags)
                .join(Post, (Post.thread_id == thread_tags.c.thread_id)
                      & (Post.post_type == "question"))
                .where(thread_tags.c.tag_id == tag.id, Post.status == "published",
                       Post.deleted_at.is_(None))
            )  # fmt: skip
            if count != tag.question_count:
                problems.append(f"tag {tag.slug}: question_count {tag.question_count} != {count}")
        for post in db.session.scalars(select(Post).order_by(func.random()).limit(100)):
            render = render_plain if post.post_type == "comment" else render_markdown
            if render(post.body_md) != post.body_html:
                problems.append(f"post {post.id}: stored HTML differs from rendering")
    return problems


def database_size(app):
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            path = Path(db.engine.url.database)
            return sum(
                Path(f"{path}{s}").stat().st_size
                for s in ("", "-wal")
                if Path(f"{path}{s}").exists()
            )
        return db.session.scalar(select(func.pg_database_size(func.current_database())))


def directory_size(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


# Main ---------------------------------------------------------------------------------------


def main(argv=None):
    args = parse_args(argv)
    instance = args.instance.resolve()
    instance.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{instance / 'forum.db'}"
    timings = {}
    started = time.perf_counter()

    def phase(name, since):
        timings[name] = time.perf_counter() - since
        print(f"  {name:<34} {timings[name]:7.1f} s", flush=True)
        return time.perf_counter()

    print(f"database: {make_url(url).render_as_string(hide_password=True)}")
    print(f"search engine: {os.environ.get('SEARCH_ENGINE', 'tantivy')} (SEARCH_ENGINE)")
    print(f"instance: {instance}")
    prepare_database(url, instance, args.reset)
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance), "SEARCH_ENCODER": "fake",
        "SEARCH_ENGINE": os.environ.get("SEARCH_ENGINE", "tantivy"),
        "SEARCH_FOLLOW_IN_PROCESS": True, "JOBS_MODE": "inline", "RATELIMIT_ENABLED": False,
    })  # fmt: skip
    with app.app_context():
        flask_migrate.upgrade()
    mark = phase("migrations", started)

    rng = random.Random(args.seed)
    factory = TextFactory(rng)
    mismatches = check_rendering(factory)
    if mismatches:
        raise SystemExit(f"synthetic HTML differs from forum.markup for {mismatches[:3]}")
    flagged = flagged_texts(app, factory)
    mark = phase("text, HTML check, moderation model", mark)

    now = args.now.astimezone(UTC).replace(tzinfo=None)  # naive UTC, as UTCDateTime stores
    generator = ForumGenerator(args, factory, rng, now, flagged)
    tag_records = json.loads((ROOT / "seed" / "tags.json").read_text(encoding="utf-8"))
    known = {record["slug"] for record in tag_records}
    tag_records += [{"slug": s, "name": s, "description": None}
                    for s in factory.tags_in_use if s not in known]  # fmt: skip
    with app.app_context():
        loader = (SqliteLoader if db.engine.dialect.name == "sqlite" else PostgresLoader)(db.engine)
        loader.write("users", generator.users())
        loader.write("tags", generator.tags(tag_records))
        loader.commit()
        counts = generator.answer_counts()
        written = Counter()
        for first in range(1, args.questions + 1, CHUNK_THREADS):
            ids = list(range(first, min(first + CHUNK_THREADS, args.questions + 1)))
            rows = generator.chunk(ids, counts[first - 1 : first - 1 + len(ids)])
            for table in TABLE_ORDER:
                if rows.get(table):
                    loader.write(table, rows[table])
                    written[table] += len(rows[table])
            loader.commit()
            if (first - 1) % (CHUNK_THREADS * 10) == 0:
                print(f"    {ids[-1]:>7} threads, {written['posts']:>7} posts "
                      f"({time.perf_counter() - mark:.0f} s)", flush=True)  # fmt: skip
        mark = phase("generate and write rows", mark)
        loader.update("UPDATE users SET reputation = ? WHERE id = ?", generator.final_user_rows())
        loader.update(
            "UPDATE tags SET question_count = ? WHERE slug = ?",
            [(count, slug) for slug, count in generator.tag_counts.items()],
        )
        loader.commit()
        loader.finish()
        mark = phase("reputation, tag counts, checks, stats", mark)

    problems = verify_sample(app, random.Random(args.seed + 1), args.questions)
    if problems:
        raise SystemExit("derived fields disagree with the app:\n  " + "\n  ".join(problems[:20]))
    mark = phase("verify a sample with the app's code", mark)
    rows_seconds = time.perf_counter() - started

    manifest = {
        "database_url": url,
        "search_encoder": "fake" if args.index == "keyword" else None,
        # the keyword engine: tantivy (the default), or whoosh (SEARCH_ENGINE)
        "search_engine": app.config["SEARCH_ENGINE"],
        "password": BENCH_PASSWORD,
        "users": args.users,
        "questions": args.questions,
        "created_at": datetime.now(UTC).isoformat(),
    }
    index_note = "no search index (--index none)"
    if args.index == "keyword":
        if args.index_from:
            shutil.rmtree(instance / "search-v2", ignore_errors=True)
            shutil.copytree(args.index_from, instance / "search-v2")
        # As a node's follower builds it (vectors stored in the database, follow.json written),
        # so load.py's follower starts from here instead of building again.
        report = Follower(app).rebuild()
        with app.app_context():
            indexing.search_engine().close()
        index_note = (
            f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.removed} removed; {report.embedded_passages} passages embedded by the "
            "FAKE encoder (hashed n-grams, not the real model)"
        )
        mark = phase("search index (keyword + fake vectors)", mark)
    (instance / MANIFEST).write_text(json.dumps(manifest, indent=2))

    print("\ncontent:")
    for name, value in sorted(generator.totals.items()):
        print(f"  {name:<34} {value:>9,}")
    print(f"  {'votes':<34} {written['votes']:>9,}")
    print(f"  {'notifications':<34} {written['notifications']:>9,}")
    print(f"  {'users':<34} {args.users:>9,}   password: {BENCH_PASSWORD}")
    print(f"\nsearch: {index_note}")
    print(f"database size: {database_size(app) / 2**20:,.0f} MiB")
    if (instance / "search-v2").exists():
        print(f"search index size: {directory_size(instance / 'search') / 2**20:,.0f} MiB")
    print(f"rows and checks: {rows_seconds:.0f} s; total: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
