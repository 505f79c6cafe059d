"""SQLite side of the wallboard and of the queue/agent reports: the same queries serve both.

Every query is a range scan over a timestamp index (m0220) or a read of a small live table, so one
wallboard refresh stays a few milliseconds whatever the length of the history. The aggregate queries are
module functions taking a connection: the wallboard runs them on its own connection, the reports
(cc/store/reports.py) on their read-only one.

Also here: the FastAGI server's heartbeat row (``AgiHeartbeat``), which the wallboard reads.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from cc.store.db import BUSY_TIMEOUT_MS, ConnectionStore, fetch_rows

# Exit reasons a caller leaves a queue with after having entered it (offered), and the door refusals.
_REFUSED = "('blocked', 'no_agents')"

# Local bucket of a UTC ISO timestamp column, per interval (offset: the zone's minutes east of UTC).
_BUCKETS = {
    None: "''",
    "day": "date({col}, '{off:+d} minutes')",
    "1h": "strftime('%Y-%m-%d %H:00', {col}, '{off:+d} minutes')",
    "30m": "strftime('%Y-%m-%d %H:', {col}, '{off:+d} minutes')"
           " || CASE WHEN CAST(strftime('%M', {col}, '{off:+d} minutes') AS INTEGER) < 30 THEN '00' ELSE '30' END",
}
INTERVALS = ("30m", "1h", "day")


def bucket_sql(column: str, interval: str | None, offset_minutes: int) -> str:
    return _BUCKETS[interval].format(col=column, off=offset_minutes)


# Talk and wrap-up of answered calls: the agent's on_call event (it carries the waiting id) lasts until the
# agent's next event; when that next event is wrap_up, the wrap-up lasts until the one after (or now).
_QUEUE_SQL = """
WITH ev AS (
    SELECT user, at, state, waiting_id,
           LEAD(at) OVER w AS next_at, LEAD(state) OVER w AS next_state, LEAD(at, 2) OVER w AS next2_at
    FROM acd_agent_events WHERE at >= :since AND at < :events_until
    WINDOW w AS (PARTITION BY user ORDER BY id)
),
talk AS (
    SELECT waiting_id, user, next_at, next_state, next2_at,
           (julianday(next_at) - julianday(at)) * 86400000.0 AS talk_ms,
           CASE WHEN next_state = 'wrap_up'
                THEN (julianday(COALESCE(next2_at, :now)) - julianday(next_at)) * 86400000.0 ELSE 0 END AS wrap_ms
    FROM ev WHERE state = 'on_call' AND waiting_id IS NOT NULL AND next_at IS NOT NULL
),
x AS (
    SELECT {bucket} AS bucket, queue, reason, waited_ms, agent, at, waiting_id, detail
    FROM acd_exits WHERE at >= :since AND at < :until{filters}
)
SELECT x.bucket AS bucket, x.queue AS queue,
    SUM(x.reason = 'answered') AS answered, SUM(x.reason = 'abandoned') AS abandoned,
    SUM(x.reason = 'overflowed') AS overflowed, SUM(x.reason = 'timeout') AS timeout,
    SUM(x.reason = 'voicemail') AS voicemail, SUM(x.reason = 'callback') AS callback,
    SUM(x.reason = 'error') AS error, SUM(x.reason IN """ + _REFUSED + """) AS refused,
    SUM(x.reason = 'answered' AND x.waited_ms <= :sl_ms) AS answered_in_sl,
    SUM(x.reason = 'answered' AND x.detail = 'backup') AS answered_backup,
    SUM(CASE WHEN x.reason = 'answered' THEN x.waited_ms END) AS wait_answered_ms,
    MAX(CASE WHEN x.reason NOT IN """ + _REFUSED + """ THEN x.waited_ms END) AS max_wait_ms,
    COUNT(t.waiting_id) AS handled, SUM(t.talk_ms) AS talk_ms, SUM(t.wrap_ms) AS wrap_ms,
    SUM(x.reason = 'answered' AND (t.waiting_id IS NULL OR (t.next_state = 'wrap_up' AND t.next2_at IS NULL))) AS open_calls,
    SUM(x.reason = 'answered' AND EXISTS (
        SELECT 1 FROM call_control_events c WHERE c.agent = x.agent AND c.at >= x.at AND c.at < COALESCE(t.next_at, :now)
          AND c.action IN ('transfer', 'attended_transfer') AND c.outcome = 'ok')) AS transferred
FROM x LEFT JOIN talk t ON x.reason = 'answered' AND t.waiting_id = x.waiting_id AND t.user = x.agent
GROUP BY x.bucket, x.queue ORDER BY x.bucket, x.queue
"""


def queue_rows(conn: sqlite3.Connection, since: str, until: str, now: str, *, sl_seconds: float,
               interval: str | None = None, offset_minutes: int = 0, queue: str | None = None,
               events_until: str | None = None) -> list[dict]:
    """Per (bucket, queue): counts per exit reason and the sums ``cc.domain.wallboard.queue_figures`` needs;
    ``open_calls``: answered calls whose talk or wrap-up has not ended yet (their row is not final).
    ``events_until``: how far past ``until`` to read agent events (a call answered before ``until`` may end
    after it); default ``until``."""
    filters = " AND queue = :queue" if queue else ""
    sql = _QUEUE_SQL.format(bucket=bucket_sql("at", interval, offset_minutes), filters=filters)
    params = {"since": since, "until": until, "now": now, "sl_ms": sl_seconds * 1000, "queue": queue,
              "events_until": events_until or until}
    return fetch_rows(conn, sql, params)


# Time per (agent, state, reason) inside [since, end): the events in the range, each lasting until the
# agent's next event (or ``end``), plus the state each agent was already in at ``since``.
_STATE_SQL = """
WITH inside AS (
    SELECT user, at, state, reason, LEAD(at) OVER (PARTITION BY user ORDER BY id) AS next_at
    FROM acd_agent_events WHERE at >= :since AND at < :end{agent_e}
),
carried AS (
    SELECT e.user, :since AS at, e.state, e.reason,
           (SELECT f.at FROM acd_agent_events f WHERE f.user = e.user AND f.id > e.id ORDER BY f.id LIMIT 1) AS next_at
    FROM acd_agents a JOIN acd_agent_events e ON e.id = (
        SELECT g.id FROM acd_agent_events g WHERE g.user = a.user AND g.at < :since ORDER BY g.id DESC LIMIT 1)
    WHERE 1{agent_a}
),
spans AS (
    SELECT user, state, reason, at, MIN(COALESCE(next_at, :end), :end) AS upto FROM inside
    UNION ALL
    SELECT user, state, reason, at, MIN(COALESCE(next_at, :end), :end) FROM carried
)
SELECT user, state, reason, SUM((julianday(upto) - julianday(at)) * 86400000.0) AS ms
FROM spans WHERE upto > at GROUP BY user, state, reason ORDER BY user, state, reason
"""


def state_time_rows(conn: sqlite3.Connection, since: str, end: str, agent: str | None = None) -> list[dict]:
    """(user, state, reason, ms) inside [since, end); ``end`` is the period's end or now, whichever is first."""
    sql = _STATE_SQL.format(agent_e=" AND user = :agent" if agent else "", agent_a=" AND a.user = :agent" if agent else "")
    return fetch_rows(conn, sql, {"since": since, "end": end, "agent": agent})


def agent_count_rows(conn: sqlite3.Connection, since: str, until: str, agent: str | None = None,
                     queue: str | None = None, surveys: bool = True) -> dict[str, dict]:
    """Per agent over [since, until): calls answered, orders entered (first event of an order), survey count
    and average. ``queue``: only calls and surveys of that queue (orders are not tied to a queue)."""
    a_exit = (" AND agent = :agent" if agent else "") + (" AND queue = :queue" if queue else "")
    a_ord = " AND actor = :agent" if agent else ""
    params = {"since": since, "until": until, "agent": agent, "queue": queue}
    out: dict[str, dict] = {}

    def put(user: str | None, **values: Any) -> None:
        if user:
            out.setdefault(user, {"calls": 0, "orders": 0, "surveys": 0, "survey_avg": None}).update(values)

    for user, n in conn.execute(
            "SELECT agent, COUNT(*) FROM acd_exits WHERE at >= :since AND at < :until AND reason = 'answered'"
            f" AND agent IS NOT NULL{a_exit} GROUP BY agent", params):
        put(user, calls=n)
    for user, n in conn.execute(
            "SELECT actor, COUNT(*) FROM order_events WHERE at >= :since AND at < :until AND from_status IS NULL"
            f"{a_ord} GROUP BY actor", params):
        put(user, orders=n)
    for user, n, avg in () if not surveys else conn.execute(
            "SELECT agent, COUNT(*), AVG(score) FROM acd_surveys WHERE at >= :since AND at < :until"
            f"{a_exit} GROUP BY agent", params):
        put(user, surveys=n, survey_avg=avg)
    return out


class WallboardStore(ConnectionStore):
    """The live side of a snapshot (small tables) plus the day's aggregates, on one connection."""

    def queue_definitions(self) -> list[dict]:
        return self._rows("SELECT name, definition FROM acd_queues ORDER BY name")

    def waiting_callers(self) -> list[dict]:
        """Callers in the queues (waiting, being rung through, waiting for a call back) with their customer."""
        return self._rows(
            "SELECT w.id, w.call_id, w.queue, w.caller, w.vip, w.priority, w.entered_at, w.status, w.agent, w.tier,"
            " w.attempts, c.id AS customer_id, c.name AS customer"
            " FROM acd_waiting w LEFT JOIN customers c ON c.phone = w.caller"
            " WHERE w.status IN ('waiting', 'ringing', 'callback')"
        )

    def agents(self) -> list[dict]:
        """Every agent with the call they are on (offered or talking) and its customer."""
        return self._rows(
            "SELECT a.user, COALESCE(u.display_name, '') AS display_name, a.grp, a.state, a.reason, a.state_since,"
            " a.heartbeat_at, a.waiting_id, w.call_id, w.caller, w.queue, c.name AS customer"
            " FROM acd_agents a LEFT JOIN users u ON u.name = a.user"
            " LEFT JOIN acd_waiting w ON w.id = a.waiting_id"
            " LEFT JOIN customers c ON c.phone = w.caller ORDER BY a.user"
        )

    def skills(self) -> list[tuple[str, str, int]]:
        return self.conn.execute("SELECT user, service, level FROM acd_agent_skills").fetchall()

    def queue_rows(self, since: str, until: str, now: str, sl_seconds: float, *, interval: str | None = None,
                   offset_minutes: int = 0) -> list[dict]:
        return queue_rows(self.conn, since, until, now, sl_seconds=sl_seconds, interval=interval,
                          offset_minutes=offset_minutes)

    def agent_counts(self, since: str, until: str) -> dict[str, dict]:
        return agent_count_rows(self.conn, since, until, surveys=False)

    def calls_per_slot(self, since: str, until: str, offset_minutes: int) -> list[tuple[int, int]]:
        """(half-hour slot of the local day 0..47, calls started) over [since, until) (one local day)."""
        # Minutes of the UTC time of day straight from the stored text (HH at 12, MM at 15): five times faster
        # than strftime on every row.
        return self.conn.execute(
            "SELECT ((CAST(substr(started_at, 12, 2) AS INTEGER) * 60 + CAST(substr(started_at, 15, 2) AS INTEGER)"
            " + :off + 1440) % 1440) / 30 AS slot, COUNT(*)"
            " FROM calls WHERE started_at >= :since AND started_at < :until GROUP BY slot",
            {"since": since, "until": until, "off": offset_minutes % 1440},
        ).fetchall()

    def waits_since(self, since: str) -> list[tuple[str, int]]:
        """(left at, waited ms) of every caller who left a queue at or after ``since`` (entered = at - waited)."""
        return self.conn.execute(
            "SELECT at, waited_ms FROM acd_exits WHERE at >= ? AND reason NOT IN " + _REFUSED, (since,)).fetchall()

    def funnel(self, since: str, until: str) -> dict:
        row = self._one(
            "SELECT COUNT(DISTINCT CASE WHEN from_status IS NULL THEN order_id END) AS entered,"
            " COUNT(DISTINCT CASE WHEN to_status = 'confirmed' THEN order_id END) AS confirmed,"
            " COUNT(DISTINCT CASE WHEN to_status = 'charged' THEN order_id END) AS charged,"
            " COUNT(DISTINCT CASE WHEN to_status = 'sent_to_dairy' THEN order_id END) AS sent_to_dairy"
            " FROM order_events WHERE at >= :since AND at < :until",
            {"since": since, "until": until},
        )
        return row or {}

    def modems(self) -> list[dict]:
        return self._rows("SELECT * FROM sms_modems ORDER BY name")

    def sms_counts(self, since: str) -> dict:
        one = lambda sql, *p: self.conn.execute(sql, p).fetchone()  # noqa: E731
        # The range keeps the planner on the status index (with ANALYZE statistics it scanned the whole year
        # for an IN list); 'queued' <= status <= 'sending' holds exactly those two statuses.
        queued, oldest = one("SELECT COUNT(*), MIN(created_at) FROM sms_outbox WHERE status BETWEEN 'queued' AND 'sending'"
                             " AND status IN ('queued', 'sending')")
        sent = one("SELECT COUNT(*) FROM sms_outbox WHERE sent_at IS NOT NULL AND sent_at >= ?", since)[0]
        failed = one("SELECT COUNT(*) FROM sms_outbox WHERE status = 'failed' AND finished_at >= ?", since)[0]
        return {"queued": queued, "oldest_queued": oldest, "sent": sent, "failed": failed}

    def dairy_counts(self) -> dict:
        backlog, oldest = self.conn.execute(
            "SELECT COUNT(*), MIN(created_at) FROM dairy_outbox WHERE status IN ('pending', 'sending')").fetchone()
        failed = self.conn.execute("SELECT COUNT(*) FROM dairy_outbox WHERE status = 'failed'").fetchone()[0]
        return {"backlog": backlog, "oldest_pending": oldest, "failed": failed}

    def agi_servers(self) -> list[dict]:
        return self._rows("SELECT * FROM agi_servers ORDER BY heartbeat_at DESC")


class AgiHeartbeat:
    """The FastAGI server's sign of life for the wallboard: one ``agi_servers`` row per host:port, written
    by ``tick()`` at most every ``every`` seconds on a short-lived connection of its own (never one a call
    thread uses); ``stopped()`` marks a clean stop. A failed write (database busy or gone) is skipped: the
    heartbeat must never disturb calls, and a missing beat is exactly what the wallboard should see."""

    def __init__(self, db_path: str, name: str, *, clock: Any = None, every: float = 5.0) -> None:
        from cc.clock import SystemClock

        self.db_path = str(db_path)
        self.name = name
        self.clock = clock or SystemClock()
        self.every = every
        self.started_at = self._now()
        self._next = 0.0

    def _now(self) -> str:
        from cc.domain.timestamps import iso

        return iso(self.clock.now())

    def _write(self, sql: str, params: tuple) -> bool:
        try:
            conn = sqlite3.connect(self.db_path, timeout=1.0, isolation_level=None)
            try:
                conn.execute(sql, params)
            finally:
                conn.close()
        except sqlite3.Error:
            return False
        return True

    def tick(self, active: int, total: int) -> bool:
        """Write the heartbeat when one is due; True when written."""
        import time

        if time.monotonic() < self._next:
            return False
        self._next = time.monotonic() + self.every
        return self.beat(active, total)

    def beat(self, active: int, total: int) -> bool:
        return self._write(
            "INSERT INTO agi_servers (name, pid, started_at, heartbeat_at, stopped_at, active_calls, total_calls)"
            " VALUES (?, ?, ?, ?, NULL, ?, ?) ON CONFLICT(name) DO UPDATE SET pid = excluded.pid,"
            " started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, stopped_at = NULL,"
            " active_calls = excluded.active_calls, total_calls = excluded.total_calls",
            (self.name, os.getpid(), self.started_at, self._now(), active, total),
        )

    def stopped(self, total: int | None = None) -> bool:
        now = self._now()
        return self._write("UPDATE agi_servers SET stopped_at = ?, heartbeat_at = ?, active_calls = 0,"
                           " total_calls = COALESCE(?, total_calls) WHERE name = ?", (now, now, total, self.name))
