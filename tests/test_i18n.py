"""Vietnamese by default, English on request, dates the Vietnamese way."""

from datetime import UTC, datetime

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale

from forum.config import ROOT
from forum.templating import full_date


def test_pages_are_vietnamese_by_default(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="vi">' in page and "Đặt câu hỏi" in page


def test_switching_to_english_and_back(client):
    response = client.post("/lang", data={"lang": "en", "next": "/tags"})
    assert response.headers["Location"] == "/tags"
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page and "Ask a question" in page and "Đặt câu hỏi" not in page
    client.post("/lang", data={"lang": "vi", "next": "/"})
    assert "Đặt câu hỏi" in client.get("/").get_data(as_text=True)


def test_unknown_language_is_ignored(client):
    client.post("/lang", data={"lang": "xx", "next": "https://evil.example"})
    assert '<html lang="vi">' in client.get("/").get_data(as_text=True)


def test_validation_messages_follow_the_language(client, auth, member):
    client.post("/lang", data={"lang": "en"})
    auth.login(member)
    page = client.post("/ask", data={"title": "short", "body": "short", "tags": ""}).get_data(
        as_text=True
    )
    assert "Title is too short" in page


def test_dates_are_shown_the_vietnamese_way(app):
    moment = datetime(2026, 11, 26, 8, 5, tzinfo=UTC)
    with app.test_request_context():
        assert full_date(moment) == "15:05, 26/11/2026"  # Hà Nội time, day before month
        with force_locale("en"):
            assert full_date(moment) == "Nov 26, 2026, 15:05"


def test_every_ui_string_has_an_english_translation_and_the_catalog_is_compiled():
    folder = ROOT / "forum" / "translations" / "en" / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as handle:
        po = [m for m in read_po(handle) if m.id]
    with (folder / "messages.mo").open("rb") as handle:
        mo = [m for m in read_mo(handle) if m.id]
    untranslated = [m.id for m in po if m.fuzzy or not all(as_tuple(m.string))]
    assert untranslated == []
    assert {key(m) for m in po} == {key(m) for m in mo}


def key(message):
    context = message.context  # babel reads .mo contexts as bytes
    return as_tuple(message.id), context.decode() if isinstance(context, bytes) else context


def as_tuple(value):
    """Plural entries hold several strings."""
    return tuple(value) if isinstance(value, list | tuple) else (value,)
