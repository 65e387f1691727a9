"""Fixtures: a fresh app and database per test (SQLite in memory, or TEST_DATABASE_URL),
a client that keeps CSRF protection on and sends the token like a browser form, helpers
to make members and threads, and seeded states built once per run (`snapshots`)."""

import os
import re
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from forum import create_app
from forum.extensions import db
from forum.indexing import search_engine
from forum.models import User
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
def app_overrides():
    """Settings a test module gives its app (override this fixture), e.g. rate limits on."""
    return {}


@pytest.fixture
def app(tmp_path, classifier_path, app_overrides):
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SQLALCHEMY_DATABASE_URI": os.environ.get("TEST_DATABASE_URL", "sqlite://"),
            "MODERATION_CLASSIFIER_PATH": classifier_path,
            **app_overrides,
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


class Snapshots:
    """Seeded states (say, the seed's 99 threads, indexed) built by the first test that needs
    each, then restored for the next ones from a copy of its database and search index: seeding
    and indexing once per run, not once per test. The index folder holds the index and how far
    it follows the database's search changes, so the copy and the database agree. SQLite only;
    on PostgreSQL every test builds its own state, as before."""

    def __init__(self, root):
        self.root = root
        self.made = {}  # (name, users made before) -> (folder, {key: (model, id)})

    def restore_or_build(self, app, name, build):
        """What `build()` returns (a dict of model objects), from the snapshot when there is one.
        The users a test made before asking are part of the key: another set, another state."""
        if db.engine.dialect.name != "sqlite":
            return build()
        key = (name, tuple(db.session.scalars(select(User.username).order_by(User.id))))
        if key in self.made:
            folder, refs = self.made[key]
            self._restore(app, folder)
            return {k: db.session.get(model, id_) for k, (model, id_) in refs.items()}
        result = build()
        folder = self.root / f"{name}-{len(self.made)}"
        self._save(app, folder)
        self.made[key] = (folder, {k: (type(v), v.id) for k, v in result.items()})
        return result

    def _save(self, app, folder):
        db.session.commit()
        _close_search(app)
        folder.mkdir()
        shutil.copytree(app.config["SEARCH_INDEX_PATH"], folder / "search")
        with closing(sqlite3.connect(folder / "forum.db")) as target:
            _with_raw_connection(lambda connection: connection.backup(target))
        search_engine(app)  # open again, as the build left it

    def _restore(self, app, folder):
        db.session.commit()
        _close_search(app)
        index = Path(app.config["SEARCH_INDEX_PATH"])
        shutil.rmtree(index, ignore_errors=True)
        shutil.copytree(folder / "search", index)
        with closing(sqlite3.connect(folder / "forum.db")) as source:
            _with_raw_connection(source.backup)
        db.session.expire_all()  # the test's users are re-read from the restored rows
        search_engine(app)


def _close_search(app):
    engine = app.extensions.pop("search", None)
    if engine is not None:
        engine.close()  # its files are copied or replaced next


def _with_raw_connection(action):
    """Run action(sqlite3 connection) on the app's own connection (an in-memory database lives
    only in the connection that made it; SQLAlchemy keeps one per thread)."""
    connection = db.engine.raw_connection()
    try:
        action(connection.driver_connection)
    finally:
        connection.close()


@pytest.fixture(scope="session")
def snapshots(tmp_path_factory):
    return Snapshots(tmp_path_factory.mktemp("snapshots"))


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
