"""SQLite side of calls, their events, the IVR tree and what callers leave (voicemail, relays, queue
requests, greetings).

Works on the raw ``sqlite3`` connection (``db.conn`` of a sqlite-utils Database, or a bare connection):
the classic-AGI entry point (one process per call) must not pay ~160 ms to import sqlite-utils. Single
statements autocommit (WAL + busy timeout); read-then-write goes through ``transaction()``, which is
``BEGIN IMMEDIATE`` like ``cc.store.db.immediate``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

from cc.store.db import ConnectionStore


BUSY_TIMEOUT_MS = 10_000


def connect(path: str) -> sqlite3.Connection:
    """A bare connection with the same settings as ``cc.store.db.open_db`` (no migrations)."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def has_schema(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='voice_relays'").fetchone()
    return row is not None


class ConnectionPool:
    """Reused connections for call handlers (opening one costs ~3 ms here, a burst of calls paid it each).
    A connection is used by one thread at a time: taken at the start of a call, given back at its end."""

    def __init__(self, path: str, keep: int = 64) -> None:
        self.path = path
        self.keep = keep
        self._free: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def warm(self, count: int) -> None:
        opened = [connect(self.path) for _ in range(min(count, self.keep))]
        with self._lock:
            self._free.extend(opened)

    def take(self) -> sqlite3.Connection:
        with self._lock:
            if self._free:
                return self._free.pop()
        return connect(self.path)

    def give(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        with self._lock:
            if len(self._free) < self.keep:
                self._free.append(conn)
                return
        conn.close()


class CallStore(ConnectionStore):
    def __init__(self, db: Any, release: Any = None) -> None:
        super().__init__(db)
        self._release = release  # called with the connection instead of closing it (a pool)

    def close(self) -> None:
        if self._release is not None:
            self._release(self.conn)
        else:
            self.conn.close()


    # -- the IVR tree ---------------------------------------------------------------------------------

    def save_tree(self, name: str, source: str, yaml_text: str, tree_json: str, at: str, by: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO ivr_trees (name, source, yaml, tree_json, loaded_at, loaded_by) VALUES (?, ?, ?, ?, ?, ?)",
            (name, source, yaml_text, tree_json, at, by),
        )
        return int(cur.lastrowid)

    def current_tree(self) -> dict | None:
        found = self._rows("SELECT * FROM ivr_trees ORDER BY id DESC LIMIT 1")
        return found[0] if found else None

    def current_tree_id(self) -> int | None:
        row = self.conn.execute("SELECT max(id) FROM ivr_trees").fetchone()
        return row[0] if row else None

    def tree(self, tree_id: int) -> dict | None:
        found = self._rows("SELECT * FROM ivr_trees WHERE id = ?", (tree_id,))
        return found[0] if found else None

    # -- calls ----------------------------------------------------------------------------------------

    def start_call(self, call: dict) -> str:
        """Insert the call row; a repeated id (the same channel entering AGI again) gets a suffix."""
        base = call["id"]
        for n in range(1, 100):
            call_id = base if n == 1 else f"{base}-{n}"
            try:
                self.conn.execute(
                    "INSERT INTO calls (id, channel, caller, dnid, script, customer_id, vip, blacklisted, tree_id,"
                    " started_at) VALUES (:id, :channel, :caller, :dnid, :script, :customer_id, :vip, :blacklisted,"
                    " :tree_id, :started_at)",
                    {**call, "id": call_id},
                )
                return call_id
            except sqlite3.IntegrityError:
                continue
        raise RuntimeError(f"call id {base} used 100 times")

    def classify(self, call_id: str, caller: str, customer_id: int | None, vip: bool, blacklisted: bool) -> None:
        self.conn.execute(
            "UPDATE calls SET caller = ?, customer_id = ?, vip = ?, blacklisted = ? WHERE id = ?",
            (caller, customer_id, int(vip), int(blacklisted), call_id),
        )

    def set_tree(self, call_id: str, tree_id: int | None) -> None:
        self.conn.execute("UPDATE calls SET tree_id = ? WHERE id = ?", (tree_id, call_id))

    def lookup_customer(self, phone: str) -> dict | None:
        """Read-only view of a customer for caller classification: tags, balance, recent orders.

        Used where the customers/orders services are not loaded (the lean classic-AGI process)."""
        found = self._rows("SELECT id, phone, name FROM customers WHERE phone = ?", (phone,))
        if not found:
            return None
        customer = found[0]
        cid = customer["id"]
        customer["tags"] = [r["tag"] for r in self._rows("SELECT tag FROM customer_tags WHERE customer_id = ?", (cid,))]
        row = self.conn.execute("SELECT balance_fen FROM accounts WHERE customer_id = ?", (cid,)).fetchone()
        customer["balance_fen"] = row[0] if row else 0
        customer["orders"] = self._rows(
            "SELECT code, status, deliveries, deliveries_done FROM orders WHERE customer_id = ?"
            " ORDER BY created_at DESC LIMIT 10",
            (cid,),
        )
        return customer

    def answer(self, call_id: str, at: str) -> None:
        self.conn.execute("UPDATE calls SET answered_at = ? WHERE id = ? AND answered_at IS NULL", (at, call_id))

    def end_call(self, call_id: str, at: str, path: list[str], result: str, reason: str) -> None:
        self.conn.execute(
            "UPDATE calls SET ended_at = ?, path = ?, result = ?, reason = ? WHERE id = ? AND ended_at IS NULL",
            (at, json.dumps(path, ensure_ascii=False), result, reason, call_id),
        )

    def add_event(self, call_id: str, at: str, kind: str, node: str = "", detail: dict | None = None) -> None:
        self.conn.execute(
            "INSERT INTO call_events (call_id, at, kind, node, detail) VALUES (?, ?, ?, ?, ?)",
            (call_id, at, kind, node, json.dumps(detail or {}, ensure_ascii=False)),
        )

    def list_calls(self, limit: int = 50, caller: str | None = None, result: str | None = None) -> list[dict]:
        where, params = [], []
        if caller:
            where.append("caller = ?")
            params.append(caller)
        if result:
            where.append("result = ?")
            params.append(result)
        sql = "SELECT * FROM calls" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY started_at DESC, rowid DESC LIMIT ?"
        return self._rows(sql, (*params, limit))

    def get_call(self, call_id: str) -> dict | None:
        found = self._rows("SELECT * FROM calls WHERE id = ?", (call_id,))
        return found[0] if found else None

    def events(self, call_id: str) -> list[dict]:
        return self._rows("SELECT * FROM call_events WHERE call_id = ? ORDER BY id", (call_id,))

    def related(self, call_id: str) -> dict[str, list[dict]]:
        return {
            table: self._rows(f"SELECT * FROM {table} WHERE call_id = ? ORDER BY id", (call_id,))
            for table in ("voicemails", "voice_relays", "queue_requests", "greetings")
        }

    # -- what callers leave ---------------------------------------------------------------------------

    def add_voicemail(self, call_id: str, caller: str, node: str, file: str, fmt: str, duration_ms: int, at: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO voicemails (call_id, caller, node, file, format, duration_ms, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (call_id, caller, node, file, fmt, duration_ms, at),
        )
        return int(cur.lastrowid)

    def add_relay(self, call_id: str, caller: str, target: str, file: str, fmt: str, duration_ms: int, at: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO voice_relays (call_id, caller, target, file, format, duration_ms, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (call_id, caller, target, file, fmt, duration_ms, at, at),
        )
        return int(cur.lastrowid)

    def add_queue_request(self, call_id: str, queue: str, caller: str, priority: int, at: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO queue_requests (call_id, queue, caller, priority, created_at) VALUES (?, ?, ?, ?, ?)",
            (call_id, queue, caller, priority, at),
        )
        return int(cur.lastrowid)

    def add_greeting(self, call_id: str, prompt: str, file: str, by: str, at: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO greetings (call_id, prompt, file, recorded_by, created_at) VALUES (?, ?, ?, ?, ?)",
            (call_id, prompt, file, by, at),
        )
        return int(cur.lastrowid)

    def voicemails(self, limit: int = 50) -> list[dict]:
        return self._rows("SELECT * FROM voicemails ORDER BY id DESC LIMIT ?", (limit,))

    def relays(self, status: str | None = None, limit: int = 50) -> list[dict]:
        if status:
            return self._rows("SELECT * FROM voice_relays WHERE status = ? ORDER BY id LIMIT ?", (status, limit))
        return self._rows("SELECT * FROM voice_relays ORDER BY id DESC LIMIT ?", (limit,))


# ----------------------------------------------------------------------------------------------------
# The FastAGI server's writer: one thread owns all call-record writes, so call handlers never wait on
# SQLite's write lock (50 handlers each writing their own events made the busy-wait the slowest part
# of a command: p99 ~50 ms). Reads stay on the handler's own connection.

WRITES = (
    "start_call", "classify", "set_tree", "answer", "end_call", "add_event",
    "add_voicemail", "add_relay", "add_queue_request", "add_greeting",
)


class CallWriter:
    """A queue of call-record writes applied in batches (one transaction each) by one thread."""

    def __init__(self, db_path: str, *, batch: int = 500, spacing: float = 0.0) -> None:
        """``spacing``: at least this many seconds between the starts of two transactions (a write waits at
        most that long; one arriving after a quiet spell is written at once). Fewer, bigger transactions
        cost the process less CPU under load; a process killed outright loses at most the writes of that
        last interval."""
        import queue

        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._store = CallStore(connect(db_path))
        self._batch = batch
        self._spacing = spacing
        self._alias: dict[str, str] = {}  # call id asked for -> id given (a repeated uniqueid gets a suffix)
        self._idle = threading.Condition()
        self._pending = 0
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._loop, name="call-writer", daemon=True)
        self._thread.start()

    def submit(self, method: str, *args: Any) -> None:
        with self._idle:
            self._pending += 1
        self._queue.put((method, args))

    def _loop(self) -> None:
        import queue
        import time

        last = 0.0
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._spacing and (wait := last + self._spacing - time.monotonic()) > 0:
                time.sleep(wait)  # the previous transaction was a moment ago: gather more writes
            last = time.monotonic()
            items = [item]
            while len(items) < self._batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                items.append(more)
            self._apply(items)
            with self._idle:
                self._pending -= len(items)
                self._idle.notify_all()

    def _apply(self, items: list[tuple[str, tuple]]) -> None:
        store = self._store
        try:
            with store.transaction():
                self._bulk(items)
        except Exception:  # a bad item: apply the batch one by one so the others land
            for method, args in items:
                try:
                    with store.transaction():
                        self._one(method, args)
                except Exception as exc:  # noqa: BLE001 - recorded, never raised into a call
                    self.errors.append(f"{method}: {exc}")

    # A batch's events and call-row updates go in one statement per kind (rows as a JSON array read with
    # json_each), not one per item: each statement hands the GIL over twice, and with 200 calls in the
    # process each hand-over is a wait and a few system calls (the writer was a quarter of the server's CPU).
    # Starts and what callers leave are rare and applied at their place, in order, so a call's row exists
    # before its events, and a repeated call id maps (``_alias``) exactly as item by item.
    _BULK_SQL = {
        "add_event": "INSERT INTO call_events (call_id, at, kind, node, detail) SELECT json_extract(value, '$[0]'),"
        " json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'),"
        " json_extract(value, '$[4]') FROM json_each(?) ORDER BY key",
        "answer": "UPDATE calls SET answered_at = json_extract(j.value, '$[1]') FROM json_each(?) AS j"
        " WHERE calls.id = json_extract(j.value, '$[0]') AND calls.answered_at IS NULL",
        "classify": "UPDATE calls SET caller = json_extract(j.value, '$[1]'), customer_id = json_extract(j.value, '$[2]'),"
        " vip = json_extract(j.value, '$[3]'), blacklisted = json_extract(j.value, '$[4]') FROM json_each(?) AS j"
        " WHERE calls.id = json_extract(j.value, '$[0]')",
        "set_tree": "UPDATE calls SET tree_id = json_extract(j.value, '$[1]') FROM json_each(?) AS j"
        " WHERE calls.id = json_extract(j.value, '$[0]')",
        "end_call": "UPDATE calls SET ended_at = json_extract(j.value, '$[1]'), path = json_extract(j.value, '$[2]'),"
        " result = json_extract(j.value, '$[3]'), reason = json_extract(j.value, '$[4]') FROM json_each(?) AS j"
        " WHERE calls.id = json_extract(j.value, '$[0]') AND calls.ended_at IS NULL",
    }
    _FIRST_WINS = {"answer", "end_call"}  # as the single-row statements: only while the column is NULL

    def _bulk(self, items: list[tuple[str, tuple]]) -> None:
        events: list[list] = []
        updates: dict[str, dict[str, list]] = {}
        for method, args in items:
            if method == "add_event":
                call_id, at, kind = args[:3]
                node = args[3] if len(args) > 3 else ""
                detail = args[4] if len(args) > 4 else None
                events.append([self._alias.get(call_id, call_id), at, kind, node,
                               json.dumps(detail or {}, ensure_ascii=False)])
            elif method in self._BULK_SQL:
                call_id = self._alias.get(args[0], args[0])
                row = self._update_row(method, call_id, args[1:])
                rows = updates.setdefault(method, {})
                if method in self._FIRST_WINS:
                    rows.setdefault(call_id, row)
                else:
                    rows[call_id] = row
            else:
                self._one(method, args)
        conn = self._store.conn
        if events:
            conn.execute(self._BULK_SQL["add_event"], (json.dumps(events, ensure_ascii=False),))
        for method, rows in updates.items():
            conn.execute(self._BULK_SQL[method], (json.dumps(list(rows.values()), ensure_ascii=False),))

    @staticmethod
    def _update_row(method: str, call_id: str, args: tuple) -> list:
        if method == "classify":
            caller, customer_id, vip, blacklisted = args
            return [call_id, caller, customer_id, int(vip), int(blacklisted)]
        if method == "end_call":
            at, path, result, reason = args
            return [call_id, at, json.dumps(path, ensure_ascii=False), result, reason]
        return [call_id, *args]  # answer (at), set_tree (tree_id)

    def _one(self, method: str, args: tuple) -> None:
        if method == "start_call":
            call = args[0]
            given = self._store.start_call(call)
            if given != call["id"]:
                self._alias[call["id"]] = given  # kept until the id starts a call again: the "end" event
            else:  # comes after end_call
                self._alias.pop(call["id"], None)
            return
        call_id = self._alias.get(args[0], args[0])
        getattr(self._store, method)(call_id, *args[1:])

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted write is applied."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        self._queue.put(None)
        self._thread.join(timeout)
        self._store.close()


class QueuedCallStore(CallStore):
    """A per-call store whose writes go to the shared ``CallWriter``; reads use its own connection."""

    def __init__(self, db: Any, writer: CallWriter, release: Any = None) -> None:
        super().__init__(db, release)
        self.writer = writer

    def start_call(self, call: dict) -> str:
        self.writer.submit("start_call", dict(call))
        return call["id"]

    # A call's reads before its first prompt (the caller's classification, then the current tree) in one
    # statement instead of five: each statement hands the GIL over at least twice, and with 200 calls in
    # the process each hand-over is a wait, all of it between Asterisk's reply to ANSWER and our first prompt.
    _CONTEXT_SQL = (
        "SELECT (SELECT max(id) FROM ivr_trees) AS tree_id, c.id, c.phone, c.name,"
        " (SELECT json_group_array(tag) FROM (SELECT tag FROM customer_tags WHERE customer_id = c.id)) AS tags,"
        " (SELECT balance_fen FROM accounts WHERE customer_id = c.id) AS balance_fen,"
        " (SELECT json_group_array(json_array(code, status, deliveries, deliveries_done)) FROM (SELECT code, status,"
        " deliveries, deliveries_done FROM orders WHERE customer_id = c.id ORDER BY created_at DESC LIMIT 10)) AS orders"
        " FROM (SELECT 1) LEFT JOIN customers c ON c.phone = ?"
    )
    _tree_id: tuple[int | None] | None = None

    def lookup_customer(self, phone: str) -> dict | None:
        row = self.conn.execute(self._CONTEXT_SQL, (phone,)).fetchone()
        self._tree_id = (row[0],)  # for current_tree_id(), next
        if row[1] is None:
            return None
        orders = [dict(zip(("code", "status", "deliveries", "deliveries_done"), o)) for o in json.loads(row[6])]
        return {"id": row[1], "phone": row[2], "name": row[3], "tags": json.loads(row[4]), "balance_fen": row[5] or 0,
                "orders": orders}

    def current_tree_id(self) -> int | None:
        if self._tree_id is not None:  # read with the caller a moment ago
            (tree_id,), self._tree_id = self._tree_id, None
            return tree_id
        return super().current_tree_id()

    def _write(name: str):  # noqa: ANN202, N805
        def method(self, *args: Any) -> None:  # noqa: ANN001
            self.writer.submit(name, *args)

        method.__name__ = name
        return method

    classify = _write("classify")
    set_tree = _write("set_tree")
    answer = _write("answer")
    end_call = _write("end_call")
    add_event = _write("add_event")
    add_voicemail = _write("add_voicemail")
    add_relay = _write("add_relay")
    add_queue_request = _write("add_queue_request")
    add_greeting = _write("add_greeting")
    del _write
