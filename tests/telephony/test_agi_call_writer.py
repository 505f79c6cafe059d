"""The FastAGI server's call-record writer: a batch written with one statement per kind lands exactly as the
same writes applied one by one; the call's first reads (caller, tree) in one statement give what the
separate queries give; writes after a quiet spell are not held back."""

from __future__ import annotations

import sqlite3
import time

import pytest

from cc.store.calls import CallStore, CallWriter, QueuedCallStore, connect
from cc.store.db import open_db


@pytest.fixture
def db_path(tmp_path):
    path = str(tmp_path / "cc.db")
    open_db(path).conn.close()
    return path


def _call(call_id: str, at: str) -> dict:
    return {"id": call_id, "channel": "Local/x", "caller": "13800138000", "dnid": "116114", "script": "inbound",
            "customer_id": None, "vip": 0, "blacklisted": 0, "tree_id": None, "started_at": at}


# Two calls on the same channel id (the second gets "-2"), interleaved; repeated answers and ends (the
# first wins), classify twice (the last wins), a voicemail between the events, details with non-ASCII text.
WRITES = [
    ("start_call", (_call("u1", "t01"),)),
    ("add_event", ("u1", "t02", "start", "", {"script": "inbound"})),
    ("answer", ("u1", "t03")),
    ("classify", ("u1", "+8613800138000", None, False, False)),
    ("classify", ("u1", "+8613800138000", 7, True, False)),
    ("set_tree", ("u1", 3)),
    ("add_event", ("u1", "t04", "node", "menu")),
    ("answer", ("u1", "t05")),
    ("add_voicemail", ("u1", "+8613800138000", "vm", "/rec/vm-1", "wav", 1200, "t06")),
    ("add_event", ("u1", "t07", "key", "menu", {"key": "1", "说明": "订奶"})),
    ("end_call", ("u1", "t08", ["menu", "vm"], "voicemail", "left a message")),
    ("end_call", ("u1", "t09", ["menu"], "error", "late")),
    ("start_call", (_call("u1", "t10"),)),
    ("add_event", ("u1", "t11", "start", "", None)),
    ("answer", ("u1", "t12")),
    ("end_call", ("u1", "t13", [], "abandoned", "caller hung up")),
    ("add_event", ("u1", "t14", "end", "", {"result": "abandoned"})),
]


def _snapshot(path: str) -> tuple[list, list, list]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        calls = [dict(r) for r in conn.execute("SELECT * FROM calls ORDER BY id")]
        events = [tuple(r) for r in conn.execute("SELECT call_id, at, kind, node, detail FROM call_events ORDER BY id")]
        voicemails = [tuple(r) for r in conn.execute("SELECT call_id, node, file, duration_ms FROM voicemails ORDER BY id")]
    finally:
        conn.close()
    return calls, events, voicemails


def test_a_batch_lands_as_the_same_writes_one_by_one(tmp_path, db_path):
    one_by_one = str(tmp_path / "one.db")
    open_db(one_by_one).conn.close()
    store = CallStore(connect(one_by_one))
    given: dict[str, str] = {}
    for method, args in WRITES:  # what the classic-AGI path does: each write on its own, with the id given
        if method == "start_call":
            given[args[0]["id"]] = store.start_call(args[0])
        else:
            getattr(store, method)(given.get(args[0], args[0]), *args[1:])
    store.close()

    writer = CallWriter(db_path)
    writer._apply(list(WRITES))  # one batch
    writer.close()
    assert not writer.errors
    expected, got = _snapshot(one_by_one), _snapshot(db_path)
    assert got == expected
    calls, events, _ = got
    assert [c["id"] for c in calls] == ["u1", "u1-2"]
    assert calls[0]["answered_at"] == "t03" and calls[0]["ended_at"] == "t08" and calls[0]["result"] == "voicemail"
    assert calls[0]["customer_id"] == 7 and calls[0]["vip"] == 1 and calls[0]["tree_id"] == 3
    assert [e[0] for e in events] == ["u1"] * 3 + ["u1-2"] * 2  # the "end" event after end_call too
    assert '"说明": "订奶"' in events[2][4]


def test_a_bad_write_in_a_batch_does_not_lose_the_others(db_path):
    writer = CallWriter(db_path)
    writer._apply([("start_call", (_call("ok", "t1"),)), ("add_event", ("missing", "t2", "start", "", {})),
                   ("add_event", ("ok", "t3", "start", "", {}))])
    writer.close()
    _, events, _ = _snapshot(db_path)
    assert [e[0] for e in events] == ["ok"]  # the event of an unknown call broke its foreign key alone
    assert len(writer.errors) == 1 and writer.errors[0].startswith("add_event")


def test_spaced_writer_gathers_a_burst_and_does_not_hold_a_lone_write(db_path):
    writer = CallWriter(db_path, spacing=0.2)
    batches: list[int] = []
    real = writer._apply
    writer._apply = lambda items: (batches.append(len(items)), real(items))  # type: ignore[method-assign]
    try:
        writer.submit("start_call", _call("a", "t1"))
        assert writer.flush(5)
        started = time.monotonic()
        for n in range(20):  # within the spacing after the first transaction: one more transaction
            writer.submit("add_event", "a", f"t{n}", "node", "menu", {})
        assert writer.flush(5)
        assert time.monotonic() - started < 1.0
        assert batches == [1, 20]
        time.sleep(0.25)  # a quiet spell: the next write goes at once
        started = time.monotonic()
        writer.submit("answer", "a", "t99")
        assert writer.flush(5) and time.monotonic() - started < 0.15
    finally:
        writer.close()
    calls, events, _ = _snapshot(db_path)
    assert calls[0]["answered_at"] == "t99" and len(events) == 20


def test_the_first_reads_in_one_statement_match_the_separate_queries(db_path):
    conn = connect(db_path)
    with conn:
        conn.execute("INSERT INTO customers (phone, name, created_at, updated_at) VALUES ('+8613800138000', '王', '', '')")
        conn.execute("INSERT INTO customer_tags (customer_id, tag) VALUES (1, 'vip'), (1, 'blacklist')")
        conn.execute("INSERT INTO accounts (customer_id, balance_fen, created_at) VALUES (1, 4200, '')")
        for n, (status, created) in enumerate([("delivering", "2026-01-02"), ("done", "2026-01-01"), ("new", "2026-01-03")]):
            conn.execute("INSERT INTO orders (code, customer_id, status, start_date, frequency, deliveries, end_date,"
                         " total_fen, deliveries_done, created_at, updated_at)"
                         " VALUES (?, 1, ?, '2026-01-01', 'daily', 10, '2026-01-10', 100, ?, ?, ?)",
                         (f"10{n}", status, n, created, created))
        conn.execute("INSERT INTO ivr_trees (name, source, yaml, tree_json, loaded_at, loaded_by)"
                     " VALUES ('t', '', '', '{}', '', '')")
    plain = CallStore(connect(db_path))
    one = QueuedCallStore(connect(db_path), writer=None)
    try:
        for phone in ("+8613800138000", "+8613900000000"):
            assert one.lookup_customer(phone) == plain.lookup_customer(phone)
            assert one.current_tree_id() == plain.current_tree_id() == 1
        assert [o["code"] for o in one.lookup_customer("+8613800138000")["orders"]] == ["102", "100", "101"]
        one.current_tree_id()
        with conn:
            conn.execute("INSERT INTO ivr_trees (name, source, yaml, tree_json, loaded_at, loaded_by)"
                         " VALUES ('t2', '', '', '{}', '', '')")
        assert one.current_tree_id() == 2  # only the read right after the lookup is taken from it
    finally:
        plain.close()
        one.close()
        conn.close()
