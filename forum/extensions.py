"""The Flask extensions, created unbound and initialised in create_app()."""

from flask import g
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

# Named constraints so Alembic migrations work the same on SQLite and PostgreSQL.
naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=naming_convention))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def member_or_address():
    """Whom a rate limit counts: a logged-in member (by session, or by API token) on their own,
    a visitor by address. Many members share one address (a mobile carrier's NAT, a class on
    one Wi-Fi), so counting members by address would let one of them block the others."""
    user = g.get("api_user") or current_user
    if getattr(user, "is_authenticated", False):
        return f"member:{user.id}"
    return get_remote_address()


limiter = Limiter(key_func=member_or_address)
