"""Asking, answering, commenting, editing, deleting and accepting: one transaction each."""

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from forum import indexing, jobs
from forum.extensions import db
from forum.markup import normalize_text, render_markdown, render_plain, slugify
from forum.models import Post, Revision, Thread, utcnow
from forum.permissions import can_accept, can_delete, can_edit, can_post, can_redact
from forum.services import mentions, notifications, screening, uploads
from forum.services import tags as tag_service
from forum.services.assistant import personal_data
from forum.services.audit import log
from forum.services.errors import PermissionDenied, PersonalData, ValidationError
from forum.services.reputation import refresh_reputation
from forum.services.suspension import refuse_if_suspended
from forum.services.validation import (
    split_tags,
    validate_answer,
    validate_comment,
    validate_question,
)


def _require_poster(user):
    refuse_if_suspended(user)
    if not can_post(user):
        raise PermissionDenied(_("Bạn cần đăng nhập để đăng bài."))


def _after_commit(thread):
    """Work that follows a change to a thread, off the request thread."""
    indexing.search_changed(thread.id)


def find_personal_data(fields):
    """{field: [kinds of personal data]} for the fields of a post that seem to hold some."""
    return {name: kinds for name, text in fields.items() if (kinds := personal_data(text or ""))}


def check_personal_data(fields, confirmed):
    """Stop a post that seems to hold personal data, unless its author confirmed it: it would
    be public at once, and a phone number is what scammers look for."""
    found = {} if confirmed else find_personal_data(fields)
    if found:
        raise PersonalData(found)


# Building posts -------------------------------------------------------------------------------
# Every way a post comes in (asking, answering, commenting, the JSONL importer, the Facebook
# import) builds its rows with these, so a post is rendered, checked, given its first revision
# and recorded by moderation one way. The caller flushes, refreshes the thread and commits.


def screen_new(author, body, *, title=None, is_question=False, screen=True):
    """The checks' verdict on a new post. Only a trusted import passes screen=False (its
    caller logs that it did): its posts are published as they come."""
    if not screen:
        return None
    return screening.screen(author, body, title=title, is_question=is_question)


def new_thread(author, title, body, tags, *, verdict, created_at, attachments=(), **fields):
    """A thread and its question, added to the session; `fields` are other Thread columns
    (an import's key and view count)."""
    thread = Thread(
        title=title,
        slug=slugify(title),
        author=author,
        created_at=created_at,
        last_activity_at=created_at,
        tags=tags,
        **fields,
    )
    db.session.add(thread)
    question = new_post(
        thread, "question", author, body, verdict=verdict, created_at=created_at,
        attachments=attachments,
    )
    return thread, question


def new_post(thread, post_type, author, body, *, verdict, created_at, parent=None, attachments=()):
    """A post as its author wrote it, rendered once, its status from the checks' verdict."""
    post = Post(
        thread=thread,
        post_type=post_type,
        parent=parent,
        author=author,
        body_md=body,
        body_html=render_body(post_type, body),
        status=screening.status_for(verdict),
        created_at=created_at,
        attachments=list(attachments),
    )
    db.session.add(post)
    return post


def store(post, verdict, *, title=None, tags=None):
    """Once a flush gave `post` its id: its first revision (as written) and the checks' record."""
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
    screening.record(post, verdict)


def render_body(post_type, body):
    """Comments are plain text with links; questions and answers are Markdown."""
    return render_plain(body) if post_type == "comment" else render_markdown(body)



def check_question(author, title, body, tags):
    """Raise with every problem of a question about to be asked (nothing is stored)."""
    _require_poster(author)
    validate_question(normalize_text(title), normalize_text(body), split_tags(tags))


def ask_question(author, title, body, tags, images=(), upload_tokens=(), personal_data_ok=False):
    """Ask; `upload_tokens` names images the author uploaded earlier, at the check-first step."""
    _require_poster(author)
    title, body = normalize_text(title), normalize_text(body)
    tag_pairs = split_tags(tags)
    validate_question(title, body, tag_pairs)
    check_personal_data({"title": title, "body": body}, personal_data_ok)
    verdict = screen_new(author, body, title=title, is_question=True)
    new_images = uploads.store_images(images, author)
    attachments = uploads.claim(upload_tokens, author) + new_images
    try:
        thread, question = new_thread(
            author, title, body, tag_service.tags_for(tag_pairs), verdict=verdict,
            created_at=utcnow(), attachments=attachments,
        )
        db.session.flush()
        store(question, verdict, title=title, tags=_tag_text(thread))
        refresh_thread(thread)
        tag_service.refresh_counts(thread.tags)
        mentioned = mentions.notify_mentions(question)
        db.session.commit()
    except Exception:
        db.session.rollback()
        uploads.discard(new_images)
        raise
    _after_commit(thread)
    mentions.after_commit(mentioned, question)
    # Help the asker at once: suggested past answers, members who may know, a drafted answer.
    jobs.enqueue("suggest_answers", thread.id)
    if question.is_published:
        jobs.enqueue("route_question", thread.id)
    if current_app.config.get("LLM_BASE_URL"):
        jobs.enqueue("draft_answer", thread.id)
    return thread


def check_answer(author, thread, body):
    """Raise with every problem of an answer about to be posted (nothing is stored)."""
    _require_poster(author)
    _require_open(thread)
    validate_answer(normalize_text(body))


def _require_open(thread):
    if not thread.question.is_published:
        raise PermissionDenied(_("Câu hỏi này chưa mở để trả lời."))
    if thread.duplicate_of_id is not None:
        # As on Stack Exchange: a duplicate takes no new answers; the original gathers them.
        raise PermissionDenied(
            _("Câu hỏi này trùng với một câu hỏi khác: hãy trả lời ở câu hỏi gốc.")
        )


def post_answer(author, thread, body, images=(), upload_tokens=(), personal_data_ok=False):
    """Answer; `upload_tokens` names images the author uploaded earlier, at the check step."""
    _require_poster(author)
    _require_open(thread)
    body = normalize_text(body)
    validate_answer(body)
    check_personal_data({"body": body}, personal_data_ok)
    verdict = screen_new(author, body)
    new_images = uploads.store_images(images, author)
    attachments = uploads.claim(upload_tokens, author) + new_images
    try:
        now = utcnow()
        answer = new_post(
            thread, "answer", author, body, verdict=verdict, created_at=now,
            attachments=attachments,
        )
        db.session.flush()
        store(answer, verdict)
        if answer.is_published:
            thread.last_activity_at = now
            notifications.notify(
                thread.author_id, "answer", actor=author, thread=thread, post=answer
            )
        refresh_thread(thread)
        mentioned = mentions.notify_mentions(answer)
        db.session.commit()
    except Exception:
        db.session.rollback()
        uploads.discard(new_images)
        raise
    _after_commit(thread)
    mentions.after_commit(mentioned, answer)
    if answer.is_published:
        jobs.enqueue("email_answer_notices", answer.id)  # the asker and followers, by email
    return answer


def post_comment(author, parent, body, personal_data_ok=False):
    _require_poster(author)
    if parent.post_type not in ("question", "answer") or not parent.is_published:
        raise PermissionDenied(_("Không thể bình luận vào bài này."))
    body = normalize_text(body)
    validate_comment(body)
    check_personal_data({"body": body}, personal_data_ok)
    verdict = screen_new(author, body)
    now = utcnow()
    comment = new_post(
        parent.thread, "comment", author, body, verdict=verdict, created_at=now, parent=parent
    )
    db.session.flush()
    store(comment, verdict)
    if comment.is_published:
        parent.thread.last_activity_at = now
        notifications.notify(
            parent.author_id, "comment", actor=author, thread=parent.thread, post=comment
        )
    mentioned = mentions.notify_mentions(comment)
    db.session.commit()
    mentions.after_commit(mentioned, comment)
    return comment


def edit_post(editor, post, body, title=None, tags=None, images=(), personal_data_ok=False):
    """Change a post; every edit is kept as a revision. Title and tags belong to questions."""
    refuse_if_suspended(editor)
    if not can_edit(editor, post):
        raise PermissionDenied(_("Bạn không có quyền sửa bài này."))
    body = normalize_text(body)
    thread = post.thread
    if post.post_type == "question":
        title = normalize_text(title if title is not None else thread.title)
        tag_pairs = (
            split_tags(tags) if tags is not None else [(t.slug, t.name) for t in thread.tags]
        )
        validate_question(title, body, tag_pairs)
    elif post.post_type == "answer":
        validate_answer(body)
    else:
        validate_comment(body)
    check_personal_data(
        {"title": title if post.post_type == "question" else None, "body": body}, personal_data_ok
    )
    # A moderator's edit is trusted; an author's edit goes through the checks like a new post.
    by_moderator = editor.id != post.author_id
    verdict = (
        None
        if by_moderator
        else screening.screen(
            editor,
            body,
            title=title if post.post_type == "question" else None,
            is_question=post.post_type == "question",
            exclude_thread_id=thread.id,
            editing=post,
        )
    )
    attachments = uploads.store_images(images, editor) if post.post_type != "comment" else []
    if len(post.attachments) + len(attachments) > _max_images():
        uploads.discard(attachments)
        raise ValidationError(
            field_errors={"images": [_("Tối đa %(n)d ảnh cho một bài.", n=_max_images())]}
        )
    try:
        changed_tags = []
        if post.post_type == "question":
            changed_tags = list(thread.tags)
            thread.title = title
            thread.slug = slugify(title)
            thread.tags = tag_service.tags_for(tag_pairs)
            changed_tags += thread.tags
        post.body_md = body
        post.body_html = render_body(post.post_type, body)
        post.updated_at = utcnow()
        post.attachments.extend(attachments)
        before_status = post.status
        if by_moderator:
            log("edit", actor=editor, post=post, before=_previous_body(post), after=body)
        else:
            post.status = _status_after_edit(post, verdict)
            screening.record(post, verdict, edit=True)
        _add_revision(
            post,
            editor,
            title=thread.title if post.post_type == "question" else None,
            tags=_tag_text(thread) if post.post_type == "question" else None,
        )
        if changed_tags or post.status != before_status:
            tag_service.refresh_counts(set(changed_tags) | set(thread.tags))
            refresh_thread(thread)
        mentioned = mentions.notify_mentions(post)  # names the edit added
        db.session.commit()
    except Exception:
        db.session.rollback()
        uploads.discard(attachments)
        raise
    _after_commit(thread)
    mentions.after_commit(mentioned, post)
    return post


def redact_revision(actor, revision):
    """Erase an old revision's text for good (the history keeps that an edit happened).

    The current revision is the post itself: to change that, edit the post."""
    post = db.session.get(Post, revision.post_id)
    refuse_if_suspended(actor)
    if not can_redact(actor, post):
        raise PermissionDenied(_("Bạn không có quyền xóa nội dung bản sửa này."))
    latest = db.session.scalar(select(func.max(Revision.number)).where(Revision.post_id == post.id))
    if revision.number == latest:
        raise ValidationError(
            _("Đây là nội dung hiện tại của bài: hãy sửa bài để bỏ phần không muốn đăng.")
        )
    if revision.redacted_at is None:
        revision.body_md = ""
        revision.title = None if revision.title is None else ""
        revision.redacted_at = utcnow()
        revision.redacted_by_id = actor.id
        if actor.id != post.author_id:
            log("redact", actor=actor, post=post, revision=revision.number)
        db.session.commit()
    return revision


def delete_post(actor, post):
    """Soft delete: the post stays in the database, hidden from everyone but moderators."""
    refuse_if_suspended(actor)
    if not can_delete(actor, post):
        raise PermissionDenied(_("Bạn không có quyền xóa bài này."))
    thread = post.thread
    post.deleted_at = utcnow()
    post.deleted_by_id = actor.id
    if actor.id != post.author_id:
        log("delete", actor=actor, post=post, before=post.status)
    if thread.accepted_answer_id == post.id:
        thread.accepted_answer_id = None
    refresh_thread(thread)
    if post.post_type == "question":
        tag_service.refresh_counts(thread.tags)
    refresh_reputation(post.author)
    db.session.commit()
    _after_commit(thread)


def accept_answer(actor, answer):
    """The asker marks one answer as accepted; accepting it again takes the mark back."""
    refuse_if_suspended(actor)
    if not can_accept(actor, answer):
        raise PermissionDenied(_("Chỉ người hỏi mới chọn được câu trả lời đúng."))
    thread = answer.thread
    previous_id = thread.accepted_answer_id
    thread.accepted_answer_id = None if previous_id == answer.id else answer.id
    if thread.accepted_answer_id:
        notifications.notify(answer.author_id, "accepted", actor=actor, thread=thread, post=answer)
    db.session.flush()
    affected = {answer.author}
    if previous_id and previous_id != answer.id:
        affected.add(db.session.get(Post, previous_id).author)
    for user in affected:
        refresh_reputation(user)
    db.session.commit()
    _after_commit(thread)
    return thread.accepted_answer_id == answer.id


def record_view(thread):
    thread.view_count = Thread.view_count + 1
    db.session.commit()


def refresh_thread(thread):
    """Recompute a thread's cached fields (the caller commits): whether it is public (its
    question published and not deleted), which every list reads, and its published answers."""
    db.session.flush()
    status, deleted_at = db.session.execute(
        select(Post.status, Post.deleted_at).where(
            Post.thread_id == thread.id, Post.post_type == "question"
        )
    ).one()
    thread.is_public = status == "published" and deleted_at is None
    thread.answer_count = db.session.scalar(
        select(func.count()).where(
            Post.thread_id == thread.id,
            Post.post_type == "answer",
            Post.status == "published",
            Post.deleted_at.is_(None),
        )
    )


def _status_after_edit(post, verdict):
    """Held edits wait for a moderator; a clean edit releases a post only the checks held."""
    if post.status == "rejected" or verdict is None:
        return post.status
    if verdict.action != "allow":
        return screening.STATUS_FOR_ACTION[verdict.action]
    if post.status == "pending" and not screening.held_by_others(post):
        return "published"
    return post.status


def _previous_body(post):
    previous = db.session.scalar(
        select(Revision.body_md).where(Revision.post_id == post.id).order_by(Revision.number.desc())
    )
    return previous


def _add_revision(post, author, title=None, tags=None):
    number = (
        db.session.scalar(select(func.max(Revision.number)).where(Revision.post_id == post.id)) or 0
    ) + 1
    db.session.add(
        Revision(
            post_id=post.id,
            number=number,
            author_id=author.id,
            created_at=utcnow(),
            title=title,
            tags=tags,
            body_md=post.body_md,
        )
    )


def _tag_text(thread):
    return ", ".join(tag.slug for tag in thread.tags)


def _max_images():
    return current_app.config["MAX_IMAGES_PER_POST"]
