"""SQLite side of reports: every report query runs on a separate READ-ONLY connection to the same file
(``file:...?mode=ro`` plus ``PRAGMA query_only``), so a report can never change data, and a long export
does not hold a read transaction on the connection the services write through. Custom (site-written)
queries additionally run under an authorizer that allows reading only (no PRAGMA, ATTACH or writes).

To add a report (the ACD's queue and agent reports will): a query method here, a method on
``cc.services.reports.ReportService`` and an entry in its ``REPORTS``, and a command in cc/commands/report.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import sqlite_utils

from cc.errors import Refused, UsageError
from cc.store.db import BUSY_TIMEOUT_MS

_PAID_LEDGER = "(SELECT COALESCE(-SUM(l.amount_fen), 0) FROM ledger l WHERE l.order_id = o.id AND l.kind IN ('charge', 'refund'))"
_READ_ONLY_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, getattr(sqlite3, "SQLITE_RECURSIVE", 33)}

# The calls detail record: one row per call. (name, SQL, kind): "plain" values are written by cc itself and
# hold no separator, quote or formula start (ISO timestamps, result words, integers); "own" text is cc's
# own but may hold quotes (the IVR path as JSON); "outside" text comes from the network or from people
# (caller ID, Asterisk's id, the customer's name, the reason): quoted and neutralised. The plain SELECT is what `bench/reports.py` hands the sqlite3 shell as the baseline.
_CALLS_FIELDS = [
    ("call_id", "k.id", "outside"), ("started_at", "k.started_at", "plain"), ("caller", "k.caller", "outside"),
    ("customer", "cu.name", "outside"), ("dnid", "k.dnid", "outside"), ("result", "k.result", "plain"),
    ("reason", "k.reason", "outside"), ("answered_at", "k.answered_at", "plain"), ("ended_at", "k.ended_at", "plain"),
    ("wait_s", "CAST(ROUND((julianday(k.answered_at) - julianday(k.started_at)) * 86400) AS INTEGER)", "plain"),
    ("duration_s", "CAST(ROUND((julianday(k.ended_at) - julianday(k.started_at)) * 86400) AS INTEGER)", "plain"),
    ("path", "k.path", "own"),
]
CALLS_COLUMNS = [name for name, _, _ in _CALLS_FIELDS]
_CALLS_FROM = (
    " FROM calls k LEFT JOIN customers cu ON cu.id = k.customer_id"
    " WHERE k.started_at >= :since AND k.started_at < :until{filters} ORDER BY k.started_at"
)
CALLS_SQL = "SELECT " + ", ".join(sql for _, sql, _ in _CALLS_FIELDS) + _CALLS_FROM
# Formula starts neutralised the way cc.csvio.neutralise does it: = + - @ tab CR get a leading quote.
_FORMULA_CODES = "(61, 43, 45, 64, 9, 13)"


def csv_line_sql(fields: list[tuple[str, str, str]]) -> str:
    """One SQL expression that renders a whole CSV line (text fields quoted, quotes doubled, formula starts
    neutralised). Rendering in SQLite saves building a dozen Python objects per row on million-row exports;
    csv readers (Excel, cc.csvio.read_csv) read it exactly as they read cc.csvio.write_csv's output."""
    formats, args = [], []
    for _, sql, kind in fields:
        if kind == "plain":  # NULL prints as nothing
            formats.append("%s")
            args.append(sql)
        elif kind == "outside":
            formats.append('"%w"')
            args.append(f"CASE WHEN unicode({sql}) IN {_FORMULA_CODES} THEN '''' || {sql} ELSE COALESCE({sql}, '') END")
        else:
            formats.append('"%w"')
            args.append(f"COALESCE({sql}, '')")
    return f"printf('{','.join(formats)}', {', '.join(args)})"


# One slice of time [low, high) of the period as CSV lines joined by CRLF, as UTF-8 bytes (a BLOB: no
# decoding into Python text and encoding again on the way to the file), and its row count. The ordered
# subquery is not flattened into the aggregate, so the lines come in started_at order.
CALLS_CSV_SLICE_SQL = (
    "SELECT CAST(group_concat(line, char(13, 10)) AS BLOB), COUNT(*) FROM (SELECT " + csv_line_sql(_CALLS_FIELDS)
    + " AS line" + _CALLS_FROM.replace(":since", ":low").replace(":until", ":high") + ")"
)


def _deny_writes(action: int, *_: object) -> int:
    return sqlite3.SQLITE_OK if action in _READ_ONLY_ACTIONS else sqlite3.SQLITE_DENY


class ReportStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self._ro: sqlite3.Connection | None = None

    def path(self) -> str:
        for _, name, file in self.db.conn.execute("PRAGMA database_list").fetchall():
            if name == "main":
                return file
        return ""

    def _connect(self) -> sqlite3.Connection:
        path = self.path()
        if not path:
            raise Refused("reports need a database file (not an in-memory database)", "run with --db FILE")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only=ON")
        return conn

    def ro(self) -> sqlite3.Connection:
        if self._ro is None:
            self._ro = self._connect()
        return self._ro

    def close(self) -> None:
        if self._ro is not None:
            self._ro.close()
            self._ro = None

    def all(self, sql: str, params: dict | tuple = ()) -> list[dict]:
        cursor = self.ro().execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r)) for r in cursor.fetchall()]

    def stream(self, sql: str, params: dict | tuple = (), *, conn: sqlite3.Connection | None = None) -> tuple[list[str], Iterator[tuple]]:
        """Columns and a lazy row iterator (tuples straight from SQLite)."""
        cursor = (conn or self.ro()).execute(sql, params)
        return [d[0] for d in cursor.description], iter(cursor)

    def scalar(self, sql: str, params: dict | tuple = ()):  # noqa: ANN201
        row = self.ro().execute(sql, params).fetchone()
        return row[0] if row else None

    # --- custom reports -----------------------------------------------------------------------------
    def custom(self, sql: str, params: dict) -> tuple[list[str], Iterator[tuple]]:
        """A site's own SELECT, on its own read-only connection with an authorizer that allows reading only."""
        conn = self._connect()
        conn.set_authorizer(_deny_writes)
        try:
            cursor = conn.execute(sql, params)
        except (sqlite3.Warning, sqlite3.ProgrammingError) as exc:  # more than one statement, a missing parameter
            conn.close()
            raise UsageError(f"custom report: {exc}", "a custom report is one SELECT statement; give each :parameter with --param") from None
        except sqlite3.DatabaseError as exc:
            conn.close()
            text = str(exc)
            if "not authorized" in text or "readonly" in text or "read-only" in text:
                raise Refused(f"custom report refused: it tries to do more than read ({text})",
                              "a custom report is one SELECT; it cannot write, ATTACH or change PRAGMAs") from None
            raise UsageError(f"custom report: {text}", "check the SQL of the report in the config") from None
        if cursor.description is None:
            conn.close()
            raise UsageError("custom report returns no columns", "a custom report is one SELECT statement")

        def rows() -> Iterator[tuple]:
            try:
                yield from cursor
            finally:
                conn.close()

        return [d[0] for d in cursor.description], rows()

    # --- orders -------------------------------------------------------------------------------------
    def orders_grouped(self, key_sql: str, since: str, until: str, product: str | None, agent: str | None) -> list[dict]:
        where, params = self._order_filters(since, until, product, agent)
        return self.all(
            f"SELECT {key_sql} AS key, COUNT(*) AS orders, SUM({_PAID_LEDGER} > 0) AS paid_orders,"
            f" SUM(o.total_fen) AS amount_fen, SUM({_PAID_LEDGER}) AS revenue_fen"
            f" FROM orders o WHERE {where} GROUP BY key ORDER BY key",
            params,
        )

    def orders_by_product(self, since: str, until: str, product: str | None, agent: str | None) -> list[dict]:
        where, params = self._order_filters(since, until, product, agent, line_alias="ol")
        return self.all(
            "SELECT ol.sku AS key, p.name AS product, COUNT(DISTINCT o.id) AS orders,"
            f" COUNT(DISTINCT CASE WHEN {_PAID_LEDGER} > 0 THEN o.id END) AS paid_orders,"
            " SUM(ol.quantity * o.deliveries) AS units, SUM(ol.quantity * ol.price_fen * o.deliveries) AS amount_fen,"
            f" SUM(CASE WHEN o.total_fen > 0 THEN ol.quantity * ol.price_fen * o.deliveries * {_PAID_LEDGER} / o.total_fen"
            "     ELSE 0 END) AS revenue_fen"
            " FROM orders o JOIN order_lines ol ON ol.order_id = o.id JOIN products p ON p.sku = ol.sku"
            f" WHERE {where} GROUP BY ol.sku ORDER BY ol.sku",
            params,
        )

    @staticmethod
    def _order_filters(since: str, until: str, product: str | None, agent: str | None, line_alias: str | None = None) -> tuple[str, dict]:
        where = ["o.created_at >= :since", "o.created_at < :until"]
        params: dict = {"since": since, "until": until}
        if product:
            where.append(f"{line_alias}.sku = :product" if line_alias else
                         "EXISTS (SELECT 1 FROM order_lines x WHERE x.order_id = o.id AND x.sku = :product)")
            params["product"] = product
        if agent:
            where.append("o.created_by = :agent")
            params["agent"] = agent
        return " AND ".join(where), params

    # --- SMS ----------------------------------------------------------------------------------------
    def sms_by_kind(self, since: str, until: str) -> list[dict]:
        return self.all(
            "SELECT kind, COUNT(*) AS messages, SUM(status IN ('sent', 'delivered')) AS sent,"
            " SUM(status = 'delivered') AS delivered, SUM(status = 'failed') AS failed,"
            " SUM(status IN ('queued', 'sending')) AS pending"
            " FROM sms_outbox WHERE created_at >= :since AND created_at < :until GROUP BY kind ORDER BY kind",
            {"since": since, "until": until},
        )

    def confirmation_replies(self, since: str, until: str) -> list[dict]:
        """Each order asked to confirm by SMS in the period, with when the question went out and the first
        reply that decided it (confirmed or rejected), if any."""
        return self.all(
            "SELECT o.code, MIN(COALESCE(s.sent_at, s.created_at)) AS asked_at,"
            " (SELECT MIN(i.stored_at) FROM sms_inbox i WHERE i.order_code = o.code"
            "    AND i.outcome IN ('confirmed', 'rejected')) AS replied_at,"
            " (SELECT i.outcome FROM sms_inbox i WHERE i.order_code = o.code AND i.outcome IN ('confirmed', 'rejected')"
            "    ORDER BY i.stored_at LIMIT 1) AS outcome"
            " FROM sms_outbox s JOIN orders o ON o.id = s.order_id"
            " WHERE s.kind = 'confirmation' AND s.created_at >= :since AND s.created_at < :until GROUP BY o.id ORDER BY o.id",
            {"since": since, "until": until},
        )

    # --- complaints ---------------------------------------------------------------------------------
    def complaints_by_category(self, since: str, until: str, now: str) -> list[dict]:
        return self.all(
            "SELECT category,"
            " SUM(created_at >= :since AND created_at < :until) AS opened,"
            " SUM(closed_at >= :since AND closed_at < :until) AS closed,"
            " SUM(escalated_at >= :since AND escalated_at < :until) AS escalated,"
            " SUM(status != 'closed') AS open_now,"
            " SUM(status != 'closed' AND due_at <= :now) AS overdue_now,"
            " SUM(CASE WHEN closed_at >= :since AND closed_at < :until AND closed_at > due_at THEN 1 ELSE 0 END) AS closed_late,"
            " AVG(CASE WHEN closed_at >= :since AND closed_at < :until"
            "     THEN (julianday(closed_at) - julianday(created_at)) * 24 END) AS avg_hours_to_close"
            " FROM complaints GROUP BY category ORDER BY category",
            {"since": since, "until": until, "now": now},
        )

    # --- campaigns ----------------------------------------------------------------------------------
    def campaigns(self) -> list[dict]:
        return self.all("SELECT id, name, channel, conversion_days FROM campaigns ORDER BY name")

    def campaign_stats(self, campaign_id: int, conversion_days: int, since: str, until: str) -> dict:
        from cc.store.campaigns import CampaignStore

        return CampaignStore(self.db).stats(campaign_id, conversion_days, since, until)

    # --- calls --------------------------------------------------------------------------------------
    @staticmethod
    def _calls_filters(caller: str | None, result: str | None) -> str:
        filters = ""
        if caller:
            filters += " AND k.caller = :caller"
        if result:
            filters += " AND k.result = :result"
        return filters

    def calls_count(self, since: str, until: str, caller: str | None, result: str | None) -> int:
        where = _CALLS_FROM.format(filters=self._calls_filters(caller, result))
        where = where.replace(" LEFT JOIN customers cu ON cu.id = k.customer_id", "").replace(" ORDER BY k.started_at", "")
        return int(self.scalar("SELECT COUNT(*)" + where, {"since": since, "until": until, "caller": caller, "result": result}))

    def calls(self, since: str, until: str, caller: str | None, result: str | None) -> Iterator[tuple]:
        """Rows as tuples (lazy: the query runs when iteration starts)."""
        sql = CALLS_SQL.format(filters=self._calls_filters(caller, result))
        yield from self.ro().execute(sql, {"since": since, "until": until, "caller": caller, "result": result})

    def calls_csv(self, since: str, until: str, caller: str | None, result: str | None,
                  chunk: int = 10_000) -> Iterator[tuple[bytes, int]]:
        """The same rows as CSV, rendered by SQLite: (UTF-8 lines joined by CRLF, number of rows) per slice of
        time holding about ``chunk`` calls. One string per slice instead of one Python object per row and
        column is what keeps a million-row export near the sqlite3 shell's speed (lazy)."""
        from datetime import timedelta

        from cc.domain.timestamps import iso, parse_iso

        params = {"since": since, "until": until, "caller": caller, "result": result}
        first, last, count = self.ro().execute(
            "SELECT MIN(started_at), MAX(started_at), COUNT(*) FROM calls WHERE started_at >= :since AND started_at < :until",
            params,
        ).fetchone()
        if not count:
            return
        start, end = parse_iso(first), parse_iso(last)
        step = max(timedelta(milliseconds=1), (end - start) * chunk / count)
        sql = CALLS_CSV_SLICE_SQL.format(filters=self._calls_filters(caller, result))
        low, low_text = start, since
        while low <= end:
            high = low + step
            # Only the slice's own bounds in the query (the period's as well would make SQLite range over the
            # whole period for every slice). The slices tile [since, until): the first starts at the period's
            # start, the last ends at its end.
            high_text = iso(high) if high <= end else until
            bounds = {"low": low_text, "high": min(high_text, until)}
            data, rows = self.ro().execute(sql, {"caller": caller, "result": result, **bounds}).fetchone()
            if rows:
                yield data, rows
            low, low_text = high, bounds["high"]

    # --- queues and agents (the ACD's history; the same queries as the wallboard's "today") ------------
    def queue_rows(self, since: str, until: str, now: str, *, sl_seconds: float, interval: str | None,
                   offset_minutes: int, queue: str | None, events_until: str) -> list[dict]:
        from cc.store.wallboard import queue_rows

        return queue_rows(self.ro(), since, until, now, sl_seconds=sl_seconds, interval=interval,
                          offset_minutes=offset_minutes, queue=queue, events_until=events_until)

    def agent_state_times(self, since: str, end: str, agent: str | None) -> list[dict]:
        from cc.store.wallboard import state_time_rows

        return state_time_rows(self.ro(), since, end, agent)

    def agent_counts(self, since: str, until: str, agent: str | None, queue: str | None) -> dict[str, dict]:
        from cc.store.wallboard import agent_count_rows

        return agent_count_rows(self.ro(), since, until, agent, queue)

    def agents(self) -> list[dict]:
        """Every ACD agent with their display name and skills (service -> level)."""
        found = self.all("SELECT a.user, COALESCE(u.display_name, '') AS display_name FROM acd_agents a"
                         " LEFT JOIN users u ON u.name = a.user ORDER BY a.user")
        skills: dict[str, dict[str, int]] = {}
        for user, service, level in self.ro().execute("SELECT user, service, level FROM acd_agent_skills"):
            skills.setdefault(user, {})[service] = level
        for row in found:
            row["skills"] = skills.get(row["user"], {})
        return found

    def queue_definition(self, name: str) -> str | None:
        return self.scalar("SELECT definition FROM acd_queues WHERE name = ?", (name,))

    def qa_averages(self, since: str, until: str, agent: str | None) -> dict[str, float]:
        """Agent -> average QA total of the calls scored (cc/store/qa.py owns the rule), when QA exists here."""
        try:
            from cc.store.qa import QaStore
        except ImportError:
            return {}
        return {r["agent"]: round(r["average"], 1) for r in QaStore(self.ro()).averages(since, until, agent)}
