"""Moderators' work: the review queue, decisions, member flags, suspensions and appeals.

Every action is written to the audit log; authors are told the outcome in-app.
"""

from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from forum import indexing, jobs
from forum.extensions import db
from forum.markup import normalize_text
from forum.models import Flag, ModerationEvent, Post, ReviewCase, User, utcnow
from forum.permissions import is_moderator
from forum.services import mentions, notifications
from forum.services import tags as tag_service
from forum.services.audit import log
from forum.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from forum.services.posts import refresh_thread
from forum.services.reputation import refresh_reputation
from forum.services.suspension import refuse_if_suspended

FLAG_REASONS = ("spam", "rude", "off_topic", "other")
REJECT_LABELS = ("spam", "scam", "offensive", "hate", "threat", "other")
SUSPENSION_DAYS = (1, 3, 7, 30)
UNTIL_LIFTED = datetime(9999, 1, 1, tzinfo=UTC)


def require_moderator(user):
    if not is_moderator(user):
        raise PermissionDenied(_("Chỉ điều hành viên mới làm được việc này."))


# The queue ---------------------------------------------------------------------------------


def open_cases(limit=100):
    """Open cases, most severe first, oldest first within a severity."""
    return db.session.scalars(
        select(ReviewCase)
        .where(ReviewCase.status == "open")
        .options(selectinload(ReviewCase.post).selectinload(Post.author))
        .order_by(ReviewCase.severity.desc(), ReviewCase.created_at, ReviewCase.id)
        .limit(limit)
    ).all()


def open_count():
    return db.session.scalar(select(func.count()).where(ReviewCase.status == "open"))


def flags_for(post_ids):
    rows = db.session.scalars(
        select(Flag)
        .where(Flag.post_id.in_(post_ids))
        .options(selectinload(Flag.user))
        .order_by(Flag.created_at)
    )
    found = {}
    for flag in rows:
        found.setdefault(flag.post_id, []).append(flag)
    return found


def author_history(user_ids):
    """Per author: posts by status, and past moderator decisions on their posts."""
    history = {
        uid: {"published": 0, "pending": 0, "rejected": 0, "approved": 0, "removed": 0}
        for uid in user_ids
    }
    for uid, status, count in db.session.execute(
        select(Post.author_id, Post.status, func.count())
        .where(Post.author_id.in_(user_ids), Post.deleted_at.is_(None))
        .group_by(Post.author_id, Post.status)
    ):
        history[uid][status] = count
    for uid, outcome, count in db.session.execute(
        select(Post.author_id, ReviewCase.outcome, func.count())
        .join(Post, Post.id == ReviewCase.post_id)
        .where(Post.author_id.in_(user_ids), ReviewCase.outcome.in_(["approved", "rejected"]))
        .group_by(Post.author_id, ReviewCase.outcome)
    ):
        history[uid]["approved" if outcome == "approved" else "removed"] = count
    return history


def get_case(case_id):
    case = db.session.get(ReviewCase, case_id)
    if case is None:
        raise NotFound(_("Không tìm thấy mục cần duyệt."))
    return case


# Decisions ----------------------------------------------------------------------------------


def approve(moderator, case):
    """The post may be seen: publish it, clear its flags, tell the author."""
    require_moderator(moderator)
    post = case.post
    before = post.status
    _set_status(post, "published")
    _close_post_cases(post, moderator, "approved")
    _settle_flags(post, "dismissed")
    log(
        "approve",
        actor=moderator,
        post=post,
        before=before,
        after="published",
        case_id=case.id,
        source=case.source,
    )
    if before != "published":
        _tell_author(post, "approved")
    # Mentions in a held post notify only now that it is public.
    mentioned = mentions.notify_mentions(post)
    db.session.commit()
    mentions.after_commit(mentioned, post)
    indexing.search_changed(post.thread_id)
    if post.post_type == "answer" and before != "published":
        jobs.enqueue("email_answer_notices", post.id)


def reject(moderator, case, note, label="other"):
    """Hide the post for good (it stays stored and visible to its author, with the reason)."""
    require_moderator(moderator)
    note = normalize_text(note)[:500]
    if not note:
        raise ValidationError(field_errors={"note": [_("Hãy ghi lý do từ chối cho tác giả.")]})
    if label not in REJECT_LABELS:
        raise ValidationError(_("Loại vi phạm không hợp lệ."))
    post = case.post
    before = post.status
    _set_status(post, "rejected")
    _close_post_cases(post, moderator, "rejected", note=note, label=label)
    _settle_flags(post, "upheld")
    log(
        "reject",
        actor=moderator,
        post=post,
        reason=note,
        before=before,
        after="rejected",
        label=label,
        case_id=case.id,
        source=case.source,
    )
    _tell_author(post, "rejected", note=note)
    db.session.commit()
    indexing.search_changed(post.thread_id)


def dismiss_flags(moderator, case):
    """The flags were wrong: put a post hidden by flags back, close the case."""
    require_moderator(moderator)
    post = case.post
    before = post.status
    held_by_checks = db.session.scalar(
        select(func.count()).where(
            ReviewCase.post_id == post.id, ReviewCase.status == "open", ReviewCase.source != "flags"
        )
    )
    if post.status == "pending" and not held_by_checks:
        _set_status(post, "published")
    case.status, case.outcome, case.closed_at, case.closed_by_id = (
        "closed",
        "dismissed",
        utcnow(),
        moderator.id,
    )
    _settle_flags(post, "dismissed")
    log(
        "dismiss_flags",
        actor=moderator,
        post=post,
        before=before,
        after=post.status,
        case_id=case.id,
    )
    db.session.commit()
    indexing.search_changed(post.thread_id)


def bulk(moderator, case_ids, action, note="", label="other"):
    """Apply one decision to many cases; returns how many were decided."""
    require_moderator(moderator)
    done = 0
    for case_id in case_ids:
        case = db.session.get(ReviewCase, case_id)
        if case is None or case.status != "open":
            continue
        if action == "approve":
            approve(moderator, case)
        elif action == "reject":
            reject(moderator, case, note, label)
        elif action == "dismiss":
            dismiss_flags(moderator, case)
        else:
            raise ValidationError(_("Thao tác không hợp lệ."))
        done += 1
    return done


def _set_status(post, status):
    post.status = status
    if post.post_type == "question":
        tag_service.refresh_counts(post.thread.tags)
    refresh_thread(post.thread)
    refresh_reputation(post.author)


def _close_post_cases(post, moderator, outcome, note=None, label=None):
    for case in db.session.scalars(
        select(ReviewCase).where(ReviewCase.post_id == post.id, ReviewCase.status == "open")
    ):
        case.status, case.outcome, case.closed_at, case.closed_by_id = (
            "closed",
            outcome,
            utcnow(),
            moderator.id,
        )
        case.note, case.label = note, label


def _settle_flags(post, status):
    for flag in db.session.scalars(
        select(Flag).where(Flag.post_id == post.id, Flag.status == "open")
    ):
        flag.status = status


def _tell_author(post, outcome, note=None):
    """The outcome is stored as a code and worded when shown, in the reader's language."""
    notifications.notify(
        post.author_id, "moderation", thread=post.thread, post=post, outcome=outcome, note=note
    )


# Flags ----------------------------------------------------------------------------------------


def flag_weight(user):
    """Trusted members' flags count more; a moderator's flag alone hides the post."""
    if is_moderator(user):
        return current_app.config["FLAG_HIDE_WEIGHT"]
    return round(1.0 + min(max(user.reputation, 0), 1000) / 250, 2)


def flag(user, post, reason, note=""):
    refuse_if_suspended(user)
    if post.author_id == user.id:
        raise PermissionDenied(_("Bạn không thể báo cáo bài của chính mình."))
    if reason not in FLAG_REASONS:
        raise ValidationError(field_errors={"reason": [_("Hãy chọn lý do báo cáo.")]})
    note = normalize_text(note)[:300]
    if reason == "other" and not note:
        raise ValidationError(field_errors={"note": [_("Hãy ghi rõ lý do khi chọn “Khác”.")]})
    exists = db.session.scalar(
        select(func.count()).where(Flag.post_id == post.id, Flag.user_id == user.id)
    )
    if exists:
        raise Conflict(_("Bạn đã báo cáo bài này rồi. Cảm ơn bạn!"))
    db.session.add(
        Flag(
            post_id=post.id,
            user_id=user.id,
            reason=reason,
            note=note or None,
            weight=flag_weight(user),
        )
    )
    db.session.flush()
    log("flag", actor=user, post=post, reason=reason, note=note)
    case = db.session.scalar(
        select(ReviewCase).where(
            ReviewCase.post_id == post.id, ReviewCase.status == "open", ReviewCase.source == "flags"
        )
    )
    if case is None:
        db.session.add(ReviewCase(post_id=post.id, source="flags", severity=1, created_at=utcnow()))
    total = db.session.scalar(
        select(func.coalesce(func.sum(Flag.weight), 0.0)).where(
            Flag.post_id == post.id, Flag.status == "open"
        )
    )
    hidden = post.status == "published" and total >= current_app.config["FLAG_HIDE_WEIGHT"]
    if hidden:
        _set_status(post, "pending")
        log("hidden_by_flags", post=post, weight=total)
    db.session.commit()
    if hidden:
        indexing.search_changed(post.thread_id)
    return hidden


# Suspensions and appeals ----------------------------------------------------------------------


def can_suspend(moderator, user):
    """Moderators suspend and lift members (from the queue or the member's profile)."""
    return is_moderator(moderator) and not user.is_moderator and moderator.id != user.id


def suspend(moderator, user, days, reason):
    """Suspend for 1, 3, 7 or 30 days, or until lifted (days=None)."""
    require_moderator(moderator)
    reason = normalize_text(reason)[:300]
    if days is not None and days not in SUSPENSION_DAYS:
        raise ValidationError(_("Thời hạn tạm khóa không hợp lệ."))
    if not reason:
        raise ValidationError(field_errors={"reason": [_("Hãy ghi lý do tạm khóa.")]})
    if user.is_moderator:
        raise PermissionDenied(_("Không thể tạm khóa điều hành viên."))
    user.suspended_until = UNTIL_LIFTED if days is None else utcnow() + timedelta(days=days)
    user.suspension_reason = reason
    log(
        "suspend",
        actor=moderator,
        subject_id=user.id,
        reason=reason,
        days=days,
        until=user.suspended_until.isoformat(),
    )
    notifications.notify(user.id, "moderation", outcome="suspended", note=reason)
    db.session.commit()


def lift_suspension(moderator, user):
    require_moderator(moderator)
    user.suspended_until = None
    user.suspension_reason = None
    log("unsuspend", actor=moderator, subject_id=user.id)
    notifications.notify(user.id, "moderation", outcome="unsuspended")
    db.session.commit()


def can_appeal(user, post):
    return (
        user is not None
        and getattr(user, "id", None) == post.author_id
        and post.status == "rejected"
        and not post.is_deleted
        and not db.session.scalar(
            select(func.count()).where(ReviewCase.post_id == post.id, ReviewCase.source == "appeal")
        )
    )


def appeal(user, post, note):
    """A rejected post's author asks a moderator to look again, once."""
    if not can_appeal(user, post):
        raise PermissionDenied(_("Bài này không thể kháng nghị (mỗi bài chỉ kháng nghị một lần)."))
    note = normalize_text(note)[:500]
    db.session.add(
        ReviewCase(
            post_id=post.id, source="appeal", severity=2, note=note or None, created_at=utcnow()
        )
    )
    log("appeal", actor=user, post=post, reason=note)
    db.session.commit()


# Audit log and measured feedback ------------------------------------------------------------

PUBLIC_ACTIONS = ("auto_reject", "hidden_by_flags", "approve", "reject", "suspend", "unsuspend")


def events(public=False, limit=200, before_id=None):
    query = select(ModerationEvent).options(
        selectinload(ModerationEvent.post).selectinload(Post.thread)
    )
    if public:
        query = query.where(ModerationEvent.action.in_(PUBLIC_ACTIONS))
    if before_id:
        query = query.where(ModerationEvent.id < before_id)
    return db.session.scalars(query.order_by(ModerationEvent.id.desc()).limit(limit)).all()


def feedback(days):
    """Automatic decisions measured against moderators', per check and overall, over `days`.

    false positives: posts the checks held that a moderator then approved;
    misses: posts the checks allowed that a moderator then rejected or deleted.
    """
    since = utcnow() - timedelta(days=days)
    auto = {}
    for event in db.session.scalars(
        select(ModerationEvent)
        .where(ModerationEvent.action.like("auto_%"), ModerationEvent.created_at >= since)
        .order_by(ModerationEvent.id)
    ):
        auto[event.post_id] = event  # the latest automatic decision on each post
    human = {}
    for event in db.session.scalars(
        select(ModerationEvent)
        .where(
            ModerationEvent.action.in_(["approve", "reject", "delete"]),
            ModerationEvent.created_at >= since,
        )
        .order_by(ModerationEvent.id)
    ):
        human[event.post_id] = event.action
    overall = {
        "checked": len(auto),
        "held": 0,
        "held_approved": 0,
        "held_rejected": 0,
        "allowed": 0,
        "missed": 0,
    }
    per_check = {}
    for post_id, event in auto.items():
        decision = human.get(post_id)
        held = event.action != "auto_allow"
        if held:
            overall["held"] += 1
            overall["held_approved"] += decision == "approve"
            overall["held_rejected"] += decision == "reject"
            for check in {
                r["check"] for r in event.data.get("reasons", []) if r["action"] != "allow"
            }:
                row = per_check.setdefault(check, {"held": 0, "approved": 0, "rejected": 0})
                row["held"] += 1
                row["approved"] += decision == "approve"
                row["rejected"] += decision == "reject"
        else:
            overall["allowed"] += 1
            overall["missed"] += decision in ("reject", "delete")
    decided = overall["held_approved"] + overall["held_rejected"]
    overall["false_positive_rate"] = overall["held_approved"] / decided if decided else None
    return overall, dict(sorted(per_check.items()))


def decided_rows():
    """(text, label) from moderators' past decisions, for retraining the classifier."""
    rows = []
    for case, post in db.session.execute(
        select(ReviewCase, Post)
        .join(Post, Post.id == ReviewCase.post_id)
        .where(ReviewCase.outcome.in_(["approved", "rejected"]))
    ):
        text = (
            f"{post.thread.title}\n{post.body_md}" if post.post_type == "question" else post.body_md
        )
        if case.outcome == "approved" and case.source == "auto":
            rows.append((text, "clean"))
        elif case.outcome == "rejected" and case.label in REJECT_LABELS and case.label != "other":
            rows.append((text, case.label))
    return rows


def user_by_id(user_id):
    return db.session.get(User, user_id)
