"""Endpoints that run a search or the encoder are rate limited: visitors per IP address, members
per account and more generously. A limited request gets a clear Vietnamese answer, never a 500."""

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix

from forum import create_app
from forum.services import accounts

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
