"""Tags: lowercase slugs without diacritics, shown with their Vietnamese display name."""

from sqlalchemy import func, select, update

from forum.extensions import db
from forum.markup import slugify
from forum.models import Post, Tag, thread_tags


def tags_for(pairs):
    """Existing or new Tag rows for [(slug, display name)]; new ones are added to the session."""
    slugs = [slug for slug, _ in pairs]
    existing = {t.slug: t for t in db.session.scalars(select(Tag).where(Tag.slug.in_(slugs)))}
    tags = []
    for slug, name in pairs:
        tag = existing.get(slug)
        if tag is None:
            tag = Tag(slug=slug, name=name, question_count=0)
            db.session.add(tag)
            existing[slug] = tag
        tags.append(tag)
    return tags


def refresh_counts(tags):
    """Recount published, undeleted questions for these tags (the caller commits)."""
    db.session.flush()
    for tag in tags:
        count = db.session.scalar(
            select(func.count())
            .select_from(thread_tags)
            .join(
                Post, (Post.thread_id == thread_tags.c.thread_id) & (Post.post_type == "question")
            )
            .where(
                thread_tags.c.tag_id == tag.id,
                Post.status == "published",
                Post.deleted_at.is_(None),
            )
        )
        db.session.execute(update(Tag).where(Tag.id == tag.id).values(question_count=count))


def popular_tags(limit=100):
    return db.session.scalars(
        select(Tag)
        .where(Tag.question_count > 0)
        .order_by(Tag.question_count.desc(), Tag.slug)
        .limit(limit)
    ).all()


def all_tags(sort="popular"):
    order = (Tag.slug,) if sort == "name" else (Tag.question_count.desc(), Tag.slug)
    return db.session.scalars(select(Tag).where(Tag.question_count > 0).order_by(*order)).all()


def complete(prefix, limit=8):
    """Tags whose slug or name starts with what was typed, most used first."""
    slug = slugify(prefix, max_length=40)
    if slug == "-":
        return []
    return db.session.scalars(
        select(Tag)
        .where(
            Tag.slug.startswith(slug, autoescape=True)
            | Tag.slug.contains("-" + slug, autoescape=True)
        )
        .order_by(Tag.question_count.desc(), Tag.slug)
        .limit(limit)
    ).all()


def names_for(slug_lists):
    """{slug: display name} for the tags in these lists (search hits carry slugs only)."""
    slugs = {slug for slugs in slug_lists for slug in slugs}
    if not slugs:
        return {}
    return dict(db.session.execute(select(Tag.slug, Tag.name).where(Tag.slug.in_(slugs))).all())
