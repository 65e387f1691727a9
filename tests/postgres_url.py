"""Prints a PostgreSQL URL for the test run, creating the test database if needed; exits 1 when
no server answers on 127.0.0.1:5432 (then `make test` runs on SQLite only)."""

import os
import sys

import psycopg

ADMIN = os.environ.get("TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
NAME = os.environ.get("TEST_POSTGRES_DB", "xutra_test")


def main():
    try:
        with psycopg.connect(ADMIN, connect_timeout=3, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (NAME,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{NAME}"')
    except psycopg.Error:
        return 1
    base = ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    print(f"{base}/{NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
