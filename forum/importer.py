"""Bulk import of threads from JSON Lines; the shipped demo content uses the same format.

One object a line: {"title", "body", "tags": [], "author", "created_at",
"answers": [{"body", "author", "created_at", "accepted"}]}. The seed adds optional "key", "views",
"upvotes", "downvotes" and "comments". Each thread gets an import key, so a second run adds nothing.

Authors must be members already: a thread naming an unknown author is reported and skipped,
unless the caller asks to create such authors (`flask import --create-authors`); those get an
account nobody can log in to and are listed in the report, so nobody is created silently.

The content is trusted (the demo, a forum's own export): its posts are published without the
automatic checks unless the caller asks for them (`screen=True`, `flask import --screen`).
"""

import hashlib
import json
import logging
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from forum.extensions import db
from forum.markup import normalize_text
from forum.models import Tag, Thread, User, Vote
from forum.services import reputation
from forum.services import tags as tag_service
from forum.services.accounts import hash_password
from forum.services.errors import ValidationError
from forum.services.posts import new_post, new_thread, refresh_thread, screen_new, store
from forum.services.validation import (
    USERNAME_RE,
    split_tags,
    validate_answer,
    validate_comment,
    validate_question,
)

VIETNAM = timezone(timedelta(hours=7))
logger = logging.getLogger(__name__)


class BadRecord(ValueError):
    pass


@dataclass
class ImportReport:
    imported: int = 0
    skipped_existing: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    thread_ids: list[int] = field(default_factory=list)  # the threads this run added
    unknown_authors: set[str] = field(default_factory=set)  # named but not members: skipped
    created_authors: list[str] = field(default_factory=list)  # made with create_authors


class UnknownAuthor(BadRecord):
    def __init__(self, name):
        super().__init__(f"unknown author {name!r} (not a member; see --create-authors)")
        self.name = name


def import_lines(lines, *, users_cache=None, create_authors=False, progress=None, screen=False):
    """Import every good line; bad ones are reported with their line number and skipped.

    `progress`, if given, is called with each line's number once it is done (a progress bar).
    """
    if not screen:
        logger.info("Trusted import: posts are published without the automatic checks")
    report = ImportReport()
    users = Authors(users_cache if users_cache is not None else {}, create_authors, report)
    touched_users = set()
    for number, line in enumerate(lines, start=1):
        if progress is not None:
            progress(number)
        if not line.strip():
            continue
        created_before = len(report.created_authors)
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise BadRecord("a line must hold a JSON object")
            key = import_key(record)
            if db.session.scalar(select(Thread.id).where(Thread.import_key == key)):
                report.skipped_existing += 1
                continue
            thread_id, authors = import_thread(record, key, users, screen)
            db.session.commit()
            touched_users |= authors
            report.imported += 1
            report.thread_ids.append(thread_id)
        except (json.JSONDecodeError, BadRecord, ValidationError, KeyError, TypeError) as error:
            db.session.rollback()
            users.forget_created_since(created_before)
            if isinstance(error, UnknownAuthor):
                report.unknown_authors.add(error.name)
            report.errors.append((number, describe(error)))
    for user_id in touched_users:
        user = db.session.get(User, user_id)
        user.reputation = reputation.compute_reputation(user_id)
    tag_service.refresh_counts(db.session.scalars(select(Tag)).all())
    db.session.commit()
    return report


class Authors:
    """Members by username for one import; creates unknown ones only when asked to."""

    def __init__(self, cache, create, report):
        self.cache, self.create, self.report = cache, create, report

    def get(self, username):
        name = username.strip().lower()
        if not USERNAME_RE.match(name):
            raise BadRecord(f"bad author name {username!r}")
        if name not in self.cache:
            user = db.session.scalar(select(User).where(User.username == name))
            if user is None:
                if not self.create:
                    raise UnknownAuthor(name)
                # An account nobody can log in to until a password is set (a moderator can
                # make them a reset link); the report lists every one made.
                user = User(
                    username=name, password_hash=hash_password(secrets.token_hex(16))
                )
                db.session.add(user)
                db.session.flush()
                self.report.created_authors.append(name)
            self.cache[name] = user
        return self.cache[name]

    def forget_created_since(self, count):
        """Authors created for a line that was rolled back do not exist after all."""
        for name in self.report.created_authors[count:]:
            self.cache.pop(name, None)
        del self.report.created_authors[count:]


def describe(error):
    if isinstance(error, json.JSONDecodeError):
        return f"invalid JSON: {error.msg}"
    if isinstance(error, KeyError):
        return f"missing field {error.args[0]!r}"
    return str(error)


def import_key(record):
    if record.get("key"):
        return "seed:" + str(record["key"])[:59]
    basis = json.dumps(
        [record.get("title"), record.get("author"), record.get("created_at")], ensure_ascii=False
    )
    return hashlib.sha256(basis.encode()).hexdigest()


def import_thread(record, key, users, screen=False):
    """Add one thread with its answers, comments and votes; returns its id and the ids of the
    users involved."""
    title = normalize_text(_text(record, "title"))
    body = normalize_text(_text(record, "body"))
    tag_pairs = split_tags(record.get("tags") or [])
    validate_question(title, body, tag_pairs)
    author = users.get(_text(record, "author"))
    created = _when(record.get("created_at"))
    rng = random.Random(key)
    verdict = screen_new(author, body, title=title, is_question=True, screen=screen)
    thread, question = new_thread(
        author, title, body, tag_service.tags_for(tag_pairs), verdict=verdict,
        created_at=created, import_key=key, view_count=int(record.get("views") or 0),
    )
    db.session.flush()
    store(question, verdict, title=title, tags=", ".join(slug for slug, _ in tag_pairs))
    involved = {author.id}
    _comments(record, question, users, involved, screen)
    _votes(record, question, users, rng)
    answers = record.get("answers") or []
    if not isinstance(answers, list):
        raise BadRecord("answers must be a list")
    for item in answers:
        if not isinstance(item, dict):
            raise BadRecord("each answer must be an object")
        answer_body = normalize_text(_text(item, "body"))
        validate_answer(answer_body)
        answerer = users.get(_text(item, "author"))
        when = max(_when(item.get("created_at")), created)
        verdict = screen_new(answerer, answer_body, screen=screen)
        answer = new_post(thread, "answer", answerer, answer_body, verdict=verdict, created_at=when)
        db.session.flush()
        store(answer, verdict)
        involved.add(answerer.id)
        if item.get("accepted"):
            thread.accepted_answer_id = answer.id
        thread.last_activity_at = max(thread.last_activity_at, when)
        _comments(item, answer, users, involved, screen)
        _votes(item, answer, users, rng)
    thread.score = question.score
    refresh_thread(thread)
    return thread.id, involved


def _text(record, name):
    value = record[name]
    if not isinstance(value, str):
        raise BadRecord(f"{name} must be text")
    return value


def _when(value):
    if not value:
        return datetime.now(VIETNAM)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as error:
        raise BadRecord(f"bad date {value!r}") from error
    # Dates without a zone are local times in Việt Nam, as the group's members wrote them.
    return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)


def _comments(record, parent, users, involved, screen):
    for item in record.get("comments") or []:
        body = normalize_text(_text(item, "body"))
        validate_comment(body)
        author = users.get(_text(item, "author"))
        when = max(_when(item.get("created_at")), parent.created_at)
        verdict = screen_new(author, body, screen=screen)
        comment = new_post(
            parent.thread, "comment", author, body, verdict=verdict, created_at=when, parent=parent
        )
        db.session.flush()
        store(comment, verdict)
        involved.add(author.id)


def _votes(record, post, users, rng):
    """Demo votes from other existing members, picked the same way on every run."""
    up, down = int(record.get("upvotes") or 0), int(record.get("downvotes") or 0)
    if not up and not down:
        return
    voters = sorted(
        (u for u in db.session.scalars(select(User)).all() if u.id != post.author_id),
        key=lambda u: u.id,
    )
    rng.shuffle(voters)
    chosen = voters[: up + down]
    for index, voter in enumerate(chosen):
        db.session.add(
            Vote(
                user_id=voter.id,
                post_id=post.id,
                value=1 if index < up else -1,
                created_at=post.created_at,
            )
        )
    post.score = sum(1 if i < up else -1 for i in range(len(chosen)))
