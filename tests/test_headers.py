"""Security headers on every kind of response: pages, the API, static files, errors."""

import runpy
from pathlib import Path

import gunicorn.http.wsgi
import pytest

from forum.security_headers import CONTENT_SECURITY_POLICY

EVERY_RESPONSE = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),  # a page
        ("/api/v1/questions", 200),  # the API
        ("/static/css/site.css", 200),  # a static file
        ("/static/js/site.js", 200),
        ("/q/999999", 404),  # an error page
        ("/api/v1/questions/999999", 404),  # an API error
        ("/feeds/questions.atom", 200),  # a feed
    ],
)
def test_every_response_carries_the_security_headers(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    for name, value in EVERY_RESPONSE.items():
        assert response.headers[name] == value
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_the_policy_allows_only_the_sites_own_scripts_and_no_framing():
    rules = dict(rule.split(" ", 1) for rule in CONTENT_SECURITY_POLICY.split("; "))
    assert rules["script-src"] == "'self'"  # no 'unsafe-inline', no other host
    assert rules["style-src"] == "'self'"
    assert rules["frame-ancestors"] == "'none'"
    assert rules["object-src"] == "'none'"


def test_pages_have_no_inline_script_or_style(client, auth, member, thread):
    """What the policy would block: a <script> with a body, an on...= handler, a style=."""
    auth.login(member)
    for path in ("/", f"/q/{thread.id}", "/ask", "/account", "/search?q=chatgpt", "/tags"):
        page = client.get(path, follow_redirects=True).get_data(as_text=True)
        assert "<script>" not in page and "<style" not in page, path
        assert " style=" not in page and " onclick=" not in page, path
        assert "<script src=" in page  # the site's own script, from static/


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://forum.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize("app_overrides", [{"TRUSTED_PROXIES": 1}])
def test_hsts_behind_a_proxy_that_ended_https(client):
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in response.headers


def test_gunicorn_does_not_name_itself():
    runpy.run_path(str(Path(__file__).parent.parent / "gunicorn.conf.py"))
    assert "gunicorn" not in gunicorn.http.wsgi.SERVER.lower()
