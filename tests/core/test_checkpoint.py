"""The background checkpointer: it copies the WAL into the database from its own thread, never blocks a
writer, stops cleanly, and never creates a database file."""

from __future__ import annotations

import sqlite3
import threading
import time

from cc.store.checkpoint import Checkpointer, background_checkpoints
from cc.store.db import open_db


def _wait(predicate, timeout: float = 10.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_copies_the_wal_while_a_writer_keeps_writing(tmp_path):
    path = tmp_path / "cc.db"
    db = open_db(path)
    conn = db.conn
    conn.execute("PRAGMA wal_autocheckpoint=0")  # only the background thread checkpoints here
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    with background_checkpoints(path, interval=0.01) as checkpointer:
        for i in range(300):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (v) VALUES (?)", ("牛奶" * 50,))
            conn.execute("COMMIT")
        written = conn.execute("SELECT count(*) FROM t").fetchone()[0]
        rounds = checkpointer.rounds
        _wait(lambda: checkpointer.rounds >= rounds + 2)  # at least one whole round after the last commit
        thread = checkpointer._thread
    assert written == 300
    assert not thread.is_alive()  # stopped with the block
    # The main connection never checkpointed, yet the database file holds the rows: the thread copied them.
    conn.close()
    raw = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)  # reads the file only, not the WAL
    try:
        assert raw.execute("SELECT count(*) FROM t").fetchone()[0] == 300
    finally:
        raw.close()


def test_never_blocks_a_writer_holding_the_lock(tmp_path):
    path = tmp_path / "cc.db"
    db = open_db(path)
    db.conn.execute("CREATE TABLE t (v)")
    db.conn.execute("BEGIN IMMEDIATE")
    db.conn.execute("INSERT INTO t VALUES (1)")
    checkpointer = Checkpointer(path, interval=0.01).start()
    try:
        _wait(lambda: checkpointer.rounds >= 3)  # rounds go on (skipped or partial) while the lock is held
        db.conn.execute("COMMIT")
    finally:
        checkpointer.stop()
        checkpointer.stop()  # idempotent
        db.conn.close()


def test_waits_for_the_file_and_never_creates_it(tmp_path):
    """A process may start the checkpointer before it creates the database (cc agi serve does)."""
    path = tmp_path / "later.db"
    checkpointer = Checkpointer(path, interval=0.01).start()
    time.sleep(0.05)  # a few intervals with no file: nothing created, no round run
    assert not path.exists() and checkpointer.rounds == 0
    db = open_db(path)
    try:
        _wait(lambda: checkpointer.rounds >= 2)
    finally:
        checkpointer.stop()
        db.conn.close()
    stopped = Checkpointer(tmp_path / "never.db", interval=0.01).start()
    stopped.stop()  # stops while waiting for the file
    assert stopped._thread is None and not (tmp_path / "never.db").exists()


def test_memory_database_starts_no_thread():
    checkpointer = Checkpointer(":memory:").start()
    assert checkpointer._thread is None
    checkpointer.stop()
    assert threading.active_count() >= 1
