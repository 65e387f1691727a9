"""What the RSS/Atom feeds hold: only public content (published, undeleted posts of public
threads), newest first."""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from forum.extensions import db
from forum.models import Post, Thread, thread_tags

FEED_SIZE = 30


def new_questions(tag=None, limit=FEED_SIZE):
    """The newest public questions, of one tag or of the whole forum."""
    query = (
        select(Thread)
        .where(Thread.is_public.is_(True))
        .options(selectinload(Thread.tags), selectinload(Thread.author))
        .order_by(Thread.created_at.desc(), Thread.id.desc())
        .limit(limit)
    )
    if tag is not None:
        query = query.join(
            thread_tags, (thread_tags.c.thread_id == Thread.id) & (thread_tags.c.tag_id == tag.id)
        )
    threads = db.session.scalars(query).all()
    questions = _questions([t.id for t in threads])
    return [(thread, questions[thread.id]) for thread in threads if thread.id in questions]


def thread_posts(thread, limit=FEED_SIZE):
    """A public thread's question and its published answers, newest first."""
    if not thread.is_public:
        return []
    return db.session.scalars(
        select(Post)
        .where(
            Post.thread_id == thread.id,
            Post.post_type.in_(("question", "answer")),
            Post.status == "published",
            Post.deleted_at.is_(None),
        )
        .options(selectinload(Post.author))
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(limit)
    ).all()


def _questions(thread_ids):
    if not thread_ids:
        return {}
    posts = db.session.scalars(
        select(Post).where(
            Post.thread_id.in_(thread_ids),
            Post.post_type == "question",
            Post.status == "published",
            Post.deleted_at.is_(None),
        )
    )
    return {post.thread_id: post for post in posts}
