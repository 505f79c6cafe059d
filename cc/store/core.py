"""SQLite implementation of the store the order pipeline uses: customers, catalogue, stock, ledger,
orders, users and the dairy outbox. Plain SQL; each method is one short step inside the caller's
transaction (``transaction()`` = BEGIN IMMEDIATE)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from cc.domain.customers import CustomerView
from cc.domain.orders import OrderEvent, OrderLineView, OrderView
from cc.store.db import ConnectionStore, one, rows, scalar


class SqliteStore(ConnectionStore):
    def is_unique_violation(self, exc: BaseException) -> bool:
        import sqlite3

        return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)

    def is_integrity_error(self, exc: BaseException) -> bool:
        import sqlite3

        return isinstance(exc, sqlite3.IntegrityError)

    # --- customers ------------------------------------------------------------------------------
    _CUSTOMER_SQL = """
        SELECT c.*, COALESCE(a.balance_fen, 0) AS balance_fen,
               (SELECT group_concat(tag, ',') FROM customer_tags t WHERE t.customer_id = c.id) AS tag_list
        FROM customers c LEFT JOIN accounts a ON a.customer_id = c.id
    """

    @staticmethod
    def _customer(row: dict | None) -> CustomerView | None:
        if row is None:
            return None
        return CustomerView(
            id=row["id"], phone=row["phone"], name=row["name"], address=row["address"], zone=row["zone"],
            notes=row["notes"], tags=frozenset(t for t in (row["tag_list"] or "").split(",") if t),
            opt_out=bool(row["opt_out"]), birthday=row["birthday"], balance_fen=row["balance_fen"],
            created_at=row["created_at"],
        )

    def customer_by_phone(self, phone: str) -> CustomerView | None:
        return self._customer(one(self.db, self._CUSTOMER_SQL + " WHERE c.phone = ?", (phone,)))

    def customer_by_id(self, customer_id: int) -> CustomerView | None:
        return self._customer(one(self.db, self._CUSTOMER_SQL + " WHERE c.id = ?", (customer_id,)))

    def search_customers(self, text: str | None, tag: str | None, limit: int) -> list[CustomerView]:
        where, params = [], []
        if text:
            where.append("(c.phone LIKE ? OR c.name LIKE ? OR c.address LIKE ?)")
            params += [f"%{text}%"] * 3
        if tag:
            where.append("EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = ?)")
            params.append(tag)
        sql = self._CUSTOMER_SQL + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY c.id LIMIT ?"
        return [self._customer(r) for r in rows(self.db, sql, (*params, limit))]

    def insert_customer(self, fields: dict, tags: Iterable[str], now: str) -> int:
        cursor = self.db.conn.execute(
            "INSERT INTO customers (phone, name, address, zone, notes, opt_out, birthday, created_at, updated_at)"
            " VALUES (:phone, :name, :address, :zone, :notes, :opt_out, :birthday, :now, :now)",
            {**{"address": "", "zone": "", "notes": "", "opt_out": 0, "birthday": None}, **fields, "now": now},
        )
        customer_id = cursor.lastrowid
        self.db.conn.execute("INSERT INTO accounts (customer_id, balance_fen, created_at) VALUES (?, 0, ?)", (customer_id, now))
        self.set_tags(customer_id, tags)
        return customer_id

    def update_customer(self, customer_id: int, fields: dict, now: str) -> None:
        if fields:
            assignments = ", ".join(f"{name} = :{name}" for name in fields)
            self.db.conn.execute(
                f"UPDATE customers SET {assignments}, updated_at = :now WHERE id = :id",
                {**fields, "now": now, "id": customer_id},
            )

    def set_tags(self, customer_id: int, tags: Iterable[str]) -> None:
        self.db.conn.execute("DELETE FROM customer_tags WHERE customer_id = ?", (customer_id,))
        for tag in sorted(set(tags)):
            self.db.conn.execute("INSERT INTO customer_tags (customer_id, tag) VALUES (?, ?)", (customer_id, tag))

    # --- products and stock ---------------------------------------------------------------------
    def product(self, sku: str) -> dict | None:
        return one(
            self.db,
            "SELECT p.*, COALESCE(s.quantity, 0) AS quantity, COALESCE(s.reserved, 0) AS reserved"
            " FROM products p LEFT JOIN stock s ON s.sku = p.sku WHERE p.sku = ?",
            (sku,),
        )

    def products(self, include_inactive: bool = False) -> list[dict]:
        return rows(
            self.db,
            "SELECT p.*, COALESCE(s.quantity, 0) AS quantity, COALESCE(s.reserved, 0) AS reserved"
            " FROM products p LEFT JOIN stock s ON s.sku = p.sku"
            + ("" if include_inactive else " WHERE p.active = 1")
            + " ORDER BY p.sku",
        )

    def upsert_product(self, sku: str, name: str, unit: str, price_fen: int, active: bool, now: str) -> bool:
        existed = scalar(self.db, "SELECT 1 FROM products WHERE sku = ?", (sku,)) is not None
        self.db.conn.execute(
            "INSERT INTO products (sku, name, unit, price_fen, active, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sku) DO UPDATE SET name = excluded.name,"
            " unit = excluded.unit, price_fen = excluded.price_fen, active = excluded.active,"
            " updated_at = excluded.updated_at",
            (sku, name, unit, price_fen, int(active), now, now),
        )
        self.db.conn.execute(
            "INSERT OR IGNORE INTO stock (sku, quantity, reserved, updated_at) VALUES (?, 0, 0, ?)", (sku, now)
        )
        return not existed

    def stock_row(self, sku: str) -> dict | None:
        return one(self.db, "SELECT * FROM stock WHERE sku = ?", (sku,))

    def stock_levels(self, skus: Iterable[str]) -> dict[str, tuple[int, int]]:
        """``{sku: (quantity, reserved)}`` for the given SKUs (one query; a SKU without a stock row is absent)."""
        skus = list(skus)
        return {
            sku: (quantity, reserved)
            for sku, quantity, reserved in self.conn.execute(
                f"SELECT sku, quantity, reserved FROM stock WHERE sku IN ({','.join('?' * len(skus))})", skus
            ).fetchall()
        }

    def reserve_stock(self, sku: str, units: int, *, now: str, order_id: int, actor: str) -> int | None:
        """Reserve ``units`` if that many are available (quantity - reserved), in one conditional UPDATE, and
        write the history row. Returns None when reserved, else the units available (nothing changed)."""
        cursor = self.conn.execute(
            "UPDATE stock SET reserved = reserved + ?1, updated_at = ?2 WHERE sku = ?3 AND quantity - reserved >= ?1",
            (units, now, sku),
        )
        if cursor.rowcount != 1:
            row = self.conn.execute("SELECT quantity - reserved FROM stock WHERE sku = ?", (sku,)).fetchone()
            return row[0] if row else 0
        self.conn.execute(
            "INSERT INTO stock_events (sku, at, kind, quantity_delta, reserved_delta, order_id, actor, note)"
            " VALUES (?, ?, 'reserve', 0, ?, ?, ?, '')",
            (sku, now, units, order_id, actor),
        )
        return None

    def change_stock(
        self, sku: str, *, quantity_delta: int = 0, reserved_delta: int = 0, kind: str, now: str,
        order_id: int | None = None, actor: str = "", note: str = "",
    ) -> None:
        """One stock change and its history row. The table's CHECKs refuse a negative quantity/reservation."""
        self.db.conn.execute(
            "UPDATE stock SET quantity = quantity + ?, reserved = reserved + ?, updated_at = ? WHERE sku = ?",
            (quantity_delta, reserved_delta, now, sku),
        )
        self.db.conn.execute(
            "INSERT INTO stock_events (sku, at, kind, quantity_delta, reserved_delta, order_id, actor, note)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (sku, now, kind, quantity_delta, reserved_delta, order_id, actor, note),
        )

    # --- accounts and ledger --------------------------------------------------------------------
    def balance_fen(self, customer_id: int) -> int:
        return scalar(self.db, "SELECT balance_fen FROM accounts WHERE customer_id = ?", (customer_id,)) or 0

    def ledger_sum(self, customer_id: int) -> int:
        return scalar(self.db, "SELECT COALESCE(SUM(amount_fen), 0) FROM ledger WHERE customer_id = ?", (customer_id,))

    def ledger_entry_by_key(self, key: str) -> dict | None:
        return one(self.db, "SELECT * FROM ledger WHERE idempotency_key = ?", (key,))

    def add_ledger_entry(
        self, *, customer_id: int, kind: str, amount_fen: int, key: str, now: str,
        order_id: int | None = None, actor: str = "", note: str = "",
    ) -> int:
        """Append an entry and move the balance with it. Raises IntegrityError on a replayed key or when the
        balance would go negative (CHECK)."""
        cursor = self.db.conn.execute(
            "INSERT INTO ledger (customer_id, at, kind, amount_fen, order_id, idempotency_key, actor, note)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (customer_id, now, kind, amount_fen, order_id, key, actor, note),
        )
        self.db.conn.execute(
            "UPDATE accounts SET balance_fen = balance_fen + ? WHERE customer_id = ?", (amount_fen, customer_id)
        )
        return cursor.lastrowid

    def ledger(self, customer_id: int, limit: int) -> list[dict]:
        return rows(
            self.db,
            "SELECT l.*, o.code AS order_code FROM ledger l LEFT JOIN orders o ON o.id = l.order_id"
            " WHERE l.customer_id = ? ORDER BY l.id DESC LIMIT ?",
            (customer_id, limit),
        )

    # --- orders ---------------------------------------------------------------------------------
    def insert_order(self, fields: dict, lines: list[tuple[int, str, int, int]]) -> int | None:
        """Insert a new order and its lines. Returns None, changing nothing, when ``fields['code']`` is taken
        (the caller draws another code): one statement instead of a look-up before every insert."""
        columns = ", ".join(fields)
        try:
            cursor = self.conn.execute(
                f"INSERT INTO orders ({columns}) VALUES ({', '.join(':' + c for c in fields)})", fields
            )
        except sqlite3.IntegrityError as exc:
            if "orders.code" in str(exc):
                return None
            raise
        order_id = cursor.lastrowid
        self.conn.executemany(
            "INSERT INTO order_lines (order_id, line_no, sku, quantity, price_fen) VALUES (?, ?, ?, ?, ?)",
            [(order_id, *line) for line in lines],
        )
        return order_id

    def replace_lines(self, order_id: int, lines: list[tuple[int, str, int, int]]) -> None:
        self.db.conn.execute("DELETE FROM order_lines WHERE order_id = ?", (order_id,))
        self.db.conn.executemany(
            "INSERT INTO order_lines (order_id, line_no, sku, quantity, price_fen) VALUES (?, ?, ?, ?, ?)",
            [(order_id, *line) for line in lines],
        )

    def update_order(self, order_id: int, fields: dict, now: str) -> None:
        assignments = ", ".join(f"{name} = :{name}" for name in fields)
        self.db.conn.execute(
            f"UPDATE orders SET {assignments}, updated_at = :now WHERE id = :id", {**fields, "now": now, "id": order_id}
        )

    def set_order_status(self, order_id: int, expected: str, target: str, now: str, also: dict | None = None) -> bool:
        """Compare-and-set on the status (plus any ``also`` columns): False when someone else moved the order first."""
        also = also or {}
        extra = "".join(f", {name} = :{name}" for name in also)
        cursor = self.db.conn.execute(
            f"UPDATE orders SET status = :target, updated_at = :now{extra} WHERE id = :id AND status = :expected",
            {**also, "target": target, "now": now, "id": order_id, "expected": expected},
        )
        return cursor.rowcount == 1

    def add_order_event(
        self, order_id: int, *, at: str, actor: str, from_status: str | None, to_status: str, reason: str = "",
        detail: dict | None = None,
    ) -> None:
        self.db.conn.execute(
            "INSERT INTO order_events (order_id, at, actor, from_status, to_status, reason, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (order_id, at, actor, from_status, to_status, reason, json.dumps(detail, ensure_ascii=False) if detail else "{}"),
        )

    def add_order_events(self, order_id: int, *, at: str, actor: str, moves: list[tuple[str | None, str, str]]) -> None:
        """Several history rows at once, in order: ``moves`` = [(from_status, to_status, reason), ...]."""
        self.conn.executemany(
            "INSERT INTO order_events (order_id, at, actor, from_status, to_status, reason, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, '{}')",
            [(order_id, at, actor, from_status, to_status, reason) for from_status, to_status, reason in moves],
        )

    _ORDER_SQL = ("SELECT o.*, c.phone, c.name AS customer_name, c.address, c.zone"
                  " FROM orders o JOIN customers c ON c.id = o.customer_id")

    def _orders(self, where: str, params: tuple, suffix: str = "") -> list[OrderView]:
        found = rows(self.db, f"{self._ORDER_SQL} WHERE {where} {suffix}", params)
        if not found:
            return []
        ids = [r["id"] for r in found]
        lines: dict[int, list[OrderLineView]] = {i: [] for i in ids}
        marks = ",".join("?" * len(ids))
        for line in rows(
            self.db,
            f"SELECT l.order_id, l.sku, p.name, l.quantity, l.price_fen FROM order_lines l"
            f" JOIN products p ON p.sku = l.sku WHERE l.order_id IN ({marks}) ORDER BY l.order_id, l.line_no",
            tuple(ids),
        ):
            lines[line["order_id"]].append(OrderLineView(line["sku"], line["name"], line["quantity"], line["price_fen"]))
        return [
            OrderView(
                id=r["id"], code=r["code"], customer_id=r["customer_id"], phone=r["phone"],
                customer_name=r["customer_name"], status=r["status"], lines=tuple(lines[r["id"]]),
                start_date=r["start_date"], frequency=r["frequency"], deliveries=r["deliveries"],
                end_date=r["end_date"], total_fen=r["total_fen"], deliveries_done=r["deliveries_done"],
                refunded_fen=r["refunded_fen"], expires_at=r["expires_at"], created_at=r["created_at"],
                created_by=r["created_by"], call_id=r["call_id"], address=r["address"], zone=r["zone"],
            )
            for r in found
        ]

    def order_by_code(self, code: str) -> OrderView | None:
        found = self._orders("o.code = ?", (code,))
        return found[0] if found else None

    def order_by_id(self, order_id: int) -> OrderView | None:
        found = self._orders("o.id = ?", (order_id,))
        return found[0] if found else None

    def list_orders(
        self, *, customer_id: int | None = None, statuses: Iterable[str] = (), since: str | None = None,
        until: str | None = None, limit: int = 100,
    ) -> list[OrderView]:
        where, params = ["1 = 1"], []
        if customer_id is not None:
            where.append("o.customer_id = ?")
            params.append(customer_id)
        statuses = list(statuses)
        if statuses:
            where.append(f"o.status IN ({','.join('?' * len(statuses))})")
            params += statuses
        if since:
            where.append("o.created_at >= ?")
            params.append(since)
        if until:
            where.append("o.created_at < ?")
            params.append(until)
        if limit:
            return self._orders(" AND ".join(where), (*params, limit), "ORDER BY o.id DESC LIMIT ?")
        return self._orders(" AND ".join(where), tuple(params), "ORDER BY o.id DESC")

    def due_expiries(self, now: str, limit: int = 500) -> list[int]:
        return [
            r["id"]
            for r in rows(
                self.db,
                "SELECT id FROM orders WHERE status = 'awaiting_confirmation' AND expires_at <= ? ORDER BY expires_at LIMIT ?",
                (now, limit),
            )
        ]

    def order_events(self, order_id: int) -> list[OrderEvent]:
        return [
            OrderEvent(r["at"], r["actor"], r["from_status"], r["to_status"], r["reason"])
            for r in rows(self.db, "SELECT * FROM order_events WHERE order_id = ? ORDER BY id", (order_id,))
        ]

    def orders_charged_between(self, since: str, until: str | None) -> list[OrderView]:
        params: tuple = (since,) if until is None else (since, until)
        ids = [
            r["order_id"]
            for r in rows(
                self.db,
                "SELECT DISTINCT order_id FROM order_events WHERE to_status = 'charged' AND at >= ?"
                + ("" if until is None else " AND at < ?")
                + " ORDER BY order_id",
                params,
            )
        ]
        if not ids:
            return []
        return self._orders(f"o.id IN ({','.join('?' * len(ids))})", tuple(ids), "ORDER BY o.id")

    # --- deliveries -----------------------------------------------------------------------------
    def add_delivery(self, order_id: int, delivered_on: str, now: str, note: str) -> bool:
        cursor = self.db.conn.execute(
            "INSERT OR IGNORE INTO deliveries (order_id, delivered_on, imported_at, note) VALUES (?, ?, ?, ?)",
            (order_id, delivered_on, now, note),
        )
        return cursor.rowcount == 1

    def deliveries(self, order_id: int) -> list[dict]:
        return rows(self.db, "SELECT * FROM deliveries WHERE order_id = ? ORDER BY delivered_on", (order_id,))

    # --- users ----------------------------------------------------------------------------------
    def user(self, name: str) -> dict | None:
        return one(self.db, "SELECT * FROM users WHERE name = ?", (name,))

    def users(self) -> list[dict]:
        return rows(self.db, "SELECT * FROM users ORDER BY name")

    def insert_user(self, name: str, display_name: str, role: str, password_hash: str, now: str) -> None:
        self.db.conn.execute(
            "INSERT INTO users (name, display_name, role, password_hash, disabled, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 0, ?, ?)",
            (name, display_name, role, password_hash, now, now),
        )

    def update_user(self, name: str, fields: dict, now: str) -> None:
        assignments = ", ".join(f"{field} = :{field}" for field in fields)
        self.db.conn.execute(
            f"UPDATE users SET {assignments}, updated_at = :now WHERE name = :name", {**fields, "now": now, "name": name}
        )

    # --- dairy outbox ---------------------------------------------------------------------------
    def enqueue_dairy(self, *, order_id: int, kind: str, key: str, payload: dict, now: str) -> int | None:
        cursor = self.db.conn.execute(
            "INSERT OR IGNORE INTO dairy_outbox (order_id, kind, idempotency_key, payload, status, next_attempt_at, created_at)"
            " VALUES (?, ?, ?, ?, 'pending', ?, ?)",
            (order_id, kind, key, json.dumps(payload, ensure_ascii=False), now, now),
        )
        return cursor.lastrowid if cursor.rowcount == 1 else None

    def claim_dairy(self, now: str, lease_until: str, order_id: int | None = None) -> dict | None:
        """Claim the next due message (optionally of one order) with a lease, in one statement: a crashed
        sender's lease runs out and the message is claimable again."""
        if order_id is not None:
            due = ("SELECT id FROM dairy_outbox WHERE order_id = :order AND ((status = 'pending' AND next_attempt_at <= :now)"
                   " OR (status = 'sending' AND lease_until <= :now)) ORDER BY id LIMIT 1")
        else:
            due = ("SELECT min(id) FROM (SELECT min(id) AS id FROM dairy_outbox WHERE status = 'pending' AND next_attempt_at <= :now"
                   " UNION ALL SELECT min(id) FROM dairy_outbox WHERE status = 'sending' AND lease_until <= :now)")
        return one(
            self.db,
            f"UPDATE dairy_outbox SET status = 'sending', lease_until = :lease, attempts = attempts + 1 WHERE id = ({due})"
            " AND ((status = 'pending' AND next_attempt_at <= :now) OR (status = 'sending' AND lease_until <= :now))"
            " RETURNING *",
            {"now": now, "lease": lease_until, "order": order_id},
        )

    def finish_dairy(self, message_id: int, *, status: str, now: str, error: str = "", next_attempt_at: str | None = None) -> None:
        self.db.conn.execute(
            "UPDATE dairy_outbox SET status = ?, last_error = ?, lease_until = NULL,"
            " next_attempt_at = COALESCE(?, next_attempt_at), sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END"
            " WHERE id = ?",
            (status, error, next_attempt_at, status, now, message_id),
        )

    def dairy_message(self, message_id: int) -> dict | None:
        return one(self.db, "SELECT * FROM dairy_outbox WHERE id = ?", (message_id,))

    def dairy_messages(self, statuses: Iterable[str] = (), limit: int = 100) -> list[dict]:
        statuses = list(statuses)
        where = f"WHERE d.status IN ({','.join('?' * len(statuses))})" if statuses else ""
        return rows(
            self.db,
            f"SELECT d.*, o.code AS order_code FROM dairy_outbox d JOIN orders o ON o.id = d.order_id {where}"
            " ORDER BY d.id DESC LIMIT ?",
            (*statuses, limit),
        )
