"""Markdown in, safe HTML out; done once when a post is written, and the stored HTML is served."""

import re
import threading
import unicodedata
from html.parser import HTMLParser

import bleach
from bleach.html5lib_shim import HTML_TAGS_BLOCK_LEVEL
from bleach.linkifier import LinkifyFilter
from markdown_it import MarkdownIt
from slugify import slugify as _slugify

_markdown = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": ["href", "title", "rel"],
    "ol": ["start"],
    "th": ["align"],
    "td": ["align"],
}
ALLOWED_PROTOCOLS = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"


def _set_link_rel(attrs, new=False):
    attrs[(None, "rel")] = LINK_REL
    return attrs


_local = threading.local()


def _cleaner():
    """bleach's Cleaner keeps parsing state and is not thread-safe: one per thread."""
    cleaner = getattr(_local, "cleaner", None)
    if cleaner is None:
        cleaner = _local.cleaner = bleach.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            protocols=ALLOWED_PROTOCOLS,
            strip=True,
            filters=[
                lambda source: LinkifyFilter(
                    source, callbacks=[_set_link_rel], skip_tags={"pre", "code"}
                )
            ],
        )
    return cleaner


_HEADING = re.compile(r"<(/?)h([12])>")


def render_markdown(text):
    """CommonMark to sanitised HTML: allowlisted tags, http/https/mailto links, rel=nofollow."""
    html = _markdown.render(normalize_text(text))
    # Page headings are h1/h2; a post's own headings start one level below the page's.
    html = _HEADING.sub(lambda m: f"<{m.group(1)}h3>", html)
    return _cleaner().clean(html)


def render_plain(text):
    """Short text (comments) with no Markdown: escaped, links made clickable."""
    return _cleaner().clean(bleach.clean(normalize_text(text), tags=set(), strip=True))


def normalize_text(text):
    """NFC, Unix newlines, no trailing blanks: what we store for every piece of user text."""
    text = unicodedata.normalize("NFC", text or "")
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


class _TextOfHtml(HTMLParser):
    """The text of HTML that bleach already sanitized (stored post HTML): a space after each
    paragraph, line, item, heading, code block or row, a line break before each block, as
    bleach.clean(strip=True) does when it drops tags, at an eighth of its cost (the full
    build of a forum's search index reads every post through here)."""

    SPACE_AFTER = frozenset(("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "tr"))

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.parts.append(" ")
        elif tag in HTML_TAGS_BLOCK_LEVEL:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SPACE_AFTER:
            self.parts.append(" ")

    def handle_data(self, data):
        self.parts.append(data)


def plain_text(html):
    """The text of stored post HTML, for search documents and previews."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    return re.sub(r"\s+", " ", "".join(parser.parts)).strip()


def slugify(text, max_length=80):
    """A URL slug without diacritics: "Làm sao viết prompt tốt?" -> "lam-sao-viet-prompt-tot"."""
    return _slugify(text or "", max_length=max_length, word_boundary=True) or "-"
