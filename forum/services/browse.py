"""Reading: question lists, thread pages and profiles, each query written once."""

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from forum.extensions import db
from forum.models import Post, Tag, Thread, User, thread_tags
from forum.permissions import can_view, is_moderator

SORTS = {
    "newest": (Thread.created_at.desc(), Thread.id.desc()),
    "active": (Thread.last_activity_at.desc(), Thread.id.desc()),
    "unanswered": (Thread.created_at.desc(), Thread.id.desc()),
    "votes": (Thread.score.desc(), Thread.created_at.desc(), Thread.id.desc()),
}


def question_list(sort="active", tag=None, page=1, per_page=20):
    """A page of public threads; the count reads one index (or the tag's cached count)."""
    sort = sort if sort in SORTS else "active"
    conditions = [Thread.is_public]
    if sort == "unanswered":
        conditions.append(Thread.answer_count == 0)
    query = select(Thread).where(*conditions)
    count = select(func.count()).select_from(Thread).where(*conditions)
    if tag is not None:
        in_tag = (thread_tags.c.thread_id == Thread.id) & (thread_tags.c.tag_id == tag.id)
        query = query.join(thread_tags, in_tag)
        count = count.join(thread_tags, in_tag)
    query = query.options(selectinload(Thread.tags), selectinload(Thread.author)).order_by(
        *SORTS[sort]
    )
    result = db.paginate(query, page=max(page, 1), per_page=per_page, error_out=False, count=False)
    use_cached = tag is not None and sort != "unanswered"
    result.total = tag.question_count if use_cached else db.session.scalar(count)
    return result


def thread_posts(thread, viewer):
    """Question, answers (accepted first, then by votes) and comments that the viewer may see."""
    posts = db.session.scalars(
        select(Post)
        .where(Post.thread_id == thread.id)
        .options(selectinload(Post.author), selectinload(Post.attachments))
        .order_by(Post.created_at, Post.id)
    ).all()
    visible = [p for p in posts if can_view(viewer, p)]
    question = next((p for p in posts if p.post_type == "question"), None)
    answers = [p for p in visible if p.post_type == "answer"]
    answers.sort(key=lambda a: (a.id != thread.accepted_answer_id, -a.score, a.created_at))
    comments = {}
    for post in visible:
        if post.post_type == "comment":
            comments.setdefault(post.parent_id, []).append(post)
    return question, answers, comments


def solved_state(thread):
    """How a thread is solved, said once: ("accepted", answer) when the asker chose one of its
    answers, else ("suggestion", past answer) when a suggested past answer solved it, else
    None. The accepted answer wins: it is this thread's own answer."""
    if thread.accepted_answer_id:
        answer = db.session.get(Post, thread.accepted_answer_id)
        if answer is not None and answer.is_published:
            return "accepted", answer
    if thread.solved_by_answer_id:
        answer = db.session.get(Post, thread.solved_by_answer_id)
        if answer is not None and answer.is_published:
            return "suggestion", answer
    return None


def user_posts(user, viewer, post_type, limit=30):
    """A member's questions or answers; their held posts only for themselves and moderators."""
    query = (
        select(Post)
        .where(Post.author_id == user.id, Post.post_type == post_type)
        .options(selectinload(Post.thread))
        .order_by(Post.created_at.desc())
        .limit(limit)
    )
    if not is_moderator(viewer):
        query = query.where(Post.deleted_at.is_(None))
        if getattr(viewer, "id", None) != user.id:
            query = query.where(Post.status == "published")
    return db.session.scalars(query).all()


def top_users(limit=20):
    """Members by reputation; accounts deleted by their owners are not listed."""
    return db.session.scalars(
        select(User).where(User.deleted_at.is_(None)).order_by(User.reputation.desc()).limit(limit)
    ).all()


def tag_by_slug(slug):
    return db.session.scalar(select(Tag).where(Tag.slug == slug))
