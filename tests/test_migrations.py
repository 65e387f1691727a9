"""The migration history builds the same schema the models describe, on SQLite and PostgreSQL."""

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from forum.extensions import db

# threads <-> posts keys that SQLite cannot add once both tables exist (PostgreSQL has them)
THREAD_POST_FKS = {"fk_threads_accepted_answer_id_posts", "fk_threads_solved_by_answer_id_posts"}


def test_migrations_upgrade_to_the_models_and_back(app):
    db.drop_all()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade()
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    if db.engine.dialect.name == "sqlite":
        differences = [
            d for d in differences if not (d[0] == "add_fk" and d[1].name in THREAD_POST_FKS)
        ]
    assert differences == [], differences
    downgrade(revision="base")
    with db.engine.connect() as connection:
        remaining = set(db.inspect(connection).get_table_names()) - {"alembic_version"}
    assert remaining == set()
    upgrade()  # leave tables for the fixture's teardown


def test_the_test_database_is_the_one_asked_for(app):
    expected = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    assert str(db.engine.url).split(":")[0] == expected.split(":")[0]
