"""Vietnamese by default, English on request, dates the Vietnamese way."""

from datetime import UTC, datetime

from flask_babel import force_locale

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
