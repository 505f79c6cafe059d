"""Reports: queries over the history (never counters kept by hand), for a period ``--from/--to`` (local
calendar days, inclusive) and filters. Each report is a ``Report`` (columns, rows, an optional summary);
cc/reportio.py writes it as CSV, JSON or XLSX and the command prints tables.

Built in: orders, sms, complaints, campaigns, calls (detail records), queues (by interval) and agents over
the ACD's history. The queue figures are the wallboard's (cc/services/wallboard.py): one query
(cc.store.wallboard.queue_rows) and one pure function (cc.domain.wallboard.queue_figures) for both. Custom reports: named SELECTs with parameters from the config (``reports.custom``) or a
YAML file (``reports.custom_file``), run read-only.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from cc.domain.money import format_yuan
from cc.domain.timestamps import iso, parse_iso
from cc.domain.users import Action
from cc.errors import ConfigError, NotFound, UsageError
from cc.services.base import ServiceBase

ORDER_GROUPS = ("status", "product", "day", "agent")


@dataclass
class Report:
    name: str
    title: str
    columns: list[str]
    rows: Iterable[tuple]
    total: int | None = None  # row count when known up front (progress bars)
    summary: dict = field(default_factory=dict)
    period: dict = field(default_factory=dict)
    csv_chunks: Iterable[tuple[bytes, int]] | None = None  # CSV rendered by the store: (lines, rows) (big exports)

    def meta(self) -> dict:
        return {"report": self.name, "title": self.title, "period": self.period, "summary": self.summary}


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    since: str  # UTC ISO, start of start's local day
    until: str  # UTC ISO, start of the local day after end

    def as_dict(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "since_utc": self.since, "until_utc": self.until}


# name -> (method name, one-line description). The command group lists these; custom reports add theirs.
REPORTS: dict[str, tuple[str, str]] = {
    "orders": ("orders", "Orders by status, product, day or agent: count, amount, revenue (charged less refunds)."),
    "sms": ("sms", "SMS by kind: sent, delivered, failed; confirmation rate and time to reply."),
    "complaints": ("complaints", "Complaints by category: opened, closed, escalated, overdue, hours to close."),
    "campaigns": ("campaigns", "Campaigns: contacts, SMS reached, call list, conversions."),
    "calls": ("calls", "Call detail records: caller, customer, times, wait and duration, IVR path, result."),
    "queues": ("queues", "Queues by interval: offered, answered, abandoned, overflowed, service level, speed of answer, handle time."),
    "agents": ("agents", "Agents: signed-in, ready, paused by reason, talk, wrap-up, calls, orders, conversion, QA and survey scores."),
}
QUEUE_INTERVALS = ("30m", "1h", "day")
QUEUE_COLUMNS = ["interval", "queue", "offered", "answered", "abandoned", "overflowed", "other_exits", "refused",
                 "service_level", "asa_s", "aht_s", "talk_s", "wrap_s", "max_wait_s", "answered_backup", "transferred"]
AGENT_COLUMNS = ["agent", "name", "signed_in_s", "ready_s", "paused_s", "paused_by_reason", "away_s", "ringing_s",
                 "talk_s", "wrap_s", "calls", "orders", "conversion", "aht_s", "survey_count", "survey_avg", "qa_avg"]


def _yuan(fen: Any) -> str:
    return format_yuan(int(fen or 0))


class ReportService(ServiceBase):
    def __init__(self, *args: Any, reports: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reports = reports  # cc.store.reports.ReportStore (read-only connection)

    # --- the period ---------------------------------------------------------------------------------
    def period(self, start: date | None = None, end: date | None = None) -> Period:
        end = end or self.today()
        start = start or end - timedelta(days=max(1, self.config.reports.default_days) - 1)
        if start > end:
            raise UsageError(f"--from {start} is after --to {end}", "give --from on or before --to")

        def bound(day: date) -> str:
            return iso(datetime.combine(day, time(0), tzinfo=self._zone))

        return Period(start, end, bound(start), bound(end + timedelta(days=1)))

    def _local_offset_minutes(self, period: Period) -> int:
        """The zone's UTC offset at the period's start (day grouping in SQL; exact for zones without DST)."""
        offset = datetime.combine(period.start, time(12), tzinfo=self._zone).utcoffset()
        return int(offset.total_seconds() // 60) if offset else 0

    def available(self) -> list[dict]:
        out = [{"name": n, "kind": "built-in", "description": d} for n, (_, d) in REPORTS.items()]
        out += [{"name": c["name"], "kind": "custom", "description": c["description"], "params": c["params"]}
                for c in self._custom_definitions().values()]
        return out

    # --- built-in reports ---------------------------------------------------------------------------
    def orders(self, period: Period, *, by: str = "status", product: str | None = None, agent: str | None = None) -> Report:
        self.require(Action.VIEW_REPORTS)
        if by not in ORDER_GROUPS:
            raise UsageError(f"cannot group orders by {by!r}", f"use --by {' | '.join(ORDER_GROUPS)}")
        args = (period.since, period.until, product, agent)
        if by == "product":
            found = self.reports.orders_by_product(*args)
            columns = ["sku", "product", "orders", "paid_orders", "units", "amount", "revenue"]
            rows = [(r["key"], r["product"], r["orders"], r["paid_orders"], r["units"], _yuan(r["amount_fen"]),
                     _yuan(r["revenue_fen"])) for r in found]
        else:
            key_sql = {"status": "o.status", "agent": "o.created_by",
                       "day": f"date(o.created_at, '{self._local_offset_minutes(period):+d} minutes')"}[by]
            found = self.reports.orders_grouped(key_sql, *args)
            columns = [by, "orders", "paid_orders", "amount", "revenue"]
            rows = [(r["key"], r["orders"], r["paid_orders"], _yuan(r["amount_fen"]), _yuan(r["revenue_fen"])) for r in found]
        summary = {
            "orders": sum(r["orders"] for r in found) if by != "product" else None,
            "revenue": _yuan(sum(int(r["revenue_fen"] or 0) for r in found)),
        }
        if by == "product":
            summary.pop("orders")
        return Report("orders", f"Orders by {by}", columns, rows, len(rows), summary, period.as_dict())

    def sms(self, period: Period) -> Report:
        self.require(Action.VIEW_REPORTS)
        found = self.reports.sms_by_kind(period.since, period.until)
        columns = ["kind", "messages", "sent", "delivered", "failed", "pending", "delivery_rate"]
        rows = [(r["kind"], r["messages"], r["sent"], r["delivered"], r["failed"], r["pending"],
                 round(r["delivered"] / r["sent"], 4) if r["sent"] else None) for r in found]
        asked = self.reports.confirmation_replies(period.since, period.until)
        decided = [a for a in asked if a["replied_at"]]
        waits = [(parse_iso(a["replied_at"]) - parse_iso(a["asked_at"])).total_seconds() for a in decided]
        confirmed = sum(1 for a in decided if a["outcome"] == "confirmed")
        summary = {
            "messages": sum(r["messages"] for r in found),
            "sent": sum(r["sent"] for r in found), "delivered": sum(r["delivered"] for r in found),
            "failed": sum(r["failed"] for r in found),
            "confirmation_requests": len(asked), "confirmed_by_reply": confirmed,
            "rejected_by_reply": len(decided) - confirmed,
            "confirmation_rate": round(confirmed / len(asked), 4) if asked else None,
            "reply_seconds_avg": round(statistics.fmean(waits), 1) if waits else None,
            "reply_seconds_median": round(statistics.median(waits), 1) if waits else None,
        }
        return Report("sms", "SMS by kind", columns, rows, len(rows), summary, period.as_dict())

    def complaints(self, period: Period) -> Report:
        self.require(Action.VIEW_REPORTS)
        found = self.reports.complaints_by_category(period.since, period.until, self.now_iso())
        labels = {c.name: c.label for c in self.config.complaints.categories}
        columns = ["category", "label", "opened", "closed", "closed_late", "escalated", "open_now", "overdue_now",
                   "avg_hours_to_close"]
        rows = [(r["category"], labels.get(r["category"], r["category"]), r["opened"] or 0, r["closed"] or 0,
                 r["closed_late"] or 0, r["escalated"] or 0, r["open_now"] or 0, r["overdue_now"] or 0,
                 round(r["avg_hours_to_close"], 2) if r["avg_hours_to_close"] is not None else None) for r in found]
        summary = {k: sum(row[i] for row in rows) for i, k in enumerate(columns) if k in ("opened", "closed", "open_now", "overdue_now")}
        return Report("complaints", "Complaints by category", columns, rows, len(rows), summary, period.as_dict())

    def campaigns(self, period: Period, *, campaign: str | None = None) -> Report:
        self.require(Action.VIEW_REPORTS)
        defaults = self.config.campaigns.conversion_days
        columns = ["campaign", "channel", "contacts", "sms_sent", "sms_delivered", "sms_failed", "call_list", "converted",
                   "conversion_rate"]
        rows = []
        for c in self.reports.campaigns():
            if campaign and c["name"] != campaign:
                continue
            s = self.reports.campaign_stats(c["id"], c["conversion_days"] or defaults, period.since, period.until)
            rows.append((c["name"], c["channel"], s["contacts"], s["sms_sent"], s["sms_delivered"], s["sms_failed"],
                         s["call_list"], s["converted"], round(s["converted"] / s["contacts"], 4) if s["contacts"] else None))
        if campaign and not rows:
            raise NotFound(f"no campaign named {campaign!r}", "see 'cc campaign list'")
        summary = {"contacts": sum(r[2] for r in rows), "converted": sum(r[7] for r in rows)}
        return Report("campaigns", "Campaigns: reached and converted", columns, rows, len(rows), summary, period.as_dict())

    def calls(self, period: Period, *, caller: str | None = None, result: str | None = None, count: bool = True) -> Report:
        """Streamed: a million rows go from SQLite to the writer without a list in between."""
        self.require(Action.VIEW_REPORTS)
        if caller:
            from cc.phone import normalize_phone

            caller = normalize_phone(caller)
        from cc.store.reports import CALLS_COLUMNS

        total = self.reports.calls_count(period.since, period.until, caller, result) if count else None
        rows = self.reports.calls(period.since, period.until, caller, result)
        chunks = self.reports.calls_csv(period.since, period.until, caller, result)
        return Report("calls", "Call detail records", list(CALLS_COLUMNS), rows, total, {}, period.as_dict(), chunks)

    def queue_figure_rows(self, since: str, until: str, *, interval: str | None = None, queue: str | None = None,
                          offset_minutes: int = 0) -> list[tuple[dict, Any]]:
        """(aggregate row, QueueFigures) per interval and queue: the computation the wallboard's "today" shares
        (cc.store.wallboard.queue_rows + cc.domain.wallboard.queue_figures). Calls answered before ``until``
        are followed up to a day past it for their talk and wrap-up."""
        from cc.domain.wallboard import queue_figures

        events_until = iso(parse_iso(until) + timedelta(days=1))
        found = self.reports.queue_rows(since, until, self.now_iso(), sl_seconds=self.config.reports.service_level_seconds,
                                        interval=interval, offset_minutes=offset_minutes, queue=queue, events_until=events_until)
        return [(r, queue_figures(r)) for r in found]

    def queues(self, period: Period, *, interval: str = "day", queue: str | None = None) -> Report:
        """Per interval (local 30 minutes, hour or day) and queue: callers offered (left the queue in the
        interval), answered, abandoned, overflowed, other exits (timeout, voicemail, callback, error), refused
        at the door, service level, ASA, handle time (talk + wrap-up), longest wait, backup-tier answers,
        transfers. Seconds are averages per call."""
        from cc.domain.wallboard import add_rows, queue_figures

        self.require(Action.VIEW_REPORTS)
        if interval not in QUEUE_INTERVALS:
            raise UsageError(f"unknown interval {interval!r}", f"use --interval {' | '.join(QUEUE_INTERVALS)}")
        found = self.queue_figure_rows(period.since, period.until, interval=interval, queue=queue,
                                       offset_minutes=self._local_offset_minutes(period))
        rows = []
        for r, f in found:
            rows.append((r["bucket"], r["queue"], f.offered, f.answered, f.abandoned, f.overflowed,
                         f.timeout + f.voicemail + f.callback + f.error, f.refused, f.service_level, f.asa_seconds,
                         f.aht_seconds, f.talk_seconds, f.wrap_seconds, f.max_wait_seconds, f.answered_backup, f.transferred))
        total = queue_figures(add_rows(r for r, _ in found))
        summary = {"service_level_seconds": self.config.reports.service_level_seconds, "offered": total.offered,
                   "answered": total.answered, "abandoned": total.abandoned, "overflowed": total.overflowed,
                   "service_level": total.service_level, "asa_s": total.asa_seconds, "aht_s": total.aht_seconds}
        title = f"Queues by {interval}" + (f" ({queue})" if queue else "")
        return Report("queues", title, list(QUEUE_COLUMNS), rows, len(rows), summary, period.as_dict())

    def agents(self, period: Period, *, agent: str | None = None, queue: str | None = None) -> Report:
        """Per agent: time signed in (any state but offline), ready, paused (and per reason), away, ringing,
        talk (on_call), wrap-up, within the period (up to now); calls answered, orders entered, conversion
        (orders / calls), handle time per call, survey count and average (1-5), QA average (0-100).
        ``queue``: calls and surveys of that queue only, agents with its skill or its calls."""
        import json

        self.require(Action.VIEW_REPORTS)
        end = min(period.until, self.now_iso())
        times = self.reports.agent_state_times(period.since, max(end, period.since), agent) if end > period.since else []
        counts = self.reports.agent_counts(period.since, period.until, agent, queue)
        qa = self.reports.qa_averages(period.since, period.until, agent)
        staff = {a["user"]: a for a in self.reports.agents()}
        if agent and agent not in staff and agent not in counts:
            raise NotFound(f"no agent named {agent!r}", "see 'cc agent list'")
        per: dict[str, dict[str, Any]] = {}
        for r in times:
            entry = per.setdefault(r["user"], {"states": {}, "paused": {}})
            seconds = float(r["ms"] or 0) / 1000
            entry["states"][r["state"]] = entry["states"].get(r["state"], 0.0) + seconds
            if r["state"] == "paused":
                reason = r["reason"] or "-"
                entry["paused"][reason] = entry["paused"].get(reason, 0.0) + seconds
        names = set(per) | set(counts) | ({agent} if agent else set())
        if queue:
            definition = self.reports.queue_definition(queue)
            if definition is None:
                raise NotFound(f"no queue named {queue!r}", "see 'cc queue list'")
            service = json.loads(definition).get("service", queue)
            names = {n for n in names if n in counts or service in staff.get(n, {}).get("skills", {})}
        if agent:
            names = {agent}
        rows = []
        for user in sorted(names):
            states = per.get(user, {}).get("states", {})
            paused = per.get(user, {}).get("paused", {})
            c = counts.get(user, {})
            calls, orders = int(c.get("calls", 0)), int(c.get("orders", 0))
            handle = states.get("on_call", 0.0) + states.get("wrap_up", 0.0)
            rows.append((
                user, staff.get(user, {}).get("display_name", ""),
                round(sum(v for k, v in states.items() if k != "offline")), round(states.get("ready", 0.0)),
                round(states.get("paused", 0.0)), "; ".join(f"{k}={round(v)}" for k, v in sorted(paused.items())),
                round(states.get("away", 0.0)), round(states.get("ringing", 0.0)), round(states.get("on_call", 0.0)),
                round(states.get("wrap_up", 0.0)), calls, orders, round(orders / calls, 4) if calls else None,
                round(handle / calls, 1) if calls else None, int(c.get("surveys", 0)),
                round(c["survey_avg"], 2) if c.get("survey_avg") is not None else None, qa.get(user),
            ))
        summary = {"agents": len(rows), "calls": sum(r[10] for r in rows), "orders": sum(r[11] for r in rows)}
        return Report("agents", "Agents" + (f" ({queue})" if queue else ""), list(AGENT_COLUMNS), rows, len(rows),
                      summary, period.as_dict())

    # --- custom reports -----------------------------------------------------------------------------
    def _custom_definitions(self) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for item in self.config.reports.custom:
            found[item.name] = {"name": item.name, "description": item.description, "sql": item.sql, "params": list(item.params)}
        path = self.config.reports.custom_file
        if path:
            for item in self._read_custom_file(path):
                found[item["name"]] = item
        return found

    def _read_custom_file(self, path: str) -> list[dict]:
        from cc.yamlfile import read_file

        file = Path(path)
        if not file.is_absolute() and self.config.source:
            candidate = Path(self.config.source).resolve().parent / file
            file = candidate if candidate.exists() else file
        data = read_file(file, "reports.custom_file", "check the path in the config", shape="a list of reports",
                         list_ok=True, error=ConfigError).data
        if isinstance(data, dict):
            data = data.get("reports", data.get("custom"))
        if not isinstance(data, list):
            raise ConfigError(f"reports.custom_file {path}: expected a list of reports", "each with name, sql, params")
        out = []
        for i, item in enumerate(data):
            if not isinstance(item, dict) or not item.get("name") or not item.get("sql"):
                raise ConfigError(f"reports.custom_file {path}: report #{i + 1} needs a name and sql")
            params = item.get("params") or []
            if not isinstance(params, list):
                raise ConfigError(f"reports.custom_file {path}: report {item['name']}: params must be a list")
            out.append({"name": str(item["name"]), "description": str(item.get("description") or ""),
                        "sql": str(item["sql"]), "params": [str(p) for p in params]})
        return out

    def custom(self, name: str, params: dict[str, str], period: Period | None = None) -> Report:
        """A named SELECT; ``since``/``until`` (and ``from``/``to``) default from the period."""
        self.require(Action.VIEW_REPORTS)
        definition = self._custom_definitions().get(name)
        if definition is None:
            names = ", ".join(self._custom_definitions()) or "none configured"
            raise NotFound(f"no custom report named {name!r}", f"custom reports: {names} (reports.custom in the config)")
        wanted = definition["params"]
        unknown = sorted(set(params) - set(wanted))
        if unknown:
            raise UsageError(f"report {name} has no parameter(s) {', '.join(unknown)}", f"its parameters: {', '.join(wanted) or 'none'}")
        values = dict(params)
        if period is not None:
            defaults = {"since": period.since, "until": period.until, "from": period.start.isoformat(), "to": period.end.isoformat()}
            for key, value in defaults.items():
                if key in wanted:
                    values.setdefault(key, value)
        missing = [p for p in wanted if p not in values]
        if missing:
            raise UsageError(f"report {name} needs parameter(s) {', '.join(missing)}", "give each with --param NAME=VALUE")
        columns, rows = self.reports.custom(definition["sql"], values)
        return Report(name, definition["description"] or name, columns, rows, None, {},
                      period.as_dict() if period else {})


def count_rows(rows: Iterable[tuple], every: int, tick: Any) -> Iterator[tuple]:
    """Pass rows through, calling ``tick(n)`` every ``every`` rows and at the end (progress bars)."""
    n = 0
    for n, row in enumerate(rows, 1):
        if n % every == 0:
            tick(n)
        yield row
    tick(n)


def count_chunks(chunks: Iterable[tuple[bytes, int]], tick: Any) -> Iterator[tuple[bytes, int]]:
    """The same for CSV rendered by the store, (lines, rows): ``tick(rows so far)`` after each chunk."""
    n = 0
    for chunk in chunks:
        n += chunk[1]
        yield chunk
        tick(n)
