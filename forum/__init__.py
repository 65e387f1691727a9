"""Xứ Trà Hỏi Đáp: the Flask application."""

import logging
import os
import secrets
from pathlib import Path

from flask import Flask, g, has_request_context, request, session
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from forum import assets, cli, indexing, jobs, labels, permissions, search_feed, templating
from forum.config import ROOT, Config, TestConfig, from_environment
from forum.extensions import babel, csrf, db, limiter, login_manager, migrate
from forum.models import User
from forum.services import (
    assistant,
    drafting,
    mail,
    member_data,
    mentions,
    screening,
    suggestions,
)
from forum.views import (
    admin,
    api,
    api_members,  # noqa: F401  (adds its routes to the API blueprint)
    auth,
    claims,
    email,
    errors,
    feeds,
    main,
    members,
    notifications,
    questions,
    review,
    search,
    tags,
    users,
)

# The index folder's layout. An index is derived data: a release that cannot read the folders of
# an older one bumps this, and the follower builds a new index beside the old folder (which it
# then removes) instead of a web worker failing to open it.
INDEX_LAYOUT = 2


def create_app(overrides=None):
    """Build the app: config -> extensions -> services -> blueprints."""
    overrides = dict(overrides or {})
    base = TestConfig if overrides.get("TESTING") else Config
    settings = {**({} if base is TestConfig else from_environment()), **overrides}
    instance_path = Path(settings.get("INSTANCE_PATH") or ROOT / "instance").resolve()

    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_object(base)
    app.config.update(settings)
    _derive_paths(app, instance_path)
    if app.config["TRUSTED_PROXIES"]:
        # The visitor's address from the proxy's X-Forwarded-For (rate limits are per address).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"])

    _init_extensions(app)
    _init_services(app)
    _register_blueprints(app)
    _register_template_helpers(app)
    cli.init_app(app)
    return app


def _derive_paths(app, instance_path):
    """Every file the app writes lives under the instance folder unless configured otherwise."""
    instance_path.mkdir(parents=True, exist_ok=True)
    config = app.config
    config["INSTANCE_PATH"] = str(instance_path)
    config.setdefault("UPLOADS_PATH", str(instance_path / "uploads"))
    config.setdefault("SEARCH_INDEX_PATH", str(instance_path / f"search-v{INDEX_LAYOUT}"))
    config.setdefault("MODELS_PATH", str(instance_path / "models"))
    config.setdefault("MODERATION_PATH", str(instance_path / "moderation"))
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance_path / 'forum.db'}"
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _instance_secret(instance_path)


def _instance_secret(instance_path):
    """A secret generated once per installation and kept in the instance folder."""
    path = instance_path / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        os.chmod(path, 0o600)
    return path.read_text().strip()


def _init_extensions(app):
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=_select_locale,
        default_translation_directories=str(ROOT / "forum" / "translations"),
    )
    limiter.init_app(app)
    assets.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas(app.config["SQLITE_WAL"]))


def _sqlite_pragmas(wal):
    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    return on_connect


def _select_locale():
    if not has_request_context():
        return "vi"  # commands and jobs speak the default language
    # The session only: loading the user here would recurse through Flask-Login's own messages.
    lang = session.get("lang")
    return lang if lang in ("vi", "en") else "vi"


@login_manager.user_loader
def _load_user(login_id):
    user_id, _, version = login_id.partition(".")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or str(user.session_version) != version:
        return None  # the password changed since this session logged in
    return user


def _init_services(app):
    app.extensions["jobs"] = jobs.JobRunner(app)
    search_feed.listen()
    # Every background job, enqueued by its function's name (`jobs.enqueue("suggest_answers", id)`).
    jobs.register(
        app,
        [
            indexing.follow_search_changes,
            suggestions.suggest_answers,
            assistant.route_question,
            drafting.draft_answer,
            mail.email_answer_notices,
            mail.send_outbox,
            screening.warm_moderation,
            mentions.email_mention_notices,
            member_data.build_export,
        ],
    )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _register_blueprints(app):
    for module in (
        main,
        auth,
        questions,
        search,
        tags,
        users,
        notifications,
        members,
        review,
        admin,
        claims,
        feeds,
        email,
        api,
        errors,
    ):
        app.register_blueprint(module.bp)
    csrf.exempt(api.bp)  # the API authenticates with bearer tokens, never with cookies


def _register_template_helpers(app):
    templating.init_app(app)
    labels.init_app(app)
    app.jinja_env.globals.update(permissions.PREDICATES)
    app.jinja_env.globals["index_ready"] = indexing.index_ready

    @app.before_request
    def remember_request_start():
        g.lang = _select_locale()
        g.path = request.path
