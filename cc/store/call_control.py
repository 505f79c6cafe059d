"""SQLite side of call control: who the agents are and how to ring them (read from the ACD's tables),
users' roles, voice relays waiting for delivery (claimed with a lease), and the append-only log of control
actions. On the raw ``sqlite3`` connection, like ``cc.store.calls`` and ``cc.store.acd``."""

from __future__ import annotations

from cc.store.db import ConnectionStore


class CallControlStore(ConnectionStore):
    # -- people ----------------------------------------------------------------------------------------

    def user(self, name: str) -> dict | None:
        found = self._rows("SELECT name, display_name, role, disabled FROM users WHERE name = ?", (name,))
        return found[0] if found else None

    def agent(self, user: str) -> dict | None:
        found = self._rows("SELECT user, dial, grp, state FROM acd_agents WHERE user = ?", (user,))
        return found[0] if found else None

    def agents(self, group: str | None = None) -> list[dict]:
        if group is None:
            return self._rows("SELECT user, dial, grp, state FROM acd_agents ORDER BY user")
        return self._rows("SELECT user, dial, grp, state FROM acd_agents WHERE grp = ? ORDER BY user", (group,))

    def queue_exists(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM acd_queues WHERE name = ?", (name,)).fetchone() is not None

    def call_channel(self, call_id: str) -> str | None:
        row = self.conn.execute("SELECT channel FROM calls WHERE id = ?", (call_id,)).fetchone()
        return row[0] if row and row[0] else None

    # -- voice relays ----------------------------------------------------------------------------------

    def claim_relays(self, now: str, retry_before: str, stale_before: str, limit: int) -> list[dict]:
        """Take up to ``limit`` relays to call now: pending ones last tried before ``retry_before`` (or
        never), and ``calling`` ones whose claim is older than ``stale_before`` (a delivery run that died).
        Each taken row becomes ``calling`` with one more attempt. Call inside ``transaction()``."""
        rows = self._rows(
            "SELECT * FROM voice_relays WHERE (status = 'pending' AND (attempts = 0 OR updated_at <= ?))"
            " OR (status = 'calling' AND updated_at <= ?) ORDER BY created_at, id LIMIT ?",
            (retry_before, stale_before, limit),
        )
        for row in rows:
            self.conn.execute(
                "UPDATE voice_relays SET status = 'calling', attempts = attempts + 1, updated_at = ? WHERE id = ?",
                (now, row["id"]),
            )
            row["attempts"] += 1
            row["status"] = "calling"
        return rows

    def finish_relay(self, relay_id: int, status: str, now: str) -> bool:
        """``calling`` -> ``delivered`` / ``pending`` (retry later) / ``failed``."""
        return self.conn.execute(
            "UPDATE voice_relays SET status = ?, updated_at = ? WHERE id = ? AND status = 'calling'",
            (status, now, relay_id),
        ).rowcount == 1

    def unclaim_relay(self, relay_id: int, now: str) -> bool:
        """A claimed relay that was not tried after all: pending again, the attempt given back."""
        return self.conn.execute(
            "UPDATE voice_relays SET status = 'pending', attempts = attempts - 1, updated_at = ?"
            " WHERE id = ? AND status = 'calling'", (now, relay_id),
        ).rowcount == 1

    def relays(self, status: str | None = None, limit: int = 50) -> list[dict]:
        if status:
            return self._rows("SELECT * FROM voice_relays WHERE status = ? ORDER BY id LIMIT ?", (status, limit))
        return self._rows("SELECT * FROM voice_relays ORDER BY id DESC LIMIT ?", (limit,))

    def relay(self, relay_id: int) -> dict | None:
        found = self._rows("SELECT * FROM voice_relays WHERE id = ?", (relay_id,))
        return found[0] if found else None

    # -- history ---------------------------------------------------------------------------------------

    def log(self, row: dict) -> int:
        cur = self.conn.execute(
            "INSERT INTO call_control_events (at, action, actor, agent, call, channel, target, outcome, detail)"
            " VALUES (:at, :action, :actor, :agent, :call, :channel, :target, :outcome, :detail)",
            {"actor": "", "agent": "", "call": "", "channel": "", "target": "", "detail": "", **row},
        )
        return int(cur.lastrowid)

    def events(self, limit: int = 100) -> list[dict]:
        return self._rows("SELECT * FROM call_control_events ORDER BY id DESC LIMIT ?", (limit,))
