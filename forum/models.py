"""The tables. A Thread holds the title, tags and cached counts; its posts (the question, the
answers and the comments) hang off it. Model methods never commit: the caller owns the transaction.
"""

import hashlib
from datetime import UTC, datetime

from flask_babel import gettext
from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from forum.extensions import db


def utcnow():
    return datetime.now(UTC)


class UTCDateTime(db.TypeDecorator):
    """Stores naive UTC, returns aware UTC: SQLite keeps no time zone, PostgreSQL may."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ROLES = ("member", "moderator", "admin")
POST_TYPES = ("question", "answer", "comment")
# published: everyone sees it; pending: held for review; rejected: hidden, shown to its author.
POST_STATUSES = ("published", "pending", "rejected")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(30), unique=True, index=True)
    display_name: Mapped[str | None] = mapped_column(String(60))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="member")
    reputation: Mapped[int] = mapped_column(Integer, default=1)
    bio: Mapped[str | None] = mapped_column(String(500))
    locale: Mapped[str | None] = mapped_column(String(8))
    # Bumped on password change so every other session is logged out.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspension_reason: Mapped[str | None] = mapped_column(String(300))
    # "có thể bạn giúp được": members may turn off being asked to answer similar questions.
    notify_routing: Mapped[bool] = mapped_column(db.Boolean, default=True, server_default=db.true())
    # An author imported from the Facebook group: nobody can log in to it; a member claims it.
    is_placeholder: Mapped[bool] = mapped_column(
        db.Boolean, default=False, server_default=db.false()
    )
    # Email notices go only to a verified address; instant ones are on, the digest opt-in.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_instant: Mapped[bool] = mapped_column(db.Boolean, default=True, server_default=db.true())
    email_digest: Mapped[bool] = mapped_column(db.Boolean, default=False, server_default=db.false())
    # The member deleted the account: personal data is erased, posts kept under "đã rời nhóm".
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def get_id(self):
        return f"{self.id}.{self.session_version}"

    @property
    def name(self):
        if self.deleted_at is not None:
            return gettext("thành viên đã rời nhóm")
        name = self.display_name or self.username
        if self.is_placeholder:
            return gettext("%(name)s (từ nhóm Facebook)", name=name)
        return name

    @property
    def email_verified(self):
        return bool(self.email) and self.email_verified_at is not None

    @property
    def is_moderator(self):
        return self.role in ("moderator", "admin")

    @property
    def is_admin(self):
        return self.role == "admin"

    @property
    def is_suspended(self):
        return self.suspended_until is not None and self.suspended_until > utcnow()


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(60), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @staticmethod
    def hash(token):
        return hashlib.sha256(token.encode()).hexdigest()


class PasswordReset(db.Model):
    """A one-time link to set a new password; only the token's SHA-256 is stored.

    `channel` says how the member got it: "moderator" (a moderator handed it over, for
    members without email) or, once verified emails exist, "email"."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(12), default="moderator")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


thread_tags = Table(
    "thread_tags",
    db.metadata,
    Column("thread_id", ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_thread_tags_tag_thread", "tag_id", "thread_id"),  # a tag's threads, index only
)


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(String(300))
    # Published, undeleted questions carrying the tag; kept by services.tags.refresh_counts.
    question_count: Mapped[int] = mapped_column(Integer, default=0)


class Thread(db.Model):
    __tablename__ = "threads"
    # Every list is "public threads in some order": one index per order keeps them cheap.
    __table_args__ = (
        Index("ix_threads_public_active", "is_public", "last_activity_at"),
        Index("ix_threads_public_newest", "is_public", "created_at"),
        Index("ix_threads_public_votes", "is_public", "score", "created_at"),
        Index("ix_threads_public_unanswered", "is_public", "answer_count", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(90))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    # Cached from the question post and its published answers (services.posts.refresh_thread).
    is_public: Mapped[bool] = mapped_column(db.Boolean, default=False, server_default=db.false())
    score: Mapped[int] = mapped_column(Integer, default=0)
    answer_count: Mapped[int] = mapped_column(Integer, default=0)
    accepted_answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", use_alter=True, ondelete="SET NULL"), index=True
    )
    # The asker marked a past answer, suggested automatically, as what solved the question.
    solved_by_answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", use_alter=True, ondelete="SET NULL"), index=True
    )
    # Set by the importer so importing the same file twice creates nothing new.
    import_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # When the suggest_answers job last ran for the thread, whatever it found (even nothing):
    # pages only read what it stored and never search themselves.
    suggestions_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Closed as a duplicate: the thread points to its original (services.duplicates).
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("threads.id", ondelete="SET NULL"), index=True
    )
    closed_as_duplicate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    duplicate_of: Mapped["Thread | None"] = relationship(
        remote_side=[id], foreign_keys=[duplicate_of_id]
    )
    tags: Mapped[list[Tag]] = relationship(secondary=thread_tags, order_by=Tag.slug)
    question: Mapped["Post"] = relationship(
        primaryjoin=lambda: and_(
            foreign(Post.thread_id) == Thread.id, Post.post_type == "question"
        ),
        viewonly=True,
        uselist=False,
    )


class Post(db.Model):
    """A question, an answer or a comment. Comments point at the post they are under."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    post_type: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    body_md: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    score: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="published")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    thread: Mapped[Thread] = relationship(foreign_keys=[thread_id])
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    parent: Mapped["Post | None"] = relationship(remote_side=[id], foreign_keys=[parent_id])
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="post", order_by="Attachment.id"
    )

    @property
    def is_published(self):
        return self.status == "published" and self.deleted_at is None

    @property
    def is_deleted(self):
        return self.deleted_at is not None


class Revision(db.Model):
    """A post as it was after one edit (number 1 is the original)."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("post_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    title: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[str | None] = mapped_column(String(250))
    body_md: Mapped[str] = mapped_column(Text)
    # Redacted: the old text was erased (say, a phone number edited out); the row stays so
    # the history still shows that an edit happened.
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    redacted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    author: Mapped[User] = relationship(foreign_keys=[author_id])


class Vote(db.Model):
    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("user_id", "post_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    value: Mapped[int] = mapped_column(Integer)  # +1 or -1
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(db.Model):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    thread: Mapped[Thread | None] = relationship()


class Attachment(db.Model):
    """A re-encoded image; `token` names its files under the instance uploads folder."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    post: Mapped[Post | None] = relationship(back_populates="attachments")


class ReviewCase(db.Model):
    """A post waiting for (or decided by) a moderator: held by the checks, flagged, or appealed."""

    __tablename__ = "review_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    source: Mapped[str] = mapped_column(String(10))  # auto | flags | appeal
    # Higher first in the queue: 3 auto-rejected, 2 held by the checks or appealed, 1 flagged.
    severity: Mapped[int] = mapped_column(Integer, default=1, index=True)
    verdict: Mapped[dict] = mapped_column(JSON, default=dict)  # the checks' Verdict.to_dict()
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)  # open | closed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(String(12))  # approved | rejected | dismissed
    note: Mapped[str | None] = mapped_column(
        String(500)
    )  # the moderator's reason, shown to the author
    label: Mapped[str | None] = mapped_column(String(12))  # spam, scam, offensive… for retraining

    post: Mapped[Post] = relationship()
    closed_by: Mapped[User | None] = relationship()


class Flag(db.Model):
    """A member's report of a post; weighted by the flagger's reputation."""

    __tablename__ = "flags"
    __table_args__ = (UniqueConstraint("post_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(12))  # spam | rude | off_topic | other
    note: Mapped[str | None] = mapped_column(String(300))
    weight: Mapped[float] = mapped_column(db.Float, default=1.0)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | upheld | dismissed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class ModerationEvent(db.Model):
    """The audit log: every automatic and human moderation action, with before/after."""

    __tablename__ = "moderation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(20), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the checks
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    data: Mapped[dict] = mapped_column(JSON, default=dict)  # scores, reasons, before/after

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    subject: Mapped[User | None] = relationship(foreign_keys=[subject_id])
    post: Mapped[Post | None] = relationship()


class Suggestion(db.Model):
    """A past answer suggested to an asker, and what the asker said of it."""

    __tablename__ = "suggestions"
    __table_args__ = (UniqueConstraint("thread_id", "answer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)  # the new question
    answer_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)  # the past answer
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(db.Float)
    passage: Mapped[str] = mapped_column(Text, default="")  # the most relevant sentences
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    feedback: Mapped[str | None] = mapped_column(String(12))  # solved | not_relevant
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    answer: Mapped[Post] = relationship()
    thread: Mapped[Thread] = relationship()


class AssistantDraft(db.Model):
    """A short answer drafted by a language model from past answers; never a community answer."""

    __tablename__ = "assistant_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), unique=True)
    body_html: Mapped[str] = mapped_column(Text)
    sources: Mapped[list] = mapped_column(JSON, default=list)  # [{n, answer_id, title}]
    model: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FacebookAuthor(db.Model):
    """A name from the Facebook group, the placeholder account its posts were imported under, and
    the one-time link (only its hash) a member opens to take that account's posts over."""

    __tablename__ = "facebook_authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_key: Mapped[str] = mapped_column(String(120), unique=True)  # NFC, casefolded
    name: Mapped[str] = mapped_column(String(120))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)  # the placeholder
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claim_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    claim_link_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])


class ImportedPost(db.Model):
    """Which post an entry of an outside archive became, so importing again adds nothing."""

    __tablename__ = "imported_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Subscription(db.Model):
    """A member follows a tag (weekly digest) or a thread (a notice for each new answer)."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("user_id", "tag_id", name="uq_subscriptions_user_tag"),
        UniqueConstraint("user_id", "thread_id", name="uq_subscriptions_user_thread"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    tag_id: Mapped[int | None] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), index=True
    )
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tag: Mapped[Tag | None] = relationship()
    thread: Mapped[Thread | None] = relationship()


class OutboxMessage(db.Model):
    """An email waiting to be sent (or sent). The row stays until the SMTP server took it, so a
    failed send is tried again and never loses the notice."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # One message per notice: "answer:<post>:<user>", "digest:<user>:<week>", "verify:<user>:<n>".
    key: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # answer | digest | verify
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    unsubscribe_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SearchChange(db.Model):
    """A thread whose searchable posts changed, written in the same transaction as the change
    (forum.search_feed). Every node's index follower applies these rows in id order to its
    own on-disk indexes and records how far it got, so any number of nodes stay in step."""

    __tablename__ = "search_changes"
    # Ids only grow, even after old rows are pruned: a follower's position stays meaningful.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(Integer)  # no foreign key: the row outlives nothing
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class PostEmbedding(db.Model):
    """A post's passage vectors for one encoder, computed once when the post is first indexed:
    a rebuild, a new node or the answer suggestions read them instead of encoding again."""

    __tablename__ = "post_embeddings"

    post_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space: Mapped[str] = mapped_column(String(120), primary_key=True)  # the encoder's name
    text_hash: Mapped[str] = mapped_column(String(32))  # of the passages embedded
    passages: Mapped[int] = mapped_column(Integer)
    # float16 rows, passages x dimensions: half the bytes of float32, cosines equal to ~1e-3.
    vectors: Mapped[bytes] = mapped_column(db.LargeBinary)


class DuplicateVote(db.Model):
    """A member's vote to close a question as a duplicate of another (services.duplicates)."""

    __tablename__ = "duplicate_votes"
    __table_args__ = (
        UniqueConstraint("thread_id", "user_id", name="uq_duplicate_votes_thread_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), index=True
    )
    original_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SavedPost(db.Model):
    """A question or answer a member saved to read again (the "Đã lưu" page)."""

    __tablename__ = "saved_posts"
    __table_args__ = (UniqueConstraint("user_id", "post_id", name="uq_saved_posts_user_post"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    post: Mapped[Post] = relationship()


class DataExport(db.Model):
    """A zip of everything a member wrote, made by a job; `token` names its file."""

    __tablename__ = "data_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | ready | failed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
