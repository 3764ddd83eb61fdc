"""The database: SQLite file by default, any SQLAlchemy URL (e.g. PostgreSQL) by configuration.
The schema is brought up to date with Alembic on start, by one process at a time: several instances
starting at once (`tryon prepare` in each) run the migrations once, the others wait and find the
schema up to date."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 0x7472796F6E  # "tryon": the PostgreSQL advisory lock the migrations run under


class Database:
    """An engine, a session factory, and the migrations."""

    def __init__(self, url: str) -> None:
        self.url = url
        options = {"connect_args": {"check_same_thread": False, "timeout": 30}} if url.startswith("sqlite") else {}
        self.engine: Engine = create_engine(url, **options)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self, revision: str = "head") -> None:
        """Create or upgrade the schema to the latest migration (or to `revision`, to test upgrades)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self._sqlite_file_lock(), self.engine.begin() as connection:
            _postgres_transaction_lock(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    @contextmanager
    def _sqlite_file_lock(self) -> Iterator[None]:
        """For a SQLite file, an exclusive flock on `<file>.migrate.lock` beside it while migrating
        (SQLite's own locking would let two processes' migrations interleave and one fail);
        nothing for other databases and in-memory SQLite."""
        path = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        if not path or path == ":memory:":
            yield
            return
        with open(f"{path}.migrate.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            yield

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on any exception."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def close(self) -> None:
        self.engine.dispose()


def _postgres_transaction_lock(connection: Connection) -> None:
    """On PostgreSQL, wait for the migrations' advisory lock, held until this transaction ends: the
    migrations are transactional there, so whoever waited sees them committed (and finds nothing to do)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def _sqlite_pragmas(connection: Any, _record: object) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer; crash-safe commits
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()
