"""Browsing: the question list and its sorts, pagination, tags, profiles."""

from forum.services import posts, votes


def titles(client, url):
    page = client.get(url).get_data(as_text=True)
    return [
        line.split(">", 1)[1].split("<")[0]
        for line in page.split('<h2 class="q-title"><a href="')[1:]
    ]


def test_sorts(client, member, other_member, make_thread):
    old = make_thread(member, title="Câu hỏi cũ nhất về Zalo AI")
    voted = make_thread(member, title="Câu hỏi được nhiều phiếu nhất")
    answered = make_thread(member, title="Câu hỏi đã có người trả lời")
    votes.vote(other_member, voted.question, 1)
    posts.post_answer(other_member, answered, "Câu trả lời cho câu hỏi thứ ba.")
    assert titles(client, "/?sort=newest")[0] == answered.title
    assert titles(client, "/?sort=votes")[0] == voted.title
    assert answered.title not in titles(client, "/?sort=unanswered")
    assert titles(client, "/?sort=active")[0] == answered.title
    assert old.title in titles(client, "/?sort=nonsense")


def test_pagination_and_bad_page_numbers(app, client, member, make_thread):
    app.config["QUESTIONS_PER_PAGE"] = 2
    for n in range(5):
        make_thread(member, title=f"Câu hỏi thứ {n} về trí tuệ nhân tạo")
    assert len(titles(client, "/?page=1")) == 2
    assert len(titles(client, "/?page=3")) == 1
    assert "Trang 1 / 3" in client.get("/").get_data(as_text=True)
    for bad in ("0", "-1", "abc", "99"):
        assert client.get(f"/?page={bad}").status_code == 200


def test_tag_list_with_counts_and_tag_page(client, member, make_thread):
    make_thread(member, title="Hỏi về VNeID mức 2 cho người già", tags="VNeID, dịch vụ công")
    make_thread(member, title="Hỏi về VNeID khi đổi điện thoại", tags="VNeID")
    page = client.get("/tags").get_data(as_text=True)
    assert "VNeID" in page and "× 2" in page
    tag_page = client.get("/tags/vneid").get_data(as_text=True)
    assert "Hỏi về VNeID mức 2 cho người già" in tag_page
    assert client.get("/tags/khong-co").status_code == 404


def test_profile_lists_questions_and_answers(client, member, other_member, thread):
    posts.post_answer(other_member, thread, "Câu trả lời hiện trên hồ sơ.")
    page = client.get(f"/u/{other_member.username}").get_data(as_text=True)
    assert thread.title in page
    assert client.get("/u/khong-ai-ca").status_code == 404


def test_deleted_threads_leave_lists_and_tag_counts(client, member, thread):
    posts.delete_post(member, thread.question)
    assert thread.title not in client.get("/").get_data(as_text=True)
    assert "chatgpt" not in client.get("/tags").get_data(as_text=True)
