"""RSS 2.0 and Atom feeds (feedgen): new questions, a tag's new questions, a thread's answers."""

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, abort, url_for
from flask_babel import gettext as _

from forum.services import browse, feeds
from forum.views.helpers import get_thread

bp = Blueprint("feeds", __name__, url_prefix="/feeds")

FORMATS = {"atom": "application/atom+xml", "rss": "application/rss+xml"}


@bp.route("/questions.<any(atom, rss):fmt>")
def questions(fmt):
    self_url = url_for("feeds.questions", fmt=fmt, _external=True)
    feed = _feed(
        _("Câu hỏi mới · Xứ Trà Hỏi Đáp"), url_for("main.index", sort="newest", _external=True),
        self_url, _("Câu hỏi mới nhất trên diễn đàn Xứ Trà Hỏi Đáp."),
    )  # fmt: skip
    _add_questions(feed, feeds.new_questions())
    return _response(feed, fmt)


@bp.route("/tags/<slug>.<any(atom, rss):fmt>")
def tag(slug, fmt):
    tag = browse.tag_by_slug(slug) or abort(404)
    feed = _feed(
        _("Thẻ %(name)s · Xứ Trà Hỏi Đáp", name=tag.name),
        url_for("tags.show", slug=tag.slug, sort="newest", _external=True),
        url_for("feeds.tag", slug=tag.slug, fmt=fmt, _external=True),
        tag.description or _("Câu hỏi mới có thẻ %(name)s.", name=tag.name),
    )
    _add_questions(feed, feeds.new_questions(tag))
    return _response(feed, fmt)


@bp.route("/q/<int:thread_id>.<any(atom, rss):fmt>")
def thread(thread_id, fmt):
    thread = get_thread(thread_id)
    if not thread.is_public:
        abort(404)
    link = url_for("questions.thread", thread_id=thread.id, slug=thread.slug, _external=True)
    feed = _feed(
        thread.title, link, url_for("feeds.thread", thread_id=thread.id, fmt=fmt, _external=True),
        _("Câu hỏi và các câu trả lời của: %(title)s", title=thread.title),
    )  # fmt: skip
    for post in reversed(feeds.thread_posts(thread)):  # feedgen puts the last added first
        entry = feed.add_entry()
        anchor = f"{link}#post-{post.id}"
        entry.id(anchor)
        entry.link(href=anchor)
        entry.title(
            thread.title
            if post.post_type == "question"
            else _("Trả lời của %(name)s", name=post.author.name)
        )
        entry.author({"name": post.author.name})
        entry.published(post.created_at)
        entry.updated(post.updated_at or post.created_at)
        entry.content(post.body_html, type="html")
    return _response(feed, fmt)


def _feed(title, link, self_url, subtitle):
    feed = FeedGenerator()
    feed.id(self_url)
    feed.title(title)
    feed.subtitle(subtitle)
    feed.link(href=link, rel="alternate")
    feed.link(href=self_url, rel="self")
    feed.language("vi")
    return feed


def _add_questions(feed, rows):
    for thread, question in reversed(rows):
        entry = feed.add_entry()
        link = url_for("questions.thread", thread_id=thread.id, slug=thread.slug, _external=True)
        entry.id(link)
        entry.link(href=link)
        entry.title(thread.title)
        entry.author({"name": thread.author.name})
        entry.published(thread.created_at)
        entry.updated(question.updated_at or thread.created_at)
        entry.content(question.body_html, type="html")
        for tag in thread.tags:
            entry.category(term=tag.slug, label=tag.name)


def _response(feed, fmt):
    if not feed.entry():
        # Atom needs an updated date even when there is nothing in it yet.
        feed.updated("2026-01-01T00:00:00+00:00")
    body = feed.atom_str(pretty=True) if fmt == "atom" else feed.rss_str(pretty=True)
    response = Response(body, mimetype=FORMATS[fmt])
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
