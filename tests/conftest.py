"""Fixtures: a fresh app and database per test (SQLite in memory, or TEST_DATABASE_URL),
a client that keeps CSRF protection on and sends the token like a browser form, and helpers
to make members and threads."""

import os
import re

import pytest
from flask.testing import FlaskClient

from forum import create_app
from forum.extensions import db
from forum.services import accounts, posts

PASSWORD = "matkhau-an-toan"
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class BrowserClient(FlaskClient):
    """A test client that, like a browser, submits the page's CSRF token with every form."""

    csrf_token = None

    def fetch_csrf_token(self):
        page = self.get("/")
        self.csrf_token = TOKEN_RE.search(page.get_data(as_text=True)).group(1)
        return self.csrf_token

    def open(self, *args, **kwargs):
        # Each request gets its own app context, as in a real server (so `g` and the database
        # session do not leak between requests); the test's own session then re-reads its objects.
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response

    def post(self, *args, csrf=True, **kwargs):
        data = kwargs.get("data")
        if csrf and kwargs.get("json") is None and (data is None or isinstance(data, dict)):
            data = dict(data or {})
            data.setdefault("csrf_token", self.csrf_token or self.fetch_csrf_token())
            kwargs["data"] = data
        return super().post(*args, **kwargs)


@pytest.fixture(scope="session")
def classifier_path(tmp_path_factory):
    """Where the toxicity classifier lives for the whole run: trained once, on first use."""
    return str(tmp_path_factory.mktemp("moderation") / "toxicity.joblib")


@pytest.fixture
def app(tmp_path, classifier_path):
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SQLALCHEMY_DATABASE_URI": os.environ.get("TEST_DATABASE_URL", "sqlite://"),
            "MODERATION_CLASSIFIER_PATH": classifier_path,
        }
    )
    app.test_client_class = BrowserClient
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
        engine = app.extensions.get("search")
        if engine is not None:
            engine.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    def make(username="hoa", role="member", password=PASSWORD, **kwargs):
        return accounts.register(username, password, role=role, **kwargs)

    return make


@pytest.fixture
def member(make_user):
    return make_user("hoa_thanh_vien")


@pytest.fixture
def other_member(make_user):
    return make_user("minh_thanh_vien")


@pytest.fixture
def moderator(make_user):
    return make_user("dieu_hanh_vien", role="moderator")


@pytest.fixture
def make_thread(app):
    def make(
        author,
        title="Làm sao viết prompt cho ChatGPT hay hơn?",
        body=None,
        tags="chatgpt, viết prompt",
    ):
        body = body or "Em hỏi ChatGPT mà nó trả lời chung chung quá, nên viết thế nào ạ?"
        return posts.ask_question(author, title, body, tags)

    return make


@pytest.fixture
def thread(member, make_thread):
    return make_thread(member)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, user_or_name, password=PASSWORD, remember=True):
        """Log in as the form does (the "remember me" box comes ticked)."""
        username = getattr(user_or_name, "username", user_or_name)
        data = {"username": username, "password": password}
        if remember:
            data["remember"] = "1"
        return self.client.post("/login", data=data)

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)
