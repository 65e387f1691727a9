"""Importing a Facebook group's history: posts become questions, comments answers, replies
comments, authors placeholder accounts a member can claim later. Every imported post passes
the automatic moderation like a new one (held ones wait in the review queue, nothing is
dropped); each entry is remembered by key, so a second run adds nothing and a run on a newer
archive adds only what is new.
"""

import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from io import BytesIO
from pathlib import PurePosixPath

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import FileStorage

from forum.extensions import db
from forum.facebook_archive import BadArchive, name_key, read_archive
from forum.indexing import apply_search_changes
from forum.markup import slugify
from forum.models import FacebookAuthor, ImportedPost, Post, Thread, User
from forum.services import assistant, uploads
from forum.services import tags as tag_service
from forum.services.errors import ValidationError
from forum.services.posts import new_post, new_thread, refresh_thread, screen_new, store
from forum.services.validation import (
    ANSWER_MIN,
    COMMENT_MAX,
    TAG_MAX,
    TAG_MIN,
    TAGS_MAX,
    TITLE_MAX,
    TITLE_MIN,
    USERNAME_RE,
    split_tags,
    validate_answer,
    validate_comment,
    validate_question,
)

log = logging.getLogger(__name__)

HASHTAG = re.compile(r"(?<![\w&/])#(\w[\w-]{1,60})")
SENTENCE_END = re.compile(r"(?<=[.?!…])\s+|\n+")
FALLBACK_TAG = ("chua-phan-loai", "chưa phân loại")
BATCH = 100  # threads written per transaction

__all__ = ["BadArchive", "FacebookReport", "import_archive"]


@dataclass
class FacebookReport:
    dry_run: bool = False
    files_read: int = 0
    questions: int = 0
    answers: int = 0
    comments: int = 0
    photos: int = 0
    placeholders: int = 0
    skipped_existing: int = 0
    held: list[tuple[str, str]] = field(default_factory=list)  # (source, reasons)
    bad_files: list[tuple[str, str]] = field(default_factory=list)
    bad_entries: list[tuple[str, str]] = field(default_factory=list)
    unmatched: list[tuple[str, str]] = field(default_factory=list)
    photo_problems: list[tuple[str, str]] = field(default_factory=list)
    groups: dict[str, int] = field(default_factory=dict)  # group name -> posts in the archive
    thread_ids: set[int] = field(default_factory=set)

    @property
    def created(self):
        return self.questions + self.answers + self.comments


def import_archive(
    path, *, dry_run=False, group=None, match_window_days=7, on_progress=None, index=True
):
    """Import every readable post and comment of `path`; see FacebookReport for what happened.
    `on_progress(done, total)` is called after each thread; `index=False` leaves the search
    index to the caller (index_imported). Raises BadArchive when `path` is not an archive."""
    archive = read_archive(path, group=group, match_window=timedelta(days=match_window_days))
    report = FacebookReport(
        dry_run=dry_run,
        files_read=archive.files_read,
        bad_files=list(archive.bad_files),
        bad_entries=list(archive.bad_entries),
        unmatched=[(c.source, reason) for c, reason in archive.unmatched],
    )
    for post in archive.posts:
        report.groups[post.group] = report.groups.get(post.group, 0) + 1
    children = {}
    for comment in archive.comments:
        children.setdefault(comment.post_key, []).append(comment)
    state = _State(archive, report, dry_run)
    posts = sorted(archive.posts, key=lambda p: (p.created, p.key))
    session = db.session()
    # Authors and tags are reused from thread to thread: committing must not expire them (which
    # would reload each one per use). Nothing else writes these rows during an import.
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    units = [
        _Unit(post, sorted(children.get(post.key, []), key=lambda c: c.created)) for post in posts
    ]
    try:
        _import_batches(state, units, on_progress)
    finally:
        session.expire_on_commit = expire_on_commit
    if not dry_run:
        tag_service.refresh_counts([tag for tag in state.touched_tags if _saved(tag)])
        db.session.commit()
        if index:
            index_imported(sorted(report.thread_ids))
    report.placeholders = len(state.new_authors)
    return report


def index_imported(thread_ids):
    """Make the imported threads searchable now: their change rows are already stored, so this
    node applies them (another node's follower finds them on its own)."""
    if thread_ids:
        apply_search_changes()


class _State:
    """What one run knows: the keys already imported, the authors, the tags it touched."""

    def __init__(self, archive, report, dry_run):
        self.report = report
        self.dry_run = dry_run
        self.known = dict(
            db.session.execute(
                select(ImportedPost.key, ImportedPost.post_id).where(ImportedPost.key.like("fb:%"))
            ).all()
        )
        self.authors = {}  # name key -> User the posts go to
        self.new_authors = set()
        self.touched_tags = set()  # Tag rows
        self.tags = {}  # slug -> Tag
        self.usernames = set()  # placeholder usernames given out in this run
        self.first_seen = {}
        for item in [*archive.posts, *archive.comments]:
            key = name_key(item.author)
            if key not in self.first_seen or item.created < self.first_seen[key]:
                self.first_seen[key] = item.created


class _Skip(Exception):
    """An entry that cannot become a post; its message is reported."""


@dataclass
class _Unit:
    """One thread's worth of work: its question (new, or imported before) and new comments."""

    post: object
    comments: list
    thread: Thread | None = None
    built: list = field(default_factory=list)  # (post, entry, title, tags), in order made
    created: dict = field(default_factory=dict)  # entry key -> Post made here
    files: list = field(default_factory=list)  # stored photos, removed if it does not make it


def _import_batches(state, units, on_progress):
    """Build threads in memory and write them BATCH at a time (one flush, one commit); if the
    database refuses a batch, its threads are written again one by one, so only the bad one is
    lost (and reported)."""
    batch = []
    for done, unit in enumerate(units, start=1):
        if _build(state, unit) and unit.built:
            batch.append(unit)
        if len(batch) >= BATCH:
            _save(state, batch)
            batch = []
        if on_progress is not None:
            on_progress(done, len(units))
    _save(state, batch)


def _build(state, unit):
    """Make the unit's posts (not yet flushed); False when its question cannot be imported."""
    report, post = state.report, unit.post
    try:
        with db.session.no_autoflush:
            if post.key in state.known:
                question = db.session.get(Post, state.known[post.key])
                if question is None:  # the post was removed since: its comments have no home
                    raise _Skip(_("bài gốc đã nhập trước đây không còn nữa"))
                report.skipped_existing += 1
                unit.thread = question.thread
            else:
                unit.thread, question = _add_question(state, post, unit.files, unit.built)
                unit.created[post.key] = question
            for comment in unit.comments:
                if comment.key in state.known:
                    report.skipped_existing += 1
                    continue
                try:
                    made = _add_reply(state, unit, comment)
                except (_Skip, ValidationError) as error:
                    report.bad_entries.append((comment.source, _message(error)))
                    continue
                unit.created[comment.key] = made
    except (_Skip, ValidationError) as error:
        uploads.discard(unit.files)
        report.bad_entries.append((post.source, _message(error)))
        # Its comments are listed too: nothing is dropped without a word.
        for comment in unit.comments:
            if comment.key not in state.known:
                report.unmatched.append((comment.source, _("bài gốc không nhập được")))
        return False
    return True


def _save(state, batch):
    if not batch:
        return
    try:
        _write(state, batch)
    except SQLAlchemyError as error:
        _roll_back(state, [f for unit in batch for f in unit.files])
        if len(batch) == 1:
            log.exception("Facebook import: %s failed", batch[0].post.source)
            state.report.bad_entries.append(
                (batch[0].post.source, f"database error: {error.__class__.__name__}")
            )
            return
        for unit in batch:
            again = _Unit(unit.post, unit.comments)
            if _build(state, again) and again.built:
                _save(state, [again])


def _write(state, batch):
    db.session.flush()
    with db.session.no_autoflush:  # the audit rows of new posts need no flush between them
        for unit in batch:
            for made, item, title, tags in unit.built:
                _finish(made, item, title, tags)
    for unit in batch:
        _refresh(unit.thread)
    counts = [_summary(made) for unit in batch for made, *_rest in unit.built]
    if state.dry_run:
        _roll_back(state, [f for unit in batch for f in unit.files])
    else:
        thread_ids = [unit.thread.id for unit in batch]
        known = {key: made.id for unit in batch for key, made in unit.created.items()}
        db.session.commit()
        state.report.thread_ids.update(thread_ids)
        state.known.update(known)
    for summary in counts:
        _count(state.report, *summary)


def _saved(row):
    return sa_inspect(row).persistent


def _roll_back(state, files):
    """Undo the thread, and forget the authors and tags that were made for it."""
    db.session.rollback()
    uploads.discard(files)
    state.authors = {k: user for k, user in state.authors.items() if _saved(user)}
    state.tags = {slug: tag for slug, tag in state.tags.items() if _saved(tag)}
    if not state.dry_run:
        state.new_authors = {k for k in state.new_authors if k in state.authors}


def _summary(post):
    """What the report says of a post, read before its transaction ends."""
    verdict = post._fb_verdict
    reasons = [r.code for r in verdict.reasons if r.action != "allow"] if verdict else []
    return post.post_type, len(post.attachments), post.status, post._fb_source, reasons


def _count(report, post_type, photos, status, source, reasons):
    if post_type == "question":
        report.questions += 1
    elif post_type == "answer":
        report.answers += 1
    else:
        report.comments += 1
    report.photos += photos
    if status != "published":
        report.held.append((source, ", ".join(reasons) or status))


def _message(error):
    if isinstance(error, ValidationError):
        return "; ".join(error.all_messages)
    return str(error)


# Building posts -------------------------------------------------------------------------------


def _add_question(state, post, files, built):
    text = post.text or _("Ảnh của %(name)s từ nhóm Facebook.", name=post.author)
    title = make_title(text)
    body = _body(text)
    tag_pairs = hashtags(text)
    if not tag_pairs:
        tag_pairs = [(tag.slug, tag.name) for tag, _w in assistant.suggest_tags(title, body, 3)]
    tag_pairs = tag_pairs or [FALLBACK_TAG]
    validate_question(title, body, tag_pairs)
    author = _author(state, post.author)  # only now: a failed post makes no placeholder
    verdict = screen_new(author, body, title=title, is_question=True)
    attachments = _photos(state, post, author, files)
    thread, question = new_thread(
        author, title, body, _tags(state, tag_pairs), verdict=verdict, created_at=post.created,
        attachments=attachments, import_key=post.key,
    )
    _remember(question, post, verdict)
    built.append((question, post, title, ", ".join(s for s, _n in tag_pairs)))
    return thread, question


def _add_reply(state, unit, comment):
    """A comment on the post becomes an answer (a very short one a comment on the question);
    a reply becomes a comment under the answer it replies to (a long one, or one with a photo,
    an answer, since comments hold neither)."""
    text = comment.text or _("(ảnh từ nhóm Facebook)")
    parent = unit.created.get(comment.parent_key)
    if parent is None and comment.parent_key in state.known:
        parent = db.session.get(Post, state.known[comment.parent_key])
    if parent is None:
        raise _Skip(_("bình luận được trả lời chưa nhập được"))
    if parent.post_type == "comment":
        parent = parent.parent  # replies in a reply chain all hang under the first comment
    if comment.kind == "comment":
        as_answer = len(text) >= ANSWER_MIN or bool(comment.photos)
    else:
        as_answer = len(text) > COMMENT_MAX or bool(comment.photos)
    if as_answer:
        body = _body(text)
        if len(body) < ANSWER_MIN:
            body = f"{body} {_('(ảnh từ nhóm Facebook)')}"
        validate_answer(body)
        post_type, parent = "answer", None
    else:
        body = text
        validate_comment(body)
        post_type = "comment"
    author = _author(state, comment.author)
    verdict = screen_new(author, body)
    attachments = _photos(state, comment, author, unit.files) if as_answer else []
    made = new_post(
        unit.thread, post_type, author, body, verdict=verdict, created_at=comment.created,
        parent=parent, attachments=attachments,
    )
    _remember(made, comment, verdict)
    unit.built.append((made, comment, None, None))
    return made


def _remember(post, item, verdict):
    """What the report and the write step need of a post built from an archive entry."""
    post._fb_source, post._fb_verdict = item.source, verdict


def _finish(post, item, title=None, tags=None):
    store(post, post._fb_verdict, title=title, tags=tags)
    db.session.add(ImportedPost(key=item.key, post_id=post.id))


def _tags(state, pairs):
    """Tag rows for [(slug, name)], remembered for the run (one query per new slug only)."""
    missing = [(slug, name) for slug, name in pairs if slug not in state.tags]
    if missing:
        for tag in tag_service.tags_for(missing):
            state.tags[tag.slug] = tag
    tags = [state.tags[slug] for slug, _n in pairs]
    state.touched_tags.update(tags)
    return tags


def _refresh(thread):
    refresh_thread(thread)
    latest = db.session.scalar(
        select(Post.created_at)
        .where(Post.thread_id == thread.id, Post.status == "published", Post.deleted_at.is_(None))
        .order_by(Post.created_at.desc())
        .limit(1)
    )
    if latest is not None:
        thread.last_activity_at = max(thread.created_at, latest)


def _photos(state, item, author, created_files):
    """The entry's photos, checked and re-encoded like any upload; problems are reported and
    the post goes in without the photo that failed."""
    limit = current_app.config["MAX_IMAGES_PER_POST"]
    if item.photos and author.id is None:
        db.session.flush()  # an upload records its uploader's id
    files = []
    for photo in item.photos:
        name = PurePosixPath(photo.uri).name
        if photo.data is None:
            state.report.photo_problems.append((item.source, _("thiếu ảnh %(name)s", name=name)))
        elif not photo.data:
            state.report.photo_problems.append((item.source, _("ảnh %(name)s quá lớn", name=name)))
        elif len(files) >= limit:
            state.report.photo_problems.append(
                (item.source, _("ảnh %(name)s bị bỏ: tối đa %(n)d ảnh một bài", name=name, n=limit))
            )
        else:
            files.append(FileStorage(stream=BytesIO(photo.data), filename=name))
    stored = []
    for upload in files:  # one at a time, so one bad photo does not take the others with it
        try:
            stored += uploads.store_images([upload], author)
        except ValidationError as error:
            state.report.photo_problems.append((item.source, _message(error)))
    created_files.extend(stored)
    return stored


# Text ----------------------------------------------------------------------------------------


def make_title(text):
    """The first sentence (more when it is too short), without hashtags, cut at a word."""
    plain = re.sub(r"\s+", " ", HASHTAG.sub(" ", text)).strip() or text.strip()
    sentences = [s.strip() for s in SENTENCE_END.split(HASHTAG.sub(" ", text)) if s.strip()]
    title = ""
    for sentence in sentences:
        title = (title + " " + re.sub(r"\s+", " ", sentence)).strip()
        if len(title) >= TITLE_MIN:
            break
    title = title or plain
    if len(title) > TITLE_MAX:
        cut = title[: TITLE_MAX - 1]
        cut = cut[: cut.rfind(" ")] if " " in cut[TITLE_MIN:] else cut
        title = cut.rstrip(" ,;:-") + "…"
    return title


def _body(text):
    """Facebook breaks lines where Markdown would join them: each line its own paragraph."""
    return re.sub(r"(?<!\n)\n(?!\n)", "\n\n", text)


def hashtags(text):
    """Hashtags as tags: "#Chat_GPT" -> ("chat-gpt", "Chat GPT"); at most TAGS_MAX."""
    names = []
    for raw in HASHTAG.findall(text):
        name = raw.replace("_", " ").strip(" -")
        if TAG_MIN <= len(name) <= TAG_MAX:
            names.append(name)
    return split_tags(names)[:TAGS_MAX]


# Authors -------------------------------------------------------------------------------------


def _author(state, name):
    """The account a Facebook name's posts go to: its claimer, or its placeholder (made once)."""
    key = name_key(name)
    if key in state.authors:
        return state.authors[key]
    row = db.session.scalar(select(FacebookAuthor).where(FacebookAuthor.name_key == key))
    first_seen = state.first_seen.get(key)
    if row is None:
        user = User(
            username=_free_username(state, name),
            display_name=name[:60],
            # Never matches a password: a valid hash of nothing anyone knows, cheap to make.
            password_hash=f"scrypt:32768:8:1${secrets.token_hex(8)}${secrets.token_hex(64)}",
            is_placeholder=True,
            created_at=first_seen,
        )
        row = FacebookAuthor(name_key=key, name=name[:120], user=user)
        db.session.add_all([user, row])
        state.new_authors.add(key)
    elif row.claimed_by_id is None and first_seen and row.user.created_at > first_seen:
        row.user.created_at = first_seen  # a newer archive reaches further back
    user = row.claimed_by if row.claimed_by_id else row.user
    state.authors[key] = user
    return user


def _free_username(state, name):
    """fb.<name>, numbered when taken (in the database or earlier in this unflushed batch)."""
    base = "fb." + (slugify(name, max_length=40).replace("-", "_") or "thanh_vien")
    base = base[:27].rstrip("_.")
    if len(base) < 4:
        base = "fb.thanh_vien"
    candidate, number = base, 1
    while candidate in state.usernames or db.session.scalar(
        select(User.id).where(User.username == candidate)
    ):
        number += 1
        candidate = f"{base[: 30 - len(str(number)) - 1]}_{number}"
    assert USERNAME_RE.match(candidate)
    state.usernames.add(candidate)
    return candidate
