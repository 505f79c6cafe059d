"""SQLite side of complaints: the current row and the append-only timeline. Each method is one step inside
the caller's ``transaction()`` (BEGIN IMMEDIATE)."""

from __future__ import annotations

from cc.store.db import ConnectionStore, one, rows


class ComplaintStore(ConnectionStore):
    _SELECT = """
        SELECT k.*, c.name AS customer_name, o.code AS order_code
        FROM complaints k JOIN customers c ON c.id = k.customer_id LEFT JOIN orders o ON o.id = k.order_id
    """

    def insert(self, fields: dict) -> int:
        names = ", ".join(fields)
        marks = ", ".join(f":{k}" for k in fields)
        return int(self.db.conn.execute(f"INSERT INTO complaints ({names}) VALUES ({marks})", fields).lastrowid)

    def get(self, complaint_id: int) -> dict | None:
        return one(self.db, self._SELECT + " WHERE k.id = ?", (complaint_id,))

    def update(self, complaint_id: int, expected_status: str, fields: dict) -> bool:
        """A conditional update: False when the complaint moved on meanwhile."""
        sets = ", ".join(f"{k} = :{k}" for k in fields)
        cursor = self.db.conn.execute(
            f"UPDATE complaints SET {sets} WHERE id = :_id AND status = :_expected",
            {**fields, "_id": complaint_id, "_expected": expected_status},
        )
        return cursor.rowcount == 1

    def add_event(self, complaint_id: int, *, at: str, actor: str, kind: str, from_status: str | None,
                  to_status: str | None, text: str = "") -> None:
        self.db.conn.execute(
            "INSERT INTO complaint_events (complaint_id, at, actor, kind, from_status, to_status, text)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (complaint_id, at, actor, kind, from_status, to_status, text),
        )

    def events(self, complaint_id: int) -> list[dict]:
        return rows(self.db, "SELECT * FROM complaint_events WHERE complaint_id = ? ORDER BY id", (complaint_id,))

    def list(self, *, statuses: list[str], overdue_at: str | None, customer_id: int | None, limit: int) -> list[dict]:
        where, params = [], []
        if statuses:
            where.append(f"k.status IN ({', '.join('?' * len(statuses))})")
            params += statuses
        if overdue_at is not None:
            where.append("k.status != 'closed' AND k.due_at <= ?")
            params.append(overdue_at)
        if customer_id is not None:
            where.append("k.customer_id = ?")
            params.append(customer_id)
        sql = self._SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY k.id DESC LIMIT ?"
        return rows(self.db, sql, (*params, limit))

    def overdue_ids(self, now: str) -> list[int]:
        """Overdue and not yet escalated (escalated ones were escalated once already)."""
        return [r["id"] for r in rows(
            self.db, "SELECT id FROM complaints WHERE status IN ('open', 'assigned') AND due_at <= ? ORDER BY due_at, id",
            (now,),
        )]

    def call_exists(self, call_id: str) -> bool:
        return one(self.db, "SELECT 1 AS x FROM calls WHERE id = ?", (call_id,)) is not None
