"""The wallboard: one immutable snapshot of the centre (queues, waiting callers, agents, today's figures,
charts, SMS/dairy/AGI health, alerts) for the supervisor's live view, built from the live tables and
range scans over today's history (cc/store/wallboard.py).

Today's queue figures come from the same query and the same pure function (``queue_figures``) as
``cc report queues``: the wallboard is the report for [start of today, now).

A refresh only reads; it runs outside any transaction on its own connection (each statement sees a
consistent state; the snapshot as a whole may straddle a write, which a once-a-second view can live with).
"""

from __future__ import annotations

import json
import math
import time as _time
from datetime import datetime, time, timedelta
from typing import Any

from cc.domain import acd
from cc.domain import wallboard as wb
from cc.domain.timestamps import iso, parse_iso
from cc.domain.users import Action
from cc.services.base import ServiceBase

OFFLINE = "offline"


def _stamp(text: str) -> float:
    """POSIX seconds of a stored timestamp."""
    return parse_iso(text).timestamp()


def thresholds(config: Any) -> wb.Thresholds:
    w = config.wallboard
    return wb.Thresholds(
        service_level_target=w.service_level_target, service_level_min_offered=w.service_level_min_offered,
        caller_wait_seconds=w.caller_wait_alert_seconds,
        # 0: the rule `cc sms status` uses for a live modem (SmsService.status)
        modem_stale_seconds=w.modem_stale_seconds or int(max(3 * config.sms.heartbeat_seconds, 90)),
        agi_stale_seconds=w.agi_stale_seconds,
        stuck_seconds={"ringing": w.stuck_ringing_seconds, "on_call": w.stuck_on_call_seconds,
                       "wrap_up": w.stuck_wrap_up_seconds, "paused": w.stuck_paused_seconds,
                       "away": w.stuck_away_seconds},
    )


class WallboardService(ServiceBase):
    def __init__(self, *args: Any, wallboard: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.board = wallboard  # cc.store.wallboard.WallboardStore
        self._queue_cache: tuple[tuple, dict[str, acd.Queue]] = ((), {})
        self._checked = False
        # Today's settled hours: (day and settings, end of the settled part (UTC ISO), their aggregate rows).
        self._settled: tuple[tuple, str, list[dict]] | None = None
        self._yesterday: tuple[str, list] | None = None  # (yesterday's start, its calls per half hour)

    # -- helpers ---------------------------------------------------------------------------------------

    def _day_bounds(self, now: datetime) -> tuple[str, str, str, int]:
        """(start of yesterday, start of today, start of tomorrow) as UTC ISO, and the zone's offset (min)."""
        local = now.astimezone(self._zone)
        today = local.date()

        def start(day: Any) -> datetime:
            return datetime.combine(day, time(0), tzinfo=self._zone)

        offset = local.utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset else 0
        return (iso(start(today - timedelta(days=1))), iso(start(today)), iso(start(today + timedelta(days=1))), minutes)

    def _queues(self) -> dict[str, acd.Queue]:
        rows = self.board.queue_definitions()
        key = tuple((r["name"], r["definition"]) for r in rows)
        if key != self._queue_cache[0]:
            parsed = {}
            for r in rows:
                try:
                    parsed[r["name"]] = acd.queue_from_dict(r["name"], json.loads(r["definition"]))
                except (ValueError, acd.AcdRuleError):
                    continue  # a definition the ACD itself would refuse: shown by name only
            self._queue_cache = (key, parsed)
        return self._queue_cache[1]

    def _today_rows(self, today: str, tomorrow: str, now: datetime, sl_seconds: int, offset: int) -> list[dict]:
        """Today's aggregate rows (per local hour and queue), for ``add_rows`` per queue.

        History is append-only, so an hour that ended (10 minutes ago or more) and has no call still in talk
        or wrap-up (``open_calls``) never changes: its rows are kept and later refreshes query only from the
        first hour that is not settled. The sums are the same as one query over the whole day (the report's)."""
        key = (today, sl_seconds, offset)
        if self._settled is None or self._settled[0] != key:
            self._settled = (key, today, [])
        _, upto, kept = self._settled
        fresh = self.board.queue_rows(upto, tomorrow, iso(now), sl_seconds, interval="1h", offset_minutes=offset)
        limit = now - timedelta(minutes=10)
        buckets: dict[str, list[dict]] = {}
        for r in fresh:
            buckets.setdefault(r["bucket"], []).append(r)
        settled = []
        for bucket in sorted(buckets):
            end = datetime.strptime(bucket, "%Y-%m-%d %H:%M").replace(tzinfo=self._zone) + timedelta(hours=1)
            if end > limit or any(r["open_calls"] for r in buckets[bucket]):
                break
            settled.append(bucket)
            upto = iso(end)
        if settled:
            kept = kept + [r for b in settled for r in buckets.pop(b)]
            self._settled = (key, upto, kept)
        return kept + [r for rows in buckets.values() for r in rows]

    # -- the snapshot ----------------------------------------------------------------------------------

    def snapshot(self) -> wb.Wallboard:
        if not self._checked:
            self.require(Action.VIEW_REPORTS)
            self._checked = True
        started = _time.perf_counter()
        now = self.clock.now()
        now_s = now.timestamp()
        now_iso = iso(now)
        yesterday, today, tomorrow, offset = self._day_bounds(now)
        cfg = self.config
        sl_seconds = cfg.reports.service_level_seconds
        stale_after = cfg.acd.heartbeat_stale_seconds
        limits = thresholds(cfg)

        queues = self._queues()
        waiting = self.board.waiting_callers()
        agent_rows = self.board.agents()
        skills: dict[str, dict[str, int]] = {}
        for user, service, level in self.board.skills():
            skills.setdefault(user, {})[service] = level
        figures_rows = self._today_rows(today, tomorrow, now, sl_seconds, offset)
        counts = self.board.agent_counts(today, tomorrow)
        slots_today = self.board.calls_per_slot(today, tomorrow, offset)
        if self._yesterday is None or self._yesterday[0] != yesterday:  # a past day's calls do not change
            self._yesterday = (yesterday, self.board.calls_per_slot(yesterday, today, offset))
        slots_yesterday = self._yesterday[1]
        hour_ago = now - timedelta(minutes=59)
        waits = self.board.waits_since(iso(hour_ago))
        funnel = self.board.funnel(today, tomorrow)
        modem_rows = self.board.modems()
        sms = self.board.sms_counts(today)
        dairy = self.board.dairy_counts()
        agi_rows = self.board.agi_servers()
        query_ms = (_time.perf_counter() - started) * 1000

        # agents
        domain_agents = []
        agents = []
        for r in agent_rows:
            hb = r["heartbeat_at"]
            hb_age = round(now_s - parse_iso(hb).timestamp(), 1) if hb else None
            logged_in = r["state"] != OFFLINE
            stale = logged_in and stale_after > 0 and (hb_age is None or hb_age > stale_after)
            mine = counts.get(r["user"], {})
            agents.append(wb.AgentBoard(
                user=r["user"], display_name=r["display_name"], group=r["grp"], state=r["state"], reason=r["reason"],
                seconds_in_state=max(0, int(now_s - parse_iso(r["state_since"]).timestamp())),
                call_id=r["call_id"], caller=r["caller"], customer=r["customer"], queue=r["queue"],
                calls_today=int(mine.get("calls", 0)), orders_today=int(mine.get("orders", 0)),
                heartbeat_age_seconds=hb_age, stale=bool(stale), waiting_id=r["waiting_id"],
            ))
            domain_agents.append(acd.Agent(user=r["user"], state=r["state"], skills=skills.get(r["user"], {}),
                                           group=r["grp"] or "", heartbeat=now_s - hb_age if hb_age is not None else None,
                                           idle_since=0.0))

        # queues and their callers
        by_queue: dict[str, list[dict]] = {}
        entered: dict[int, float] = {}  # waiting id -> POSIX seconds (parsed once)
        for r in waiting:
            by_queue.setdefault(r["queue"], []).append(r)
            entered[r["id"]] = _stamp(r["entered_at"])
        grouped: dict[str, list[dict]] = {}
        for r in figures_rows:
            grouped.setdefault(r["queue"], []).append(r)
        per_queue_rows = {q: wb.add_rows(rows) for q, rows in grouped.items()}
        names = list(queues) + sorted((set(by_queue) | set(per_queue_rows)) - set(queues))
        boards = []
        for name in names:
            queue = queues.get(name)
            rows = by_queue.get(name, [])
            calls = {r["id"]: acd.WaitingCall(r["id"], name, entered[r["id"]], r["priority"]) for r in rows}
            line = [c for c in acd.order_line(calls[r["id"]] for r in rows if r["status"] in ("waiting", "callback"))]
            place = {c.id: i + 1 for i, c in enumerate(line)}
            ordered = sorted(rows, key=lambda r: (r["status"] != "ringing", place.get(r["id"], 0)))
            callers = []
            for r in ordered:
                wait = max(0, int(now_s - calls[r["id"]].entered))
                callers.append(wb.WaitingCaller(
                    waiting_id=r["id"], queue=name, call_id=r["call_id"], number=r["caller"], customer=r["customer"],
                    customer_id=r["customer_id"], vip=bool(r["vip"]), priority=r["priority"], position=place.get(r["id"]),
                    wait_seconds=wait, status=r["status"], tier=r["tier"],
                    overflow=bool(queue and queue.overflow_after and wait >= queue.overflow_after),
                    agent=r["agent"], attempts=r["attempts"],
                ))
            in_line = [c for c in callers if c.status != "callback"]
            ready = serving = 0
            if queue is not None:
                for a in domain_agents:
                    if acd.could_serve(a, queue) and acd.logged_in(a, now_s, stale_after):
                        serving += 1
                        ready += acd.available(a, now_s, stale_after)
            boards.append(wb.QueueBoard(
                name=name, label=(queue.label if queue else "") or name, waiting=len(in_line),
                longest_wait_seconds=max((c.wait_seconds for c in in_line), default=0),
                callbacks=len(callers) - len(in_line), callers=tuple(callers), agents_ready=ready,
                agents_serving=serving, today=wb.queue_figures(per_queue_rows.get(name, {})),
            ))

        # charts
        start_s = hour_ago.timestamp()
        intervals = [(left - ms / 1000, left) for at, ms in waits for left in (_stamp(at),)]
        intervals += [(entered[r["id"]], math.inf) for r in waiting if r["status"] in ("waiting", "ringing")]
        minutes = tuple((hour_ago + timedelta(minutes=i)).astimezone(self._zone).strftime("%H:%M") for i in range(60))
        charts = wb.Charts(
            slot_labels=wb.half_hour_slots(), calls_today=wb.slot_counts(slots_today),
            calls_yesterday=wb.slot_counts(slots_yesterday), waiting_minutes=minutes,
            waiting_last_hour=wb.waiting_series(intervals, start_s, 60.0, 60),
            funnel=wb.Funnel(**{k: int(funnel.get(k) or 0) for k in ("entered", "confirmed", "charged", "sent_to_dairy")}),
        )

        # gateways
        modems = tuple(self._modem(r, now_s, limits.modem_stale_seconds) for r in modem_rows)
        oldest = sms["oldest_queued"]
        sms_health = wb.SmsHealth(
            modems=modems, queued=int(sms["queued"]), sent_today=int(sms["sent"]), failed_today=int(sms["failed"]),
            oldest_queued_seconds=max(0, int(now_s - parse_iso(oldest).timestamp())) if oldest else None,
        )
        pending = dairy["oldest_pending"]
        dairy_health = wb.DairyHealth(
            backlog=int(dairy["backlog"]), failed=int(dairy["failed"]),
            oldest_pending_seconds=max(0, int(now_s - parse_iso(pending).timestamp())) if pending else None,
        )
        agi = self._agi(agi_rows, now_s, limits.agi_stale_seconds)

        queues_t = tuple(boards)
        agents_t = tuple(agents)
        in_line_all = [c for q in queues_t for c in q.callers if c.status != "callback"]
        return wb.Wallboard(
            at=now_iso, day=now.astimezone(self._zone).date().isoformat(), service_level_seconds=sl_seconds,
            service_level_target=limits.service_level_target, queues=queues_t, agents=agents_t,
            totals=wb.queue_figures(wb.add_rows(figures_rows)), waiting_total=len(in_line_all),
            longest_wait_seconds=max((c.wait_seconds for c in in_line_all), default=0), charts=charts,
            sms=sms_health, dairy=dairy_health, agi=agi,
            alerts=wb.alerts(queues_t, agents_t, modems, agi, limits), query_ms=round(query_ms, 2),
        )

    @staticmethod
    def _modem(r: dict, now_s: float, stale_after: float) -> wb.ModemHealth:
        hb = r.get("heartbeat_at")
        age = round(now_s - parse_iso(hb).timestamp(), 1) if hb else None
        stale = age is None or age > stale_after
        registered = None if r.get("registered") is None else bool(r["registered"])
        down = stale or r["state"] in ("stopped", "reconnecting") or registered is False
        return wb.ModemHealth(
            name=r["name"], state=r["state"], signal=r.get("signal"), registered=registered, operator=r.get("operator"),
            heartbeat_age_seconds=age, stale=stale, down=down, last_error=r.get("last_error") or "",
            sent_count=int(r.get("sent_count") or 0), queue_depth=int(r.get("queue_depth") or 0),
        )

    @staticmethod
    def _agi(rows: list[dict], now_s: float, stale_after: float) -> wb.AgiHealth:
        if not rows:
            return wb.AgiHealth(known=False, up=False, heartbeat_age_seconds=None)
        r = rows[0]  # the freshest
        age = round(now_s - parse_iso(r["heartbeat_at"]).timestamp(), 1)
        up = r["stopped_at"] is None and age <= stale_after
        return wb.AgiHealth(known=True, up=up, heartbeat_age_seconds=age, name=r["name"], pid=r["pid"],
                            active_calls=r["active_calls"])
