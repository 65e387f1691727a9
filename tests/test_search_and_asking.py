"""Searching and asking: a query with no close match says so and offers to ask, results show
tag names, a thread is "solved" once, and suggested passages read as whole sentences."""

from forum.services import posts, searching, suggestions
from search.passages import passage_around, sentences


def zalo_thread(make_thread, member, other_member):
    thread = make_thread(
        member,
        title="Làm sao đổi mật khẩu Zalo trên điện thoại?",
        body="Em muốn đổi mật khẩu Zalo mà không biết vào đâu, máy Samsung ạ.",
        tags="Zalo, Bảo mật",
    )
    answer = posts.post_answer(
        other_member, thread, "Thông tin thật:\nVào Cá nhân, chọn Tài khoản và bảo mật, rồi Đổi "
        "mật khẩu. Zalo sẽ hỏi mật khẩu cũ trước khi đổi."
    )
    posts.accept_answer(member, answer)
    return thread, answer


def test_a_query_with_no_close_match_says_so_and_offers_to_ask(client, make_thread, member,
                                                              other_member):
    zalo_thread(make_thread, member, other_member)
    page = client.get("/search?q=xyzzy plugh quux").get_data(as_text=True)
    assert 'id="no-close-match"' in page and "/ask?title=xyzzy" in page
    assert "Khoảng" not in page  # no "about 44 results" of unrelated posts
    close = client.get("/search?q=đổi mật khẩu zalo").get_data(as_text=True)
    assert 'id="no-close-match"' not in close and "Khoảng 1 kết quả" in close


def test_the_relevance_floor_is_the_similar_question_score(app, make_thread, member, other_member):
    zalo_thread(make_thread, member, other_member)
    for q, expected in (("doi mat khau zalo", True), ("zalo", True), ("qqqq wwww", False)):
        request = searching.parse({"q": q})
        assert searching.close_match(request, searching.run(request)) is expected, q
    keyword = searching.parse({"q": "zalo", "mode": "keyword"})
    assert searching.close_match(keyword, searching.run(keyword))


def test_the_api_tells_whether_results_are_close(client, make_thread, member, other_member):
    zalo_thread(make_thread, member, other_member)
    assert client.get("/api/v1/search?q=mật khẩu zalo").get_json()["close_match"] is True
    assert client.get("/api/v1/search?q=qqqq wwww").get_json()["close_match"] is False


def test_search_results_show_tag_names_not_slugs(client, make_thread, member, other_member):
    zalo_thread(make_thread, member, other_member)
    page = client.get("/search?q=mật khẩu zalo").get_data(as_text=True)
    assert 'href="/tags/bao-mat">Bảo mật</a>' in page
    assert ">bao-mat<" not in page


def test_history_shows_tag_names(client, auth, make_thread, member, other_member):
    thread, _answer = zalo_thread(make_thread, member, other_member)
    posts.edit_post(member, thread.question, thread.question.body_md + " Cảm ơn mọi người.")
    auth.login(member)
    page = client.get(f"/p/{thread.question.id}/history").get_data(as_text=True)
    assert "Thẻ: Bảo mật, Zalo" in page and "bao-mat" not in page


def test_a_thread_shows_one_solved_state(client, auth, make_thread, member, other_member):
    past, _answer = zalo_thread(make_thread, member, other_member)
    new = make_thread(
        other_member,
        title="Đổi mật khẩu Zalo trên Samsung thế nào?",
        body="Mình muốn đổi mật khẩu Zalo trên máy Samsung mà chưa biết vào đâu.",
        tags="zalo",
    )
    suggestion = suggestions.ensure_for_thread(new)[0]
    suggestions.give_feedback(other_member, suggestion, "solved")
    reply = posts.post_answer(member, new, "Vào Cài đặt, Tài khoản và bảo mật, Đổi mật khẩu.")
    posts.accept_answer(other_member, reply)
    auth.login(other_member)
    page = client.get(f"/q/{new.id}/{new.slug}").get_data(as_text=True)
    assert page.count('class="solved-mark"') == 1
    assert "Đã giải quyết: người hỏi đã chọn" in page  # its own accepted answer wins
    assert "Bạn đã chọn: đã giải quyết" not in page


def test_a_passage_ending_in_a_colon_takes_what_it_introduces():
    parts = sentences("Thông tin thật:\nTổng đài chính thức của VNeID là 1900 0368. Gọi giờ hành "
                      "chính nhé. Đừng gọi số lạ.")
    assert parts[0] == "Thông tin thật:"
    assert passage_around(parts, 0).startswith(
        "Thông tin thật: Tổng đài chính thức của VNeID là 1900 0368."
    )
    # A list item gets the line that introduces it.
    steps = sentences("Các bước làm như sau, bạn làm lần lượt nhé:\nMở ứng dụng VNeID trên máy."
                      "\nChọn mục Kích hoạt tài khoản rồi nhập số định danh của bạn cho đúng.")
    assert passage_around(steps, 1).startswith("Các bước làm như sau")
    # A colon inside a sentence no longer cuts it.
    assert sentences("Bước 1: mở Zalo. Bước 2: chọn Cá nhân.") == [
        "Bước 1: mở Zalo.", "Bước 2: chọn Cá nhân."
    ]


def test_suggested_passages_are_never_a_bare_introduction(app, make_thread, member, other_member):
    zalo_thread(make_thread, member, other_member)
    for candidate in suggestions.rank("Đổi mật khẩu Zalo", "Cách đổi mật khẩu Zalo trên máy"):
        assert not candidate.passage.endswith(":")
        assert candidate.passage != "Thông tin thật:"
