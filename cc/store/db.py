"""Opening the one SQLite file every process shares, and transactions that do not fail under load.

Rules (measured, see DESIGN.md): WAL set once, a busy timeout, foreign keys on, one connection per thread,
``BEGIN IMMEDIATE`` for any read-then-write, short transactions.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from cc.errors import CcError, UsageError

if TYPE_CHECKING:  # sqlite-utils loads only where a Database is opened: the classic-AGI entry stays lean
    import sqlite_utils

BUSY_TIMEOUT_MS = 10_000
PAGE_SIZE = 1024  # for new database files; see open_db


def open_db(path: str | Path, *, migrate: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) the database file and bring its schema up to date."""
    path = Path(path)
    if str(path) != ":memory:":
        if path.is_dir():
            raise UsageError(f"{path} is a folder, not a database file", "pass a file path with --db")
        if not path.parent.exists():
            raise UsageError(
                f"cannot create database {path}: folder {path.parent} does not exist",
                "create the folder first or choose another --db",
            )
    conn = None
    try:
        # isolation_level=None: we issue BEGIN ourselves (sqlite-utils' atomic() or immediate()).
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # Set before the first table exists (a no-op on an existing file). Every commit writes each B-tree
        # page it touched, whole, to the WAL, and a checkpoint later fsyncs those bytes: the order path
        # touches about 35 pages per order, so 1 KiB pages write a quarter of the bytes 4 KiB ones do
        # (measured: about 25% more orders per second, the checkpoint's fsync 100 ms -> 30 ms).
        conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode.lower() != "wal" and str(path) != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        # A checkpoint fsyncs (about 5 ms on these disks); every 10,000 pages (40 MB of WAL) instead of
        # SQLite's 1,000 keeps that off the order path without letting the WAL grow without bound.
        conn.execute("PRAGMA wal_autocheckpoint=10000")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        raise UsageError(f"cannot open database {path}: {exc}", "check that the file is a cc SQLite database") from exc
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    if migrate:
        from cc.store.migrations import apply_migrations

        try:
            apply_migrations(db)
        except BaseException:
            conn.close()
            raise
    return db


@contextlib.contextmanager
def immediate_on(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that takes the write lock up front (``BEGIN IMMEDIATE``).

    Nested use becomes a savepoint. Use this for every read-then-write: a deferred transaction that
    upgrades from reader to writer fails with "database is locked" instead of waiting.
    """
    if conn.in_transaction:
        import secrets  # here: it loads hmac/hashlib, ~10 ms of a classic-AGI process that never nests

        name = f"sp_{secrets.token_hex(6)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            conn.execute(f"RELEASE SAVEPOINT {name}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


@contextlib.contextmanager
def immediate(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """``immediate_on`` for a sqlite-utils Database."""
    with immediate_on(db.conn):
        yield db


def fetch_rows(conn: sqlite3.Connection, sql: str, params: tuple | dict = ()) -> list[dict]:
    """Run a query and consume it at once (a half-read cursor holds a read lock), rows as dicts.

    Straight on the sqlite3 connection: sqlite-utils' ``query()`` wraps every read in a savepoint, which
    costs more than the query itself on the hot paths."""
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description] if cursor.description else []
    return [dict(zip(names, row)) for row in cursor.fetchall()]


class ConnectionStore:
    """Base of the stores: one connection (a sqlite-utils Database or a bare sqlite3 connection),
    ``transaction()`` = BEGIN IMMEDIATE (a savepoint when nested), and rows as dicts."""

    def __init__(self, db: sqlite_utils.Database | sqlite3.Connection) -> None:
        self.db = db
        self.conn: sqlite3.Connection = getattr(db, "conn", db)

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        return immediate_on(self.conn)

    def _rows(self, sql: str, params: tuple | dict = ()) -> list[dict]:
        return fetch_rows(self.conn, sql, params)

    def _one(self, sql: str, params: tuple | dict = ()) -> dict | None:
        found = fetch_rows(self.conn, sql, params)
        return found[0] if found else None


def rows(db: sqlite_utils.Database, sql: str, params: tuple | dict = ()) -> list[dict]:
    return fetch_rows(db.conn, sql, params)


def one(db: sqlite_utils.Database, sql: str, params: tuple | dict = ()) -> dict | None:
    found = rows(db, sql, params)
    return found[0] if found else None


def scalar(db: sqlite_utils.Database, sql: str, params: tuple | dict = ()):  # noqa: ANN201
    row = db.conn.execute(sql, params).fetchone()
    return row[0] if row else None


class DatabaseBusy(CcError):
    pass
