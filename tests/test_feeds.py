"""RSS and Atom feeds: new questions, a tag's, a thread's answers; valid, linked from the
pages, and holding only public content."""

import feedparser
import pytest

from forum.services import posts
from tests.test_moderation_flow import RUDE


def parse(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    return response, feed


@pytest.mark.parametrize("fmt, version, mimetype", [
    ("atom", "atom10", "application/atom+xml"),
    ("rss", "rss20", "application/rss+xml"),
])  # fmt: skip
def test_the_new_questions_feed_is_valid_and_lists_public_questions(
    client, member, make_thread, fmt, version, mimetype
):
    make_thread(member, title="Cách viết prompt cho Gemini bằng tiếng Việt")
    make_thread(member, title="Zalo AI nằm ở đâu trong ứng dụng?", tags="zalo")
    response, feed = parse(client, f"/feeds/questions.{fmt}")
    assert response.mimetype == mimetype and feed.version == version
    titles = [entry.title for entry in feed.entries]
    assert titles == [
        "Zalo AI nằm ở đâu trong ứng dụng?",
        "Cách viết prompt cho Gemini bằng tiếng Việt",
    ]
    assert feed.entries[0].link.startswith("http://localhost/q/")
    assert "Em hỏi ChatGPT" in feed.entries[0].summary


def test_a_tag_feed_holds_only_that_tags_questions(client, member, make_thread):
    make_thread(member, title="Cách viết prompt cho Gemini bằng tiếng Việt", tags="gemini")
    make_thread(member, title="Zalo AI nằm ở đâu trong ứng dụng?", tags="zalo")
    _, feed = parse(client, "/feeds/tags/zalo.atom")
    assert [e.title for e in feed.entries] == ["Zalo AI nằm ở đâu trong ứng dụng?"]
    assert [t.term for t in feed.entries[0].tags] == ["zalo"]
    assert client.get("/feeds/tags/khong-co.atom").status_code == 404
    assert client.get("/feeds/tags/zalo.xml").status_code == 404


def test_a_thread_feed_has_the_question_and_its_published_answers_only(
    client, thread, other_member, make_user
):
    posts.post_answer(other_member, thread, "Bạn thêm vai trò và ví dụ cụ thể vào câu hỏi nhé.")
    rude = make_user("nguoi_thieu_lich_su")
    held = posts.post_answer(rude, thread, RUDE)
    assert held.status != "published"
    _, feed = parse(client, f"/feeds/q/{thread.id}.rss")
    bodies = " ".join(entry.summary for entry in feed.entries)
    assert len(feed.entries) == 2
    assert "vai trò và ví dụ" in bodies and "óc chó" not in bodies


def test_held_questions_are_in_no_feed(client, make_user, make_thread):
    rude = make_user("nguoi_thieu_lich_su")
    held = make_thread(rude, title="Câu hỏi có lời lẽ xúc phạm người khác", body=RUDE)
    assert not held.is_public
    _, feed = parse(client, "/feeds/questions.atom")
    assert feed.entries == []
    assert client.get(f"/feeds/q/{held.id}.atom").status_code == 404


def test_pages_link_their_feeds_in_the_head_and_visibly(client, thread):
    home = client.get("/").get_data(as_text=True)
    assert 'rel="alternate" type="application/atom+xml"' in home
    assert "/feeds/questions.atom" in home
    tag_page = client.get("/tags/chatgpt").get_data(as_text=True)
    assert tag_page.count("/feeds/tags/chatgpt.atom") == 2  # <link> in the head, a visible link
    thread_page = client.get(f"/q/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert thread_page.count(f"/feeds/q/{thread.id}.atom") == 2
