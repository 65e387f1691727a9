"""Markdown is rendered once by a CommonMark library and sanitised with an allowlist."""

from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser

import pytest

from forum.markup import plain_text, render_markdown, slugify


def test_commonmark_basics():
    html = render_markdown("# Bước 1\n\n- mở **Zalo**\n- bấm `Cài đặt`\n\n```\nprompt mẫu\n```")
    assert "<h3>Bước 1</h3>" in html  # page headings stay h1/h2
    assert "<li>mở <strong>Zalo</strong></li>" in html
    assert "<code>Cài đặt</code>" in html and "<pre><code>prompt mẫu" in html


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[bấm](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src=https://evil.example></iframe>",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "<svg onload=alert(1)>",
        '<p style="background:url(javascript:alert(1))">x</p>',
    ],
)
def test_dangerous_markup_is_neutralised(attack):
    elements = Elements()
    elements.feed(render_markdown(attack))
    for tag, attrs in elements.found:
        assert tag not in {"script", "img", "iframe", "svg"}
        for name, value in attrs:
            assert not name.startswith("on") and name != "style"
            assert not (value or "").lower().startswith(("javascript:", "data:"))


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


def test_links_get_rel_nofollow_ugc_noopener_and_bare_urls_become_links():
    html = render_markdown(
        "Xem [trang chính thức](https://dichvucong.gov.vn) hoặc https://chongluadao.vn"
    )
    assert html.count('rel="nofollow ugc noopener"') == 2
    assert '<a href="https://chongluadao.vn"' in html


def test_only_http_https_and_mailto_links_survive():
    html = render_markdown("[a](ftp://x.vn) [b](mailto:lan@example.vn) [c](https://x.vn)")
    assert "ftp:" not in html and "mailto:lan@example.vn" in html and "https://x.vn" in html


def test_plain_text_for_search_documents():
    assert (
        plain_text(render_markdown("**Chè** & *cà phê*\n\n- một\n- hai")) == "Chè & cà phê một hai"
    )


def test_plain_text_keeps_words_apart_across_blocks_and_shows_entities_as_characters():
    # The same text as bleach.clean(strip=True) gave before (stored search vectors match it).
    html = render_markdown(
        "Ví dụ:\n```\nBạn là trợ lý\n```\n> trích dẫn\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "dòng một  \ndòng hai, gõ `<b>` và &lt; nguyên văn\n\n### Bước 2"
    )
    assert plain_text(html) == (
        "Ví dụ: Bạn là trợ lý trích dẫn a b 1 2 dòng một dòng hai, gõ <b> và < nguyên văn Bước 2"
    )


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Làm sao viết prompt tốt?", "lam-sao-viet-prompt-tot"),
        ("Đăng ký ĐỊNH DANH điện tử", "dang-ky-dinh-danh-dien-tu"),
        ("Chè Tân Cương: giá bao nhiêu?", "che-tan-cuong-gia-bao-nhieu"),
        ("???", "-"),
    ],
)
def test_slugs_have_no_diacritics(title, slug):
    assert slugify(title) == slug


def test_rendering_from_many_threads_at_once_keeps_each_text_its_own():
    texts = [f"Bài số {n}: xem **https://example.vn/{n}** và `mã {n}`" for n in range(1000)]
    expected = [render_markdown(text) for text in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(render_markdown, texts)) == expected
