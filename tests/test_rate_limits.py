"""Rate limits: visitors count per IP address, members per account (many members share one
address), endpoints that run a search or the encoder more generously for members; every costly
endpoint has a limit; limits hold when Redis is unreachable. A limited request gets a clear
Vietnamese answer, never a 500."""

import socket

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix

from forum import create_app
from forum.extensions import db, limiter
from forum.services import accounts, posts
from tests.conftest import PASSWORD, BrowserClient

LIMITED = "Bạn thao tác nhanh quá"


@pytest.fixture
def app_overrides():
    # Limits are off in TestConfig; these tests (only) turn them on, small enough to reach.
    return {
        "RATELIMIT_ENABLED": True,
        "SEARCH_RATE_LIMIT": "2 per minute",
        "SEARCH_MEMBER_RATE_LIMIT": "",  # members: no limit
        "SIMILAR_RATE_LIMIT": "2 per minute",
        "SIMILAR_MEMBER_RATE_LIMIT": "5 per minute",
        "ASSIST_RATE_LIMIT": "1 per minute",
        "ASSIST_MEMBER_RATE_LIMIT": "5 per minute",
        "POST_RATE_LIMIT": "2 per minute",
        "VOTE_RATE_LIMIT": "2 per minute",
        "PREVIEW_RATE_LIMIT": "2 per minute",
        "TAGS_RATE_LIMIT": "2 per minute",
        "USERNAME_RATE_LIMIT": "2 per minute",
        "PERSONAL_DATA_RATE_LIMIT": "2 per minute",
        "MODERATION_CHECK_RATE_LIMIT": "2 per minute",
        "TOKEN_RATE_LIMIT": "2 per hour",
        "ACCOUNT_RATE_LIMIT": "2 per minute",
    }


def test_a_visitor_is_limited_on_search_page_and_api_together(client):
    assert client.get("/search?q=zalo").status_code == 200
    assert client.get("/api/v1/search?q=zalo").status_code == 200
    page = client.get("/search?q=zalo")
    assert page.status_code == 429
    assert LIMITED in page.get_data(as_text=True)
    response = client.get("/api/v1/search?q=zalo")
    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["code"] == "rate_limited" and LIMITED in error["message"]


def test_behind_a_trusted_proxy_each_visitor_has_their_own_limit(app, client):
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # what TRUSTED_PROXIES = 1 sets up
    first = {"X-Forwarded-For": "203.0.113.7"}
    for _ in range(2):
        assert client.get("/search?q=zalo", headers=first).status_code == 200
    assert client.get("/search?q=zalo", headers=first).status_code == 429
    other = {"X-Forwarded-For": "198.51.100.23"}
    assert client.get("/search?q=zalo", headers=other).status_code == 200


def test_trusted_proxies_setting_installs_the_proxy_fix(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "i"), "TRUSTED_PROXIES": 1})
    assert isinstance(app.wsgi_app, ProxyFix)


def test_a_member_is_not_limited_on_search(client, auth, member):
    auth.login(member)
    for _ in range(4):
        assert client.get("/search?q=zalo").status_code == 200
        assert client.get("/api/v1/search?q=zalo").status_code == 200


def test_similar_questions_limit_visitors_before_members(client, member):
    for _ in range(2):
        assert client.get("/api/v1/questions/similar?text=quên mật khẩu").status_code == 200
    limited = client.get("/api/v1/questions/similar?text=quên mật khẩu")
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    # A member with a token counts on their own, more generous, limit (same address).
    headers = {"Authorization": f"Bearer {accounts.create_api_token(member)}"}
    for _ in range(5):
        response = client.get("/api/v1/questions/similar?text=quên mật khẩu", headers=headers)
        assert response.status_code == 200
    response = client.get("/api/v1/questions/similar?text=quên mật khẩu", headers=headers)
    assert response.status_code == 429


def test_assist_limits_visitors_not_a_member_typing_on_the_ask_page(client, auth, member):
    draft = {"title": "Làm sao lấy lại mật khẩu Zalo?", "body": "Mình quên mật khẩu."}
    assert client.post("/api/v1/questions/assist", json=draft).status_code == 200
    limited = client.post("/api/v1/questions/assist", json=draft)
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    auth.login(member)  # the ask page's script sends the session cookie, no token
    for _ in range(3):
        assert client.post("/api/v1/questions/assist", json=draft).status_code == 200


def test_two_members_behind_one_address_both_post(client, auth, thread, member, make_user):
    """A carrier's NAT or a class on one Wi-Fi: one address, many members, each their own limit."""
    first, second = make_user("an_cung_wifi"), make_user("binh_cung_wifi")
    auth.login(first)
    for number in range(2):
        answer = {"body": f"Câu trả lời số {number} của An, đủ dài.", "confirmed": "1"}
        assert client.post(f"/q/{thread.id}/answer", data=answer).status_code == 302
    third = {"body": "Câu trả lời thứ ba của An, đủ dài.", "confirmed": "1"}
    assert client.post(f"/q/{thread.id}/answer", data=third).status_code == 429
    auth.logout()
    auth.login(second)  # the same address (the test client's), another member
    answer = {"body": "Câu trả lời đầu tiên của Bình, đủ dài.", "confirmed": "1"}
    assert client.post(f"/q/{thread.id}/answer", data=answer).status_code == 302


def test_api_posting_counts_per_member_too(client, thread, make_user):
    tokens = [accounts.create_api_token(make_user(name)) for name in ("an_api", "binh_api")]
    body = {"body": "Một câu trả lời qua API, đủ dài."}
    for _ in range(2):
        response = client.post(
            f"/api/v1/questions/{thread.id}/answers", json=body, headers=bearer(tokens[0])
        )
        assert response.status_code == 201
    limited = client.post(
        f"/api/v1/questions/{thread.id}/answers", json=body, headers=bearer(tokens[0])
    )
    assert limited.status_code == 429
    other = client.post(
        f"/api/v1/questions/{thread.id}/answers", json=body, headers=bearer(tokens[1])
    )
    assert other.status_code == 201


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


@pytest.fixture
def app_without_redis(tmp_path, classifier_path):
    """The app with its rate-limit store on a Redis that does not answer."""
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "no-redis"),
            "MODERATION_CLASSIFIER_PATH": classifier_path,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{closed_port()}/0",
            "LOGIN_RATE_LIMIT": "3 per minute",
            "LOGIN_ADDRESS_RATE_LIMIT": "5 per minute",
        }
    )
    app.test_client_class = BrowserClient
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
    limiter._storage_dead = False  # the next test's app starts on its own store


def test_login_is_still_limited_when_redis_is_unreachable(app_without_redis, caplog):
    client = app_without_redis.test_client()
    accounts.register("hoa_redis", PASSWORD)
    wrong = {"username": "hoa_redis", "password": "doan-sai"}
    for _ in range(3):
        assert client.post("/login", data=wrong).status_code == 401
    limited = client.post("/login", data=wrong)
    assert limited.status_code == 429
    assert LIMITED in limited.get_data(as_text=True)
    # Not even the right password gets through until the minute is over.
    assert client.post("/login", data={**wrong, "password": PASSWORD}).status_code == 429
    assert "falling back to in-memory storage" in caplog.text


def test_votes_are_limited(client, auth, thread, other_member, make_user):
    answers = [
        posts.post_answer(make_user(f"nguoi_{n}"), thread, f"Câu trả lời số {n}, đủ dài nhé.")
        for n in range(3)
    ]
    auth.login(other_member)
    for answer in answers[:2]:
        assert client.post(f"/p/{answer.id}/vote", data={"value": "up"}).status_code == 302
    assert client.post(f"/p/{answers[2].id}/vote", data={"value": "up"}).status_code == 429


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/preview", {"data": {"body": "**Xin chào**"}}),
        ("get", "/api/v1/tags?q=ch", {}),
        ("get", "/register/username?name=Bà Nga", {}),
        ("post", "/api/v1/personal-data", {"json": {"text": "Không có gì riêng."}}),
    ],
)
def test_costly_endpoints_are_limited(client, auth, member, method, url, body):
    if url == "/preview":
        auth.login(member)
    for _ in range(2):
        assert getattr(client, method)(url, **body).status_code == 200
    limited = getattr(client, method)(url, **body)
    assert limited.status_code == 429
    said = limited.get_json()["error"]["message"] if limited.is_json else limited.text
    assert LIMITED in said


def test_the_moderation_check_is_limited(client, moderator):
    headers = bearer(accounts.create_api_token(moderator))
    for _ in range(2):
        response = client.post("/api/v1/moderation/check", json={"text": "Chào"}, headers=headers)
        assert response.status_code == 200
    response = client.post("/api/v1/moderation/check", json={"text": "Chào"}, headers=headers)
    assert response.status_code == 429


def test_making_tokens_is_limited(client, auth, member):
    auth.login(member)
    for _ in range(2):
        assert client.post("/account/token", data={"name": "bot"}).status_code == 200
    assert client.post("/account/token", data={"name": "bot"}).status_code == 429


def test_the_account_form_is_limited(client, auth, member):
    """The form that takes an email address: probing addresses one by one is slow."""
    auth.login(member)
    profile = {"display_name": "Hoa", "bio": "", "email": "hoa@xutra.test"}
    for _ in range(2):
        assert client.post("/account", data=profile).status_code == 302
    assert client.post("/account", data=profile).status_code == 429



@pytest.fixture
def login_limits(app):
    app.config.update(LOGIN_RATE_LIMIT="3 per minute", LOGIN_ADDRESS_RATE_LIMIT="6 per minute")


def test_a_class_on_one_wifi_logs_in_but_guessing_is_limited(client, login_limits, make_user):
    """Tries at one account from one address are few; the address as a whole gets more, so a
    class logging in together is not turned away, and a password sprayer still is."""
    wrong = {"username": "hoa_lop", "password": "doan-sai"}
    make_user("hoa_lop")
    for _ in range(3):
        assert client.post("/login", data=wrong).status_code == 401
    assert client.post("/login", data=wrong).status_code == 429
    classmates = [make_user(f"hoc_vien_{n}") for n in range(2)]
    for user in classmates:  # the same address, each their own account
        data = {"username": user.username, "password": PASSWORD}
        assert client.post("/login", data=data).status_code == 302
        client.post("/logout")
    # Six tries in all from this address (the refused one too): the seventh, at any account,
    # waits.
    late = {"username": "hoc_vien_muon", "password": PASSWORD}
    assert client.post("/login", data=late).status_code == 429
