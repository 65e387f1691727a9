"""The migration history builds the same schema the models describe, on SQLite and PostgreSQL."""

import os
from datetime import datetime

import sqlalchemy as sa
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


def test_a_forum_with_posts_upgrades_from_the_previous_release(app):
    """`make run` upgrades an existing forum in place: tables SQLite has to copy (its batch
    mode) keep their rows and foreign keys, which are on again afterwards."""
    db.drop_all()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(revision=PREVIOUS_RELEASE)
    with db.engine.begin() as connection:
        for table in ("users", "threads", "posts"):
            insert_minimal_row(connection, table)
    upgrade()
    with db.engine.connect() as connection:
        for table in ("users", "threads", "posts"):
            assert connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 1
        if db.engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


PREVIOUS_RELEASE = "c15a00000001"


def insert_minimal_row(connection, name):
    """Row 1 of a table as the previous release had it: every required column filled, every
    required key pointing at row 1 of its table."""
    table = sa.Table(name, sa.MetaData(), autoload_with=connection)
    values = {"id": 1}
    for column in table.columns:
        if column.nullable or column.name == "id" or column.server_default is not None:
            continue
        python_type = column.type.python_type
        values[column.name] = {
            int: 1, str: "x", bool: False, datetime: datetime(2026, 1, 1)
        }.get(python_type, 1)
    connection.execute(table.insert().values(**values))
