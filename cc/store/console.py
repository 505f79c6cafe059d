"""Read-mostly queries the agent console needs that no other store offers (the caller's SMS and calls,
the call offered to an agent, waiting counts, gateway heartbeats), and the wrap-up rows.

One instance per connection (one connection per thread); results are consumed at once.
"""

from __future__ import annotations

from cc.store.db import ConnectionStore


class ConsoleStore(ConnectionStore):
    # -- the call --------------------------------------------------------------------------------------
    def waiting(self, waiting_id: int) -> dict | None:
        return self._one("SELECT * FROM acd_waiting WHERE id = ?", (waiting_id,))

    def offered_to(self, agent: str) -> dict | None:
        """The caller ringing or connected to ``agent`` now (the ACD's claim), if any."""
        return self._one("SELECT * FROM acd_waiting WHERE agent = ? AND status IN ('ringing', 'connected')"
                         " ORDER BY id DESC LIMIT 1", (agent,))

    def call(self, call_id: str) -> dict | None:
        return self._one("SELECT * FROM calls WHERE id = ?", (call_id,))

    def ivr_nodes(self, call_id: str) -> list[str]:
        """The IVR nodes the caller went through so far (the call row's path is written only at the end)."""
        return [r["node"] for r in self._rows("SELECT node FROM call_events WHERE call_id = ? AND kind = 'node'"
                                              " ORDER BY id", (call_id,))]

    def waiting_counts(self) -> dict[str, int]:
        return {r["queue"]: r["n"] for r in self._rows(
            "SELECT queue, count(*) AS n FROM acd_waiting WHERE status IN ('waiting', 'callback') GROUP BY queue")}

    # -- the caller's history --------------------------------------------------------------------------
    def recent_calls(self, phone: str, limit: int = 5) -> list[dict]:
        return self._rows("SELECT id, started_at, result, reason, path FROM calls WHERE caller = ?"
                          " ORDER BY started_at DESC LIMIT ?", (phone, limit))

    def recent_sms(self, phone: str, limit: int = 5) -> list[dict]:
        return self._rows(
            "SELECT * FROM ("
            " SELECT 'out' AS direction, created_at AS at, text, status, kind FROM sms_outbox WHERE phone = ?"
            " UNION ALL"
            " SELECT 'in' AS direction, stored_at AS at, text, status, outcome AS kind FROM sms_inbox WHERE sender = ?"
            ") ORDER BY at DESC LIMIT ?", (phone, phone, limit))

    def order_sms(self, order_id: int) -> dict | None:
        """The order's confirmation SMS (the latest), with its sending status."""
        return self._one("SELECT id, status, sent_at, delivered_at FROM sms_outbox WHERE order_id = ?"
                         " AND kind = 'confirmation' ORDER BY id DESC LIMIT 1", (order_id,))

    def order_reply(self, code: str) -> dict | None:
        return self._one("SELECT id, outcome, stored_at FROM sms_inbox WHERE order_code = ? AND status = 'handled'"
                         " ORDER BY id DESC LIMIT 1", (code,))

    def order_codes_like(self, code: str, limit: int = 20) -> list[str]:
        return [r["code"] for r in self._rows("SELECT code FROM orders WHERE code LIKE ? ORDER BY id DESC LIMIT ?",
                                              (code.upper() + "%", limit))]

    # -- health ----------------------------------------------------------------------------------------
    def modems(self) -> list[dict]:
        return self._rows("SELECT name, state, signal, heartbeat_at FROM sms_modems ORDER BY name")

    def last_call_at(self) -> str | None:
        row = self._one("SELECT max(started_at) AS at FROM calls")
        return row["at"] if row else None

    # -- wrap-up ---------------------------------------------------------------------------------------
    def add_wrapup(self, row: dict) -> int:
        cur = self.conn.execute(
            "INSERT INTO console_wrapups (at, agent, call_id, caller, code, notes) VALUES (?, ?, ?, ?, ?, ?)",
            (row["at"], row["agent"], row["call_id"], row["caller"], row["code"], row["notes"]))
        return int(cur.lastrowid)

    def wrapups(self, agent: str, limit: int = 20) -> list[dict]:
        return self._rows("SELECT * FROM console_wrapups WHERE agent = ? ORDER BY id DESC LIMIT ?", (agent, limit))
