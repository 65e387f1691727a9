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
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import FileStorage

from forum import jobs
from forum.extensions import db
from forum.facebook_archive import BadArchive, name_key, read_archive
from forum.indexing import index_threads
from forum.markup import render_markdown, render_plain, slugify
from forum.models import FacebookAuthor, ImportedPost, Post, Revision, Tag, Thread, User
from forum.services import assistant, screening, uploads
from forum.services import tags as tag_service
from forum.services.errors import ValidationError
from forum.services.posts import refresh_thread
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
INDEX_BATCH = 200

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


def import_archive(path, *, dry_run=False, group=None, match_window_days=7, on_progress=None):
    """Import every readable post and comment of `path`; see FacebookReport for what happened.
    `on_progress(done, total)` is called after each thread. Raises BadArchive when `path` is
    not an archive at all."""
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
    for done, post in enumerate(posts, start=1):
        _import_unit(state, post, sorted(children.get(post.key, []), key=lambda c: c.created))
        if on_progress is not None:
            on_progress(done, len(posts))
    if not dry_run:
        touched = db.session.scalars(select(Tag).where(Tag.id.in_(state.touched_tags))).all()
        tag_service.refresh_counts(touched)
        db.session.commit()
        index_imported(sorted(report.thread_ids))
    report.placeholders = len(state.new_authors)
    return report


def index_imported(thread_ids):
    """Search indexing through the index job: queued for the workers under RQ, else run here in
    batches (a command-line import has no worker thread to wait for)."""
    if not thread_ids:
        return
    if current_app.extensions["jobs"].mode == "rq":
        for thread_id in thread_ids:
            jobs.enqueue("index_threads", thread_id)
        return
    for start in range(0, len(thread_ids), INDEX_BATCH):
        index_threads(thread_ids[start : start + INDEX_BATCH])


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
        self.touched_tags = set()
        self.first_seen = {}
        for item in [*archive.posts, *archive.comments]:
            key = name_key(item.author)
            if key not in self.first_seen or item.created < self.first_seen[key]:
                self.first_seen[key] = item.created


class _Skip(Exception):
    """An entry that cannot become a post; its message is reported."""


def _import_unit(state, post, comments):
    """One thread: its question (new or imported before) and the comments not imported yet."""
    report = state.report
    created_files = []
    created = {}  # key -> Post made in this unit
    try:
        if post.key in state.known:
            question = db.session.get(Post, state.known[post.key])
            if question is None:  # the post was removed since: its comments have no home
                raise _Skip(_("bài gốc đã nhập trước đây không còn nữa"))
            report.skipped_existing += 1
            thread = question.thread
            new_thread = False
        else:
            thread, question = _add_question(state, post, created_files)
            created[post.key] = question
            new_thread = True
        added = 0
        for comment in comments:
            if comment.key in state.known:
                report.skipped_existing += 1
                continue
            try:
                with db.session.begin_nested():
                    made = _add_reply(state, thread, question, comment, created, created_files)
            except (_Skip, ValidationError) as error:
                report.bad_entries.append((comment.source, _message(error)))
                continue
            created[comment.key] = made
            added += 1
        if not new_thread and not added:
            return
        _refresh(thread)
        counts = [_summary(made) for made in created.values()]
        if state.dry_run:
            db.session.rollback()
            uploads.discard(created_files)
        else:
            thread_id = thread.id
            known = {key: made.id for key, made in created.items()}
            db.session.commit()
            report.thread_ids.add(thread_id)
            state.known.update(known)
        for summary in counts:
            _count(report, *summary)
    except (_Skip, ValidationError) as error:
        db.session.rollback()
        uploads.discard(created_files)
        report.bad_entries.append((post.source, _message(error)))
        # Its comments are listed too: nothing is dropped without a word.
        for comment in comments:
            if comment.key not in state.known:
                report.unmatched.append((comment.source, _("bài gốc không nhập được")))
    except SQLAlchemyError as error:
        db.session.rollback()
        uploads.discard(created_files)
        log.exception("Facebook import: %s failed", post.source)
        report.bad_entries.append((post.source, f"database error: {error.__class__.__name__}"))


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


def _add_question(state, post, created_files):
    author = _author(state, post.author)
    text = post.text or _("Ảnh của %(name)s từ nhóm Facebook.", name=post.author)
    title = make_title(text)
    body = _body(text)
    tag_pairs = hashtags(text)
    if not tag_pairs:
        tag_pairs = [(tag.slug, tag.name) for tag, _w in assistant.suggest_tags(title, body, 3)]
    tag_pairs = tag_pairs or [FALLBACK_TAG]
    validate_question(title, body, tag_pairs)
    verdict = screening.screen(author, body, title=title, is_question=True)
    attachments = _photos(state, post, author, created_files)
    thread = Thread(
        title=title,
        slug=slugify(title),
        author_id=author.id,
        created_at=post.created,
        last_activity_at=post.created,
        tags=tag_service.tags_for(tag_pairs),
        import_key=post.key,
    )
    question = _new_post(thread, "question", author, body, post, verdict, attachments)
    db.session.add_all([thread, question])
    db.session.flush()
    _finish(question, verdict, post, title=title, tags=", ".join(s for s, _n in tag_pairs))
    state.touched_tags.update(tag.id for tag in thread.tags)
    return thread, question


def _add_reply(state, thread, question, comment, created, created_files):
    """A comment on the post becomes an answer (a very short one a comment on the question);
    a reply becomes a comment under the answer it replies to (a long one, or one with a photo,
    an answer, since comments hold neither)."""
    author = _author(state, comment.author)
    text = comment.text or _("(ảnh từ nhóm Facebook)")
    parent = created.get(comment.parent_key)
    if parent is None and comment.parent_key in state.known:
        parent = db.session.get(Post, state.known[comment.parent_key])
    if parent is None:
        raise _Skip(_("bình luận được trả lời chưa nhập được"))
    if parent.post_type == "comment":
        parent = parent.parent  # replies in a reply chain all hang under the first comment
    as_answer = (comment.kind == "comment" and len(text) >= ANSWER_MIN) or (
        comment.kind == "reply" and (len(text) > COMMENT_MAX or comment.photos)
    )
    if comment.kind == "comment" and comment.photos:
        as_answer = True
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
    verdict = screening.screen(author, body)
    attachments = _photos(state, comment, author, created_files) if as_answer else []
    made = _new_post(thread, post_type, author, body, comment, verdict, attachments, parent)
    db.session.add(made)
    db.session.flush()
    _finish(made, verdict, comment)
    return made


def _new_post(thread, post_type, author, body, item, verdict, attachments, parent=None):
    html = render_plain(body) if post_type == "comment" else render_markdown(body)
    post = Post(
        thread=thread,
        post_type=post_type,
        parent=parent,
        author_id=author.id,
        body_md=body,
        body_html=html,
        status=screening.status_for(verdict),
        created_at=item.created,
        attachments=attachments,
    )
    post._fb_source, post._fb_verdict = item.source, verdict
    return post


def _finish(post, verdict, item, title=None, tags=None):
    db.session.add(
        Revision(
            post_id=post.id,
            number=1,
            author_id=post.author_id,
            created_at=post.created_at,
            title=title,
            tags=tags,
            body_md=post.body_md,
        )
    )
    db.session.add(ImportedPost(key=item.key, post_id=post.id))
    screening.record(post, verdict)


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
            username=_free_username(name),
            display_name=name[:60],
            # Never matches a password: a valid hash of nothing anyone knows, cheap to make.
            password_hash=f"scrypt:32768:8:1${secrets.token_hex(8)}${secrets.token_hex(64)}",
            is_placeholder=True,
            created_at=first_seen,
        )
        db.session.add(user)
        db.session.flush()
        row = FacebookAuthor(name_key=key, name=name[:120], user_id=user.id)
        db.session.add(row)
        db.session.flush()
        state.new_authors.add(key)
    elif row.claimed_by_id is None and first_seen and row.user.created_at > first_seen:
        row.user.created_at = first_seen  # a newer archive reaches further back
    user = row.claimed_by if row.claimed_by_id else row.user
    if not state.dry_run:
        state.authors[key] = user  # in a dry run every thread is rolled back, authors too
    return user


def _free_username(name):
    base = "fb." + (slugify(name, max_length=40).replace("-", "_") or "thanh_vien")
    base = base[:27].rstrip("_.")
    if len(base) < 4:
        base = "fb.thanh_vien"
    candidate, number = base, 1
    while db.session.scalar(select(User.id).where(User.username == candidate)):
        number += 1
        candidate = f"{base[: 30 - len(str(number)) - 1]}_{number}"
    assert USERNAME_RE.match(candidate)
    return candidate
