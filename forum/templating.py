"""Jinja filters and globals: dates the Vietnamese way, thread URLs, the notification bell."""

from flask import url_for
from flask_babel import format_decimal, format_timedelta
from flask_login import current_user
from markupsafe import Markup, escape

from forum.dates import full_date
from forum.markup import slugify
from forum.models import utcnow
from forum.services import notifications


def thread_url(thread, **kwargs):
    return url_for("questions.thread", thread_id=thread.id, slug=thread.slug, **kwargs)


def post_url(post):
    anchor = f"post-{post.id}"
    return thread_url(post.thread, _anchor=anchor)


def hit_url(hit, external=False):
    """Where a search result leads: its thread, at the answer when the hit is an answer."""
    anchor = f"post-{hit.answer_id}" if hit.answer_id else None
    return url_for(
        "questions.thread",
        thread_id=hit.question_id,
        slug=slugify(hit.title),
        _anchor=anchor,
        _external=external,
    )


def time_ago(dt):
    """<time> with a relative date ("3 giờ trước") and the exact one on hover."""
    if dt is None:
        return ""
    relative = format_timedelta(dt - utcnow(), add_direction=True, threshold=1.1)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        dt.isoformat(), full_date(dt), relative
    )


def highlight_spans(text, reasons, field):
    """Text escaped, with <mark> around the spans the checks pointed at in this field."""
    spans = sorted(
        {
            (span["start"], span["end"])
            for reason in reasons
            for span in reason.get("spans", [])
            if span["field"] == field
        }
    )
    out, position = [], 0
    for start, end in spans:
        if start < position:
            continue
        out.append(escape(text[position:start]))
        out.append(Markup("<mark>{}</mark>").format(text[start:end]))
        position = end
    out.append(escape(text[position:]))
    return Markup("").join(out)


def number(value):
    return format_decimal(value or 0)


def unread_notifications():
    if current_user.is_authenticated:
        return notifications.unread_count(current_user)
    return 0


def init_app(app):
    app.jinja_env.filters.update(
        ago=time_ago,
        fulldate=full_date,
        number=number,
        highlight_spans=highlight_spans,
        slug=slugify,
    )
    app.jinja_env.globals.update(
        thread_url=thread_url,
        post_url=post_url,
        hit_url=hit_url,
        unread_notifications=unread_notifications,
    )
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
