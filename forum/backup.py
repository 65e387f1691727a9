"""Backups that restore: one tar file holding the database (SQLite's online backup, or pg_dump's
custom format on PostgreSQL), the uploaded images, the moderation classifier trained here and a
manifest of row counts. The search index and the encoder are derived data: a restored instance's
follower rebuilds the index from the database (stored vectors included), and the encoder comes
from `flask models prepare`."""

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url

from forum.extensions import db
from forum.indexing import drop_index
from forum.models import Post, User

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite"
PG_DUMP_FILE = "database.pgdump"
UPLOADS = "uploads"
MODERATION = "moderation"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why."""


@dataclass
class RestoreReport:
    archive: Path
    database: str
    counts: dict[str, int] = field(default_factory=dict)  # table -> rows after the restore
    expected: dict[str, int] = field(default_factory=dict)  # table -> rows in the manifest
    uploads: int = 0

    @property
    def mismatched(self):
        """Tables whose rows differ from the manifest's count: {table: (expected, found)}."""
        return {
            table: (rows, self.counts.get(table))
            for table, rows in self.expected.items()
            if self.counts.get(table) != rows
        }


def dialect():
    return db.engine.dialect.name


def table_counts():
    """Rows in every table of the forum's schema."""
    tables = set(inspect(db.engine).get_table_names())
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name in tables
    }


def backup(target_dir):
    """Write a backup of this instance into `target_dir`; returns the tar file's path. Written
    under a temporary name and renamed at the end: a file with the final name is complete."""
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    final = target_dir / f"xutra-backup-{stamp}.tar"
    partial = final.with_suffix(".tar.partial")
    with tempfile.TemporaryDirectory(dir=target_dir) as work:
        database_file = _dump_database(Path(work))
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": dialect(),
            "counts": table_counts(),
        }
        with tarfile.open(partial, "w") as archive:
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
            archive.add(database_file, arcname=database_file.name)
            for folder, name in _folders():
                if folder.is_dir():
                    archive.add(folder, arcname=name)
    partial.rename(final)
    return final


def _dump_database(work):
    if dialect() == "sqlite":
        path = work / SQLITE_FILE
        # The online backup API copies a consistent snapshot while the forum keeps writing.
        with closing(sqlite3.connect(path)) as target:
            _with_sqlite_connection(lambda connection: connection.backup(target))
        return path
    path = work / PG_DUMP_FILE
    dsn, env = _libpq_target()
    command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={path}"]
    _run([*command, dsn], env)
    return path


def restore(archive_path):
    """Restore a backup into this instance, which must be empty (no members, no posts); the
    search index is removed so the follower builds it again from the restored database."""
    archive_path = Path(archive_path)
    _require_empty_instance()
    with tempfile.TemporaryDirectory() as work, tarfile.open(archive_path) as archive:
        work = Path(work)
        archive.extractall(work, filter="data")  # no absolute paths, links or devices
        manifest = json.loads((work / MANIFEST).read_text())
        if manifest.get("format") != FORMAT:
            raise BackupError(f"unknown backup format {manifest.get('format')!r}")
        if manifest["database"] != dialect():
            raise BackupError(
                f"this backup holds a {manifest['database']} database; this instance uses "
                f"{dialect()} (restore into an instance of the same kind)"
            )
        _load_database(work)
        for folder, name in _folders():
            if (work / name).is_dir():
                shutil.copytree(work / name, folder, dirs_exist_ok=True)
        uploads = _count_files(Path(current_app.config["UPLOADS_PATH"]))
    drop_index()
    db.session.expire_all()
    return RestoreReport(
        archive_path, dialect(), table_counts(), manifest["counts"], uploads=uploads
    )


def _require_empty_instance():
    tables = set(inspect(db.engine).get_table_names())
    for model, what in ((User, "members"), (Post, "posts")):
        if model.__tablename__ in tables:
            count = db.session.scalar(select(func.count()).select_from(model))
            if count:
                raise BackupError(
                    f"this instance already holds {count} {what}: restore goes into an empty "
                    "instance (a new database and instance folder)"
                )
    db.session.rollback()  # end the reading transaction before the database is replaced


def _load_database(work):
    if dialect() == "sqlite":
        with closing(sqlite3.connect(work / SQLITE_FILE)) as source:
            _with_sqlite_connection(source.backup)
        return
    db.engine.dispose()  # no pooled connection holds a lock on a table pg_restore replaces
    dsn, env = _libpq_target()
    # --clean: tables an empty instance already made (`flask db upgrade`) are replaced whole.
    _run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
         "--exit-on-error", f"--dbname={dsn}", str(work / PG_DUMP_FILE)],
        env,
    )  # fmt: skip


def _folders():
    """(folder of this instance, name in the archive) of the files a backup carries."""
    config = current_app.config
    return [(Path(config["UPLOADS_PATH"]), UPLOADS), (Path(config["MODERATION_PATH"]), MODERATION)]


def _count_files(folder):
    return sum(1 for path in folder.rglob("*") if path.is_file()) if folder.is_dir() else 0


def _with_sqlite_connection(action):
    """Run action(sqlite3 connection) on the app's own connection (which also works for an
    in-memory database, alive only in the connection that made it)."""
    connection = db.engine.raw_connection()
    try:
        action(connection.driver_connection)
    finally:
        connection.close()


def _libpq_target():
    """The database as pg_dump and pg_restore take it; the password goes in the environment,
    never on a command line that `ps` shows."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return dsn, env


def _run(command, env):
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: apt install postgresql-client)")
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()}")


def _add_bytes(archive, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))

