"""SQLite side of the SMS gateway: outbox claims with leases, attempts, parts and status reports, inbox,
destination holds and modem heartbeats. Each method is one short step; read-then-write steps run inside
the caller's ``transaction()`` (BEGIN IMMEDIATE)."""

from __future__ import annotations

from cc.store.db import ConnectionStore, immediate, one, rows, scalar


class SmsStore(ConnectionStore):
    # --- outbox ---------------------------------------------------------------------------------
    def enqueue(
        self, *, phone: str, text: str, kind: str, priority: int, max_attempts: int, now: str,
        order_id: int | None = None, created_by: str = "", idempotency_key: str | None = None,
    ) -> int:
        if idempotency_key is not None:
            found = scalar(self.db, "SELECT id FROM sms_outbox WHERE idempotency_key = ?", (idempotency_key,))
            if found is not None:
                return int(found)
        cursor = self.conn.execute(
            "INSERT INTO sms_outbox (phone, text, kind, priority, max_attempts, next_attempt_at, order_id,"
            " created_by, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (phone, text, kind, priority, max_attempts, now, order_id, created_by, idempotency_key, now),
        )
        return int(cursor.lastrowid)

    def supersede_confirmations(self, order_id: int, now: str) -> int:
        """Earlier confirmations of an order not yet sent are dropped (the order was amended)."""
        return self.db.execute(
            "UPDATE sms_outbox SET status = 'failed', reason = 'superseded: the order was amended before it went out',"
            " finished_at = ? WHERE order_id = ? AND kind = 'confirmation' AND status = 'queued'",
            (now, order_id),
        ).rowcount

    def claim(self, *, owner: str, now: str, lease_until: str, allow_marketing: bool) -> dict | None:
        """Take the most urgent due message: one conditional UPDATE, then the attempt row (same transaction).

        Due: queued and next_attempt_at passed, or sending with a lease that ran out (a crashed worker).
        Destinations on hold are skipped; marketing only when allowed (send window).
        """
        kind_filter = "" if allow_marketing else " AND o.kind != 'marketing'"
        with immediate(self.db):
            row = one(
                self.db,
                "UPDATE sms_outbox SET status = 'sending', lease_owner = :owner, lease_until = :until,"
                " attempts = attempts + 1, modem = :owner"
                " WHERE id = (SELECT o.id FROM sms_outbox o"
                "   WHERE ((o.status = 'queued' AND o.next_attempt_at <= :now)"
                "       OR (o.status = 'sending' AND o.lease_until < :now))" + kind_filter +
                "   AND NOT EXISTS (SELECT 1 FROM sms_holds h WHERE h.phone = o.phone AND h.held_until > :now)"
                "   ORDER BY o.priority, o.next_attempt_at, o.id LIMIT 1)"
                " AND ((status = 'queued' AND next_attempt_at <= :now) OR (status = 'sending' AND lease_until < :now))"
                " RETURNING *",
                {"owner": owner, "until": lease_until, "now": now},
            )
            if row is None:
                return None
            interrupted = self.db.execute(
                "UPDATE sms_attempts SET outcome = 'interrupted', finished_at = ?,"
                " error = 'worker stopped during the send: it may have reached the network (possible duplicate)'"
                " WHERE outbox_id = ? AND outcome IS NULL",
                (now, row["id"]),
            ).rowcount
            cursor = self.db.execute(
                "INSERT INTO sms_attempts (outbox_id, modem, started_at) VALUES (?, ?, ?)", (row["id"], owner, now)
            )
            row["attempt_id"] = int(cursor.lastrowid)
            row["interrupted"] = interrupted
            return row

    def release_leases(self, owner: str, now: str) -> int:
        """Make this owner's leases (left by a previous run that died) claimable at once."""
        return self.db.execute(
            "UPDATE sms_outbox SET lease_until = ? WHERE status = 'sending' AND lease_owner = ? AND lease_until >= ?",
            ("", owner, now),
        ).rowcount

    def finish_sent(self, *, outbox_id: int, attempt_id: int, owner: str, parts: list[tuple[int, int, int]], now: str) -> bool:
        """Record a successful send (parts: reference, part_no, parts). False when the lease was lost."""
        with immediate(self.db):
            changed = self.db.execute(
                "UPDATE sms_outbox SET status = 'sent', sent_at = ?, lease_owner = NULL, lease_until = NULL,"
                " last_error = '' WHERE id = ? AND status = 'sending' AND lease_owner = ?",
                (now, outbox_id, owner),
            ).rowcount
            self.db.execute(
                "UPDATE sms_attempts SET outcome = 'sent', finished_at = ? WHERE id = ?", (now, attempt_id)
            )
            for reference, part_no, total in parts:
                self.db.execute(
                    "INSERT INTO sms_parts (outbox_id, attempt_id, modem, reference, part_no, parts, sent_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (outbox_id, attempt_id, owner, reference, part_no, total, now),
                )
            phone = scalar(self.db, "SELECT phone FROM sms_outbox WHERE id = ?", (outbox_id,))
            self.db.execute("DELETE FROM sms_holds WHERE phone = ?", (phone,))
            return bool(changed)

    def finish_failed(
        self, *, outbox_id: int, attempt_id: int, owner: str, error: str, now: str, retry_at: str | None,
        hold_base_seconds: float, hold_until_fn,  # noqa: ANN001 - (failures) -> iso or None
        count_against_destination: bool = True,
    ) -> str:
        """Record a failed attempt: requeue at ``retry_at`` or, when None, fail for good. Returns the new status."""
        with immediate(self.db):
            status = "queued" if retry_at is not None else "failed"
            self.db.execute(
                "UPDATE sms_outbox SET status = ?, next_attempt_at = COALESCE(?, next_attempt_at),"
                " lease_owner = NULL, lease_until = NULL, last_error = ?,"
                " reason = CASE WHEN ? = 'failed' THEN ? ELSE reason END,"
                " finished_at = CASE WHEN ? = 'failed' THEN ? ELSE finished_at END"
                " WHERE id = ? AND status = 'sending' AND lease_owner = ?",
                (status, retry_at, error, status, error, status, now, outbox_id, owner),
            )
            self.db.execute(
                "UPDATE sms_attempts SET outcome = 'error', error = ?, finished_at = ? WHERE id = ?",
                (error, now, attempt_id),
            )
            if count_against_destination:
                phone = scalar(self.db, "SELECT phone FROM sms_outbox WHERE id = ?", (outbox_id,))
                failures = 1 + int(scalar(self.db, "SELECT failures FROM sms_holds WHERE phone = ?", (phone,)) or 0)
                self.db.execute(
                    "INSERT INTO sms_holds (phone, failures, held_until, last_error, updated_at) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT(phone) DO UPDATE SET failures = excluded.failures, held_until = excluded.held_until,"
                    " last_error = excluded.last_error, updated_at = excluded.updated_at",
                    (phone, failures, hold_until_fn(failures), error, now),
                )
            return status

    def fail_exhausted(self, outbox_id: int, attempt_id: int, reason: str, now: str) -> None:
        with immediate(self.db):
            self.db.execute(
                "UPDATE sms_outbox SET status = 'failed', reason = ?, last_error = ?, finished_at = ?,"
                " lease_owner = NULL, lease_until = NULL WHERE id = ? AND status = 'sending'",
                (reason, reason, now, outbox_id),
            )
            self.db.execute(
                "UPDATE sms_attempts SET outcome = 'error', error = ?, finished_at = ? WHERE id = ?",
                (reason, now, attempt_id),
            )

    def requeue_failed(self, outbox_id: int, now: str) -> dict | None:
        with immediate(self.db):
            row = one(self.db, "SELECT * FROM sms_outbox WHERE id = ?", (outbox_id,))
            if row is None or row["status"] != "failed":
                return row
            self.db.execute(
                "UPDATE sms_outbox SET status = 'queued', next_attempt_at = ?, reason = '', finished_at = NULL,"
                " max_attempts = attempts + ? WHERE id = ?",
                (now, max(1, row["max_attempts"]), outbox_id),
            )
            self.db.execute("DELETE FROM sms_holds WHERE phone = ?", (row["phone"],))
            return one(self.db, "SELECT * FROM sms_outbox WHERE id = ?", (outbox_id,))

    def outbox_row(self, outbox_id: int) -> dict | None:
        return one(self.db, "SELECT * FROM sms_outbox WHERE id = ?", (outbox_id,))

    def outbox_rows(self, *, status: str | None = None, limit: int = 100) -> list[dict]:
        where = " WHERE status = ?" if status else ""
        params = (status,) if status else ()
        return rows(self.db, f"SELECT * FROM sms_outbox{where} ORDER BY id DESC LIMIT ?", (*params, limit))

    def attempts_for(self, outbox_id: int) -> list[dict]:
        return rows(self.db, "SELECT * FROM sms_attempts WHERE outbox_id = ? ORDER BY id", (outbox_id,))

    def outbox_counts(self) -> dict[str, int]:
        return {r["status"]: r["n"] for r in rows(self.db, "SELECT status, count(*) AS n FROM sms_outbox GROUP BY status")}

    def queue_depth(self) -> int:
        return int(scalar(self.db, "SELECT count(*) FROM sms_outbox WHERE status IN ('queued', 'sending')") or 0)

    def holds(self, now: str) -> list[dict]:
        return rows(self.db, "SELECT * FROM sms_holds WHERE held_until > ? ORDER BY phone", (now,))

    def auto_answers_since(self, phone: str, since: str) -> int:
        return int(
            scalar(
                self.db, "SELECT count(*) FROM sms_outbox WHERE phone = ? AND kind = 'reply' AND created_at >= ?",
                (phone, since),
            ) or 0
        )

    # --- parts and status reports -----------------------------------------------------------------
    def record_report(
        self, *, modem: str, reference: int, recipient: str, delivered: bool, status_code: int, at: str | None,
        now: str, final: bool, since: str = "",
    ) -> dict | None:
        """Store the report and match it to the newest unreported part with that reference on that modem,
        sent since ``since``, to that recipient (compared on the last 8 digits) when the report names one.

        Returns the outbox row after the change when the report matched, else None.
        """
        digits = "".join(ch for ch in recipient if ch.isdigit())[-8:]
        with immediate(self.db):
            candidates = rows(
                self.db,
                "SELECT p.*, o.phone FROM sms_parts p JOIN sms_outbox o ON o.id = p.outbox_id"
                " WHERE p.modem = ? AND p.reference = ? AND p.status = 'sent' AND p.sent_at >= ?"
                " ORDER BY p.id DESC LIMIT 20",
                (modem, reference, since),
            )
            part = next((c for c in candidates if not digits or c["phone"].endswith(digits)), None)
            self.db.execute(
                "INSERT INTO sms_reports (modem, reference, recipient, delivered, status_code, at, received_at, part_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (modem, reference, recipient, int(delivered), status_code, at, now, part["id"] if part else None),
            )
            if part is None or not final:
                return None
            new_status = "delivered" if delivered else "failed"
            self.db.execute(
                "UPDATE sms_parts SET status = ?, status_code = ?, report_at = ? WHERE id = ?",
                (new_status, status_code, now, part["id"]),
            )
            outbox_id = part["outbox_id"]
            if not delivered:
                self.db.execute(
                    "UPDATE sms_outbox SET status = 'failed', reason = ?, finished_at = ?"
                    " WHERE id = ? AND status IN ('sent', 'delivered')",
                    (f"the network reported it undeliverable (status {status_code})", now, outbox_id),
                )
            else:
                pending = scalar(
                    self.db,
                    "SELECT count(*) FROM sms_parts WHERE attempt_id = ? AND status != 'delivered'",
                    (part["attempt_id"],),
                )
                if not pending:
                    self.db.execute(
                        "UPDATE sms_outbox SET status = 'delivered', delivered_at = ?, finished_at = ?"
                        " WHERE id = ? AND status = 'sent'",
                        (now, now, outbox_id),
                    )
            return one(self.db, "SELECT * FROM sms_outbox WHERE id = ?", (outbox_id,))

    def parts_for(self, outbox_id: int) -> list[dict]:
        return rows(self.db, "SELECT * FROM sms_parts WHERE outbox_id = ? ORDER BY id", (outbox_id,))

    # --- inbox ----------------------------------------------------------------------------------
    def insert_incoming(
        self, *, modem: str, sender: str, text: str, received_at: str | None, parts: int, dedupe_key: str, now: str
    ) -> int | None:
        """Store an incoming SMS once; None when it was already stored (read again after a crash)."""
        cursor = self.db.execute(
            "INSERT INTO sms_inbox (modem, sender, text, received_at, stored_at, parts, dedupe_key)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING",
            (modem, sender, text, received_at, now, parts, dedupe_key),
        )
        return int(cursor.lastrowid) if cursor.rowcount else None

    def inbox_row(self, inbox_id: int) -> dict | None:
        return one(self.db, "SELECT * FROM sms_inbox WHERE id = ?", (inbox_id,))

    def claim_inbox(self, inbox_id: int, now: str, until: str) -> bool:
        """One handler at a time acts on a stored SMS (the worker at once, the housekeeper after a crash)."""
        return bool(
            self.db.execute(
                "UPDATE sms_inbox SET lease_until = ? WHERE id = ? AND status = 'new'"
                " AND (lease_until IS NULL OR lease_until < ?)",
                (until, inbox_id, now),
            ).rowcount
        )

    def release_inbox_leases(self) -> int:
        return self.db.execute("UPDATE sms_inbox SET lease_until = NULL WHERE status = 'new' AND lease_until IS NOT NULL").rowcount

    def unhandled_inbox_ids(self, limit: int = 100) -> list[int]:
        return [r["id"] for r in rows(self.db, "SELECT id FROM sms_inbox WHERE status = 'new' ORDER BY id LIMIT ?", (limit,))]

    def mark_handled(
        self, inbox_id: int, *, intent: str, outcome: str, order_code: str | None, answer_id: int | None, now: str
    ) -> None:
        self.db.execute(
            "UPDATE sms_inbox SET status = 'handled', intent = ?, outcome = ?, order_code = ?, answer_id = ?,"
            " handled_at = ?, lease_until = NULL WHERE id = ?",
            (intent, outcome, order_code, answer_id, now, inbox_id),
        )

    def inbox_rows(self, *, limit: int = 100, status: str | None = None) -> list[dict]:
        where = " WHERE status = ?" if status else ""
        params = (status,) if status else ()
        return rows(self.db, f"SELECT * FROM sms_inbox{where} ORDER BY id DESC LIMIT ?", (*params, limit))

    # --- what a reply refers to (read-only views of orders) ---------------------------------------
    def order_of_customer(self, customer_id: int, code: str) -> dict | None:
        return one(
            self.db, "SELECT id, code, status, updated_at FROM orders WHERE customer_id = ? AND code = ?",
            (customer_id, code),
        )

    def latest_order_of_customer(self, customer_id: int) -> dict | None:
        return one(
            self.db,
            "SELECT id, code, status, updated_at FROM orders WHERE customer_id = ? ORDER BY updated_at DESC, id DESC LIMIT 1",
            (customer_id,),
        )

    # --- modem health -----------------------------------------------------------------------------
    def heartbeat(self, name: str, now: str, **fields: object) -> None:
        """Upsert the modem's row; counters given as ``add_sent=1`` etc. are added."""
        adds = {k[4:]: v for k, v in fields.items() if k.startswith("add_")}
        sets = {k: v for k, v in fields.items() if not k.startswith("add_")}
        self.db.execute(
            "INSERT INTO sms_modems (name, updated_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING", (name, now)
        )
        assignments = ["updated_at = :now"] + [f"{k} = :{k}" for k in sets] + [f"{k}_count = {k}_count + :add_{k}" if k in ("sent", "received") else f"{k} = {k} + :add_{k}" for k in adds]
        params = {"now": now, "name": name, **sets, **{f"add_{k}": v for k, v in adds.items()}}
        self.db.execute(f"UPDATE sms_modems SET {', '.join(assignments)} WHERE name = :name", params)

    def modems(self) -> list[dict]:
        return rows(self.db, "SELECT * FROM sms_modems ORDER BY name")
