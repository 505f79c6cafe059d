"""SQLite side of calls, their events, the IVR tree and what callers leave (voicemail, relays, queue
requests, greetings).

Works on the raw ``sqlite3`` connection (``db.conn`` of a sqlite-utils Database, or a bare connection):
the classic-AGI entry point (one process per call) must not pay ~160 ms to import sqlite-utils. Single
statements autocommit (WAL + busy timeout); read-then-write goes through ``transaction()``, which is
``BEGIN IMMEDIATE`` like ``cc.store.db.immediate``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

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


class CallStore:
    def __init__(self, db: Any) -> None:
        self.conn: sqlite3.Connection = getattr(db, "conn", db)

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        conn = self.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def _rows(self, sql: str, params: tuple | dict = ()) -> list[dict]:
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

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
