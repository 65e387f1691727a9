"""CSRF on every form, secure cookies, XSS attempts in every field, size limits."""

from forum import create_app
from forum.services import posts

XSS = '<script>alert("x")</script>'


def test_a_form_post_without_the_csrf_token_is_refused(client, auth, member):
    auth.login(member)
    response = client.post(
        "/ask",
        data={"title": "Câu hỏi không có token", "body": "Nội dung đủ dài nhé", "tags": "x1"},
        csrf=False,
    )
    assert response.status_code == 400
    assert "Phiên làm việc đã hết hạn" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, member):
    response = client.post(
        "/login", data={"username": member.username, "password": "x"}, csrf=False
    )
    assert response.status_code == 400


def test_session_cookie_is_httponly_samesite_and_secure_in_production(app, make_user):
    prod = create_app(
        {"INSTANCE_PATH": app.config["INSTANCE_PATH"], "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    assert prod.config["SESSION_COOKIE_SECURE"] and prod.config["REMEMBER_COOKIE_SECURE"]
    assert (
        prod.config["SESSION_COOKIE_HTTPONLY"] and prod.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    )


def test_session_cookie_flags_on_the_wire(client, member):
    response = client.post(
        "/login", data={"username": member.username, "password": "matkhau-an-toan"}
    )
    cookie = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookie if c.startswith("session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie


def test_xss_in_title_body_tags_and_username_is_escaped(client, member, other_member, make_user):
    thread = posts.ask_question(
        member, f"Câu hỏi {XSS}", f"Nội dung {XSS} ở đây", f"an-toan, {XSS}"
    )
    posts.post_answer(other_member, thread, f"Trả lời {XSS}")
    sneaky = make_user("nguoi_la", display_name=XSS)
    posts.post_comment(sneaky, thread.question, f"Bình luận {XSS}")
    for url in ("/", f"/q/{thread.id}/{thread.slug}", "/tags", f"/u/{sneaky.username}", "/users"):
        page = client.get(url).get_data(as_text=True)
        assert XSS not in page, url
        assert "<script>alert" not in page, url


def test_too_large_request_gets_a_clear_413(app, client, auth, member):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    auth.login(member)
    response = client.post("/ask", data={"title": "x" * 2000, "body": "y", "tags": "z"})
    assert response.status_code == 413
    assert "quá lớn" in response.get_data(as_text=True)


def test_too_long_title_and_body_get_vietnamese_messages(client, auth, member):
    auth.login(member)
    response = client.post(
        "/ask", data={"title": "Dài " * 60, "body": "x" * 20001, "tags": "chatgpt"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tiêu đề quá dài" in page and "Nội dung quá dài" in page


def test_unexpected_errors_become_a_friendly_500_page(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    response = client.get("/boom")
    assert response.status_code == 500
    assert "chưa mất" in response.get_data(as_text=True)
