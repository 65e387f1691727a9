"""Where a duplicate leads: its original. Search hits and similar questions of a question
closed as a duplicate are shown as its original's (services.duplicates closes them)."""

from dataclasses import replace

from markupsafe import escape
from sqlalchemy import select

from forum.extensions import db
from forum.models import Thread


def original_for(original_id):
    """The thread a duplicate should point to: the end of a chain of duplicates."""
    original = db.session.get(Thread, original_id) if isinstance(original_id, int) else None
    seen = set()
    while original is not None and original.duplicate_of_id and original.id not in seen:
        seen.add(original.id)
        original = db.session.get(Thread, original.duplicate_of_id)
    return original


def originals_of(thread_ids):
    """{duplicate thread id: its original Thread} for those of these threads closed as such."""
    ids = set(thread_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Thread.id, Thread.duplicate_of_id).where(
            Thread.id.in_(ids), Thread.duplicate_of_id.is_not(None)
        )
    ).all()
    return {
        thread_id: original
        for thread_id, original_id in rows
        if (original := original_for(original_id)) is not None and original.is_public
    }


def prefer_originals(hits):
    """Search hits with each duplicate's hit turned into its original's question (at the
    duplicate's score, since its wording matched), best first. An original is shown once:
    a duplicate's hit is dropped when its original's thread is already above it, and the
    original's own question hit when a duplicate's hit already stands for it. Other hits are
    left as they are (an uncollapsed search keeps several hits per thread)."""
    originals = originals_of(hit.question_id for hit in hits)
    if not originals:
        return list(hits)
    shown, standing_for, result = set(), set(), []
    for hit in hits:
        original = originals.get(hit.question_id)
        if original is not None:
            if original.id in shown:
                continue
            hit = replace(
                hit,
                kind="question",
                question_id=original.id,
                answer_id=None,
                title=original.title,
                title_html=str(escape(original.title)),
                answer_count=original.answer_count,
                has_accepted=original.accepted_answer_id is not None,
            )
            standing_for.add(original.id)
        elif hit.question_id in standing_for and hit.answer_id is None:
            continue
        shown.add(hit.question_id)
        result.append(hit)
    return result
