"""The FastAGI server's connection reserve: opened at start, topped up only once calls stop arriving."""

from __future__ import annotations

import sqlite3
import time

import pytest

from cc.telephony.handlers import ReservePool


def _wait_for(predicate, timeout: float = 5.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.fixture
def make_pool():
    """``ReservePool(...)``, closed after the test (its refill thread would keep it and its connections)."""
    made: list[ReservePool] = []

    def make(*args, **kwargs) -> ReservePool:  # noqa: ANN002, ANN003
        made.append(ReservePool(*args, **kwargs))
        return made[-1]

    yield make
    for pool in made:
        pool.close()


def test_the_reserve_is_open_at_start_and_refilled_after_a_burst(tmp_path, make_pool):
    db = str(tmp_path / "cc.db")
    sqlite3.connect(db).close()  # the pool only opens connections: no schema needed
    pool = make_pool(db, keep=8, reserve=4, quiet=0.2)
    assert len(pool._free) == 4
    taken = [pool.take() for _ in range(6)]  # a burst bigger than the reserve: the last two open their own
    assert len(pool._free) == 0
    assert all(conn.execute("SELECT 1").fetchone() == (1,) for conn in taken)
    assert _wait_for(lambda: len(pool._free) == 4)  # topped up once no call started for 0.2 s
    for conn in taken:
        pool.give(conn)
    assert len(pool._free) == 8  # given back up to keep; beyond it they are closed
    extra = pool.take()
    pool.give(extra)
    pool.give(pool.take())
    assert len(pool._free) == 8


def test_no_connection_is_opened_while_calls_keep_arriving(tmp_path, make_pool):
    db = str(tmp_path / "cc.db")
    sqlite3.connect(db).close()  # the pool only opens connections: no schema needed
    pool = make_pool(db, keep=8, reserve=4, quiet=0.3)
    held = [pool.take() for _ in range(4)]
    started = time.monotonic()
    while time.monotonic() - started < 0.6:  # a new call every 0.1 s: never quiet for 0.3 s
        pool.give(pool.take())
        assert len(pool._free) == 1  # the one connection going round; none opened in the background
        time.sleep(0.1)
    assert _wait_for(lambda: len(pool._free) == 4)
    for conn in held:
        pool.give(conn)


def test_a_call_borrows_a_connection_per_statement_and_gives_it_back(tmp_path, make_pool):
    from cc.store.db import open_db
    from cc.telephony.handlers import BorrowedConnection

    db = str(tmp_path / "cc.db")
    setup = open_db(db)
    setup.conn.execute("INSERT INTO customers (phone, name, created_at, updated_at) VALUES ('+8613800138000', '张三', '', '')")
    setup.conn.close()
    pool = make_pool(db, keep=4, reserve=2, quiet=0.2)
    borrowed = BorrowedConnection(pool)
    rows = borrowed.execute("SELECT phone, name FROM customers WHERE phone = ?", ("+8613800138000",))
    assert [d[0] for d in rows.description] == ["phone", "name"]
    assert rows.fetchone() == ("+8613800138000", "张三") and rows.fetchone() is None
    assert len(pool._free) == 2  # given back as soon as the rows were read
    assert list(borrowed.execute("SELECT count(*) FROM customers")) == [(1,)]
    with pytest.raises(RuntimeError, match="not transactions"):
        borrowed.execute("BEGIN IMMEDIATE")
    assert len(pool._free) == 2
