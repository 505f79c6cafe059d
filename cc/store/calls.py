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

    def __init__(self, db_path: str, *, batch: int = 500) -> None:
        import queue

        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._store = CallStore(connect(db_path))
        self._batch = batch
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

        while True:
            item = self._queue.get()
            if item is None:
                return
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
                for method, args in items:
                    self._one(method, args)
        except Exception:  # a bad item: apply the batch one by one so the others land
            for method, args in items:
                try:
                    with store.transaction():
                        self._one(method, args)
                except Exception as exc:  # noqa: BLE001 - recorded, never raised into a call
                    self.errors.append(f"{method}: {exc}")

    def _one(self, method: str, args: tuple) -> None:
        if method == "start_call":
            call = args[0]
            given = self._store.start_call(call)
            if given != call["id"]:
                self._alias[call["id"]] = given
            return
        call_id = self._alias.get(args[0], args[0])
        getattr(self._store, method)(call_id, *args[1:])
        if method == "end_call":
            self._alias.pop(args[0], None)

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
