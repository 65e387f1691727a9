"""A question page reads the database a fixed number of times, however many answers, comments,
authors and attachments it shows: no query per post (an N+1) may creep back in."""

import contextlib

import pytest
from sqlalchemy import event

from forum.extensions import db
from forum.services import posts


@contextlib.contextmanager
def counted_statements():
    """The SQL statements run inside the block."""
    statements = []

    def count(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def grow_thread(thread, make_user, answers, prefix):
    """`answers` answers by as many members, each with two comments by two more members."""
    for number in range(answers):
        author = make_user(f"{prefix}_tra_loi_{number}")
        answer = posts.post_answer(
            author, thread, f"Câu trả lời số {number}: mở phần cài đặt rồi chọn mục {number}."
        )
        for side in range(2):
            commenter = make_user(f"{prefix}_binh_luan_{number}_{side}")
            posts.post_comment(commenter, answer, f"Cảm ơn, cách số {number} dùng được ạ.")


def page_statements(client, thread):
    db.session.expire_all()  # nothing read before the request counts as cached
    with counted_statements() as statements:
        response = client.get(f"/q/{thread.id}/{thread.slug}")
    assert response.status_code == 200
    return statements


@pytest.mark.parametrize("viewer", [
    "visitor",
    "asker",
    "other member",
])
def test_a_question_page_reads_as_much_with_twelve_answers_as_with_two(
    app, client, auth, member, other_member, make_user, make_thread, viewer
):
    small = make_thread(member, title="Cách cài ChatGPT trên điện thoại Android?")
    large = make_thread(member, title="Cách cài Gemini trên điện thoại Android?")
    grow_thread(small, make_user, 2, "it")
    grow_thread(large, make_user, 12, "nhieu")
    if viewer != "visitor":
        auth.login(member if viewer == "asker" else other_member)
    page_statements(client, small)  # a first visit counts the view and warms what is cached
    page_statements(client, large)

    few = page_statements(client, small)
    many = page_statements(client, large)
    assert "Câu trả lời số 11" in client.get(f"/q/{large.id}/{large.slug}").get_data(True)
    assert len(many) == len(few), "\n".join(many)
    assert len(many) <= 14, "\n".join(many)
