"""Loads the demo content shipped in seed/: users, tags, threads. Safe to run again."""

import json
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from forum.config import ROOT
from forum.extensions import db
from forum.importer import import_lines
from forum.models import Tag, User, utcnow
from forum.services.accounts import hash_password

SEED_DIR = ROOT / "seed"
DEMO_PASSWORD = "xutra2026"  # documented in the README; demo accounts only


def seed(seed_dir=SEED_DIR):
    """Create what is missing; returns (users added, import report)."""
    seed_dir = Path(seed_dir)
    added = _seed_users(json.loads((seed_dir / "users.json").read_text(encoding="utf-8")))
    _seed_tags(json.loads((seed_dir / "tags.json").read_text(encoding="utf-8")))
    lines = []
    for path in sorted(seed_dir.glob("threads_*.jsonl")):
        lines.extend(path.read_text(encoding="utf-8").splitlines())
    return added, import_lines(lines)


def _seed_users(rows):
    existing = {user.username: user for user in db.session.scalars(select(User))}
    password_hash = hash_password(DEMO_PASSWORD)
    added = 0
    for row in rows:
        # Long-time members joined months ago, before their first post (not "13 minutes ago").
        joined = datetime.fromisoformat(row["joined"]) if row.get("joined") else utcnow()
        user = existing.get(row["username"])
        if user is not None:
            if user.created_at > joined:
                user.created_at = joined  # an earlier seed stamped the time it ran
            continue
        db.session.add(
            User(
                username=row["username"],
                display_name=row.get("display_name"),
                role=row.get("role", "member"),
                bio=row.get("bio"),
                password_hash=password_hash,
                created_at=joined,
            )
        )
        added += 1
    db.session.commit()
    return added


def _seed_tags(rows):
    existing = {tag.slug: tag for tag in db.session.scalars(select(Tag))}
    for row in rows:
        tag = existing.get(row["slug"]) or Tag(slug=row["slug"], question_count=0)
        tag.name = row["name"]
        tag.description = row.get("description")
        db.session.add(tag)
    db.session.commit()
