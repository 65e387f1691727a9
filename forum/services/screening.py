"""Automatic moderation: every new or edited post goes through the checks before it is stored.

allow -> published; review -> stored as pending, held for a moderator; reject (very high
confidence only) -> stored as rejected, shown to its author with the reason, appealable once.
Nothing a member wrote is lost, and every automatic decision is written to the audit log.
"""

import threading
import time
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from forum import jobs, model_versions
from forum.extensions import db
from forum.models import ModerationEvent, Post, ReviewCase, utcnow
from forum.services.audit import log
from forum.services.searching import similar_questions
from moderation import (
    Embedding,
    ModerationConfig,
    Moderator,
    PostContext,
    RecentPost,
    SimilarQuestion,
)

STATUS_FOR_ACTION = {"allow": "published", "review": "pending", "reject": "rejected"}
SEVERITY = {"reject": 3, "review": 2}
RECENT_WINDOW = timedelta(hours=24)

# How often a web process looks at the model file's time for a retrain made elsewhere (another
# process, or a machine sharing the instance folder). `flask moderation train` swaps the model
# in its own process at once (Moderation.reload).
RELOAD_CHECK_SECONDS = 30


def uses_embeddings(config):
    """Whether the classifier reads sentence vectors: a real encoder and the setting allow it."""
    return (
        config.get("MODERATION_EMBEDDINGS", "off") != "off" and config["SEARCH_ENCODER"] != "fake"
    )


def embedding_for(app):
    """An encode function over search's sentence encoder for the classifier's embedding head,
    or None (see config). The encoder loads on first use; its name, for a model's
    compatibility, comes from the settings that choose it. Always the base encoder, the one the
    classifier was trained with, even while search serves a model the forum learned
    (forum.model_versions)."""
    if not uses_embeddings(app.config):
        return None

    def encode(texts):
        return model_versions.base_encoder(app).encode_queries(texts)

    return Embedding(f"{app.config['SEARCH_ENCODER']}:{app.config['SEARCH_MODEL']}", encode)


def moderation_config(config):
    threshold = (
        config.get("MODERATION_REVIEW_THRESHOLD_EMBEDDINGS")
        if uses_embeddings(config)
        else config.get("MODERATION_REVIEW_THRESHOLD")
    )
    return ModerationConfig(
        classifier_path=Path(
            config.get("MODERATION_CLASSIFIER_PATH")
            or Path(config["MODERATION_PATH"]) / "toxicity.joblib"
        ),
        review_threshold=threshold,
        reject_threshold=config.get("MODERATION_REJECT_THRESHOLD"),
        new_account_days=config["MODERATION_NEW_ACCOUNT_DAYS"],
        burst_window_s=config["MODERATION_BURST_WINDOW_S"],
        burst_count=config["MODERATION_BURST_COUNT"],
    )


class Moderation:
    """The app's Moderator, built once in create_app (app.extensions["moderation"]).

    The model itself loads (or, on a first start, trains) on first use. A retrain swaps in
    explicitly: `reload()` in the process that trained, and `reload_if_changed()`, which every
    check calls but which looks at the model file at most every RELOAD_CHECK_SECONDS, in the
    others."""

    def __init__(self, app, reload_check_seconds=RELOAD_CHECK_SECONDS):
        self.config = moderation_config(app.config)
        self.embedding = embedding_for(app)
        self.reload_check_seconds = reload_check_seconds
        self._lock = threading.Lock()
        self._looked_at = time.monotonic()
        self._stamp = _model_stamp(self.config.classifier_path)
        self.moderator = Moderator(self.config, embedding=self.embedding)

    def reload(self):
        """A new Moderator, which loads the model file as it is now."""
        with self._lock:
            self._stamp = _model_stamp(self.config.classifier_path)
            self.moderator = Moderator(self.config, embedding=self.embedding)
        return self.moderator

    def reload_if_changed(self):
        """The Moderator to use, reloaded if the model file changed since it was loaded."""
        now = time.monotonic()
        if now - self._looked_at < self.reload_check_seconds:
            return self.moderator
        self._looked_at = now
        stamp = _model_stamp(self.config.classifier_path)
        if stamp == self._stamp:
            return self.moderator
        if self._stamp is None:  # the first check trained and saved the model itself
            self._stamp = stamp
            return self.moderator
        return self.reload()


def moderator():
    """The current app's Moderator (see Moderation)."""
    return current_app.extensions["moderation"].reload_if_changed()


def _model_stamp(path):
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@jobs.job
def warm_moderation():
    """Load (or, the first time, train) the classifier before anyone posts."""
    moderator().check("khởi động")


def screen(author, body, title=None, is_question=False, exclude_thread_id=None, editing=None):
    """The checks' Verdict on a post about to be stored; allow everything when switched off."""
    if not current_app.config["MODERATION_ENABLED"]:
        return None
    context = PostContext(
        author_age_days=(utcnow() - author.created_at).total_seconds() / 86400,
        author_reputation=author.reputation,
        recent_posts=_recent_posts(author, editing),
        now=utcnow(),
        is_question=is_question,
        similar_questions=_similar(title, body, exclude_thread_id) if is_question else (),
    )
    return moderator().check(body, title=title, context=context)


def draft_nudges(body, title=None, lang="vi"):
    """Friendly advice on a draft before it is posted ("consider saying it more gently"), in
    the reader's language; empty when moderation is off or nothing calls for it."""
    if not current_app.config["MODERATION_ENABLED"] or not (body or title):
        return []
    verdict = moderator().check(body or "", title=title)
    return [nudge.message_en if lang == "en" else nudge.message_vi for nudge in verdict.nudges]


def status_for(verdict):
    return "published" if verdict is None else STATUS_FOR_ACTION[verdict.action]


def record(post, verdict, *, edit=False):
    """Log the automatic decision and, when the post is held, put it in the review queue."""
    if verdict is None:
        return
    log(
        f"auto_{verdict.action}",
        post=post,
        reason="edit" if edit else "new",
        reasons=verdict.to_dict()["reasons"],
    )
    open_case = db.session.scalar(
        select(ReviewCase).where(
            ReviewCase.post_id == post.id, ReviewCase.status == "open", ReviewCase.source == "auto"
        )
    )
    if verdict.action == "allow":
        if open_case is not None:  # an edit cleared what held the post
            open_case.status, open_case.outcome, open_case.closed_at = "closed", "cleared", utcnow()
        return
    if open_case is None:
        open_case = ReviewCase(post_id=post.id, source="auto", created_at=utcnow())
        db.session.add(open_case)
    open_case.severity = SEVERITY[verdict.action]
    open_case.verdict = verdict.to_dict()


def held_by_others(post):
    """True when flags or an appeal, not only the checks, keep the post waiting."""
    return bool(
        db.session.scalar(
            select(ReviewCase.id)
            .where(
                ReviewCase.post_id == post.id,
                ReviewCase.status == "open",
                ReviewCase.source != "auto",
            )
            .limit(1)
        )
    )


def author_notice(post):
    """Why the author's own post is held or rejected: the latest case for it, if any."""
    return db.session.scalar(
        select(ReviewCase).where(ReviewCase.post_id == post.id).order_by(ReviewCase.id.desc())
    )


def latest_verdict(post):
    """The checks' latest decision on a post, as logged (None when moderation is off)."""
    event = db.session.scalar(
        select(ModerationEvent)
        .where(ModerationEvent.post_id == post.id, ModerationEvent.action.like("auto_%"))
        .order_by(ModerationEvent.id.desc())
    )
    if event is None:
        return None
    return {"action": event.action.removeprefix("auto_"), "reasons": event.data["reasons"]}


def messages(verdict_dict, lang="vi", held=None):
    """The reasons' messages in the reader's language; held=True/False picks holding or info."""
    if not verdict_dict:
        return []
    key = "message_en" if lang == "en" else "message_vi"
    return [
        reason[key]
        for reason in verdict_dict.get("reasons", [])
        if held is None or (reason["action"] != "allow") == held
    ]


def _recent_posts(author, editing=None):
    """The author's posts of the last day; an edited post is not compared with itself."""
    query = (
        select(Post.body_md, Post.created_at)
        .where(Post.author_id == author.id, Post.created_at >= utcnow() - RECENT_WINDOW)
        .order_by(Post.created_at.desc())
        .limit(50)
    )
    if editing is not None:
        query = query.where(Post.id != editing.id)
    rows = db.session.execute(query)
    return tuple(RecentPost(text, created_at) for text, created_at in rows)


def _similar(title, body, exclude_thread_id):
    hits = similar_questions(
        f"{title}\n{body}", limit=3, exclude=[exclude_thread_id] if exclude_thread_id else ()
    )
    return tuple(SimilarQuestion(h.question_id, h.title, min(1.0, h.score)) for h in hits)
