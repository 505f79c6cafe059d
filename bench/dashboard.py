"""The supervisor's dashboard at size (issue 7): 200 agents, 500 waiting callers and a year of call history.

The database is generated inside SQLite (recursive CTEs: a Python loop over millions of rows would take
minutes): per day 2,500 calls through three queues (answered 80 %, abandoned, overflowed, blocked, a few
transferred), each answered call with its agent's ringing/on_call/wrap_up/ready events, 600 orders with
their history and confirmation SMS. Live: 200 agents in all states, 500 callers waiting, 4 modems, the AGI
server's heartbeat. The clock stands at 14:00 local on the last day.

Figures (each measure is a function in ``MEASURES`` taking the shared ``Setup``; the supervisor TUI's
frame-time figure is added there):
1. ``dashboard.snapshot_query_ms`` p50/p95/max over 50 refreshes: the SQL part of one refresh
   (``Wallboard.query_ms``). Target < 50 ms. Also the whole snapshot (queries + assembling the dataclasses).
2. Memory: RSS and tracemalloc'd Python memory before and after an hour of refreshes at one per second
   (3,600 refreshes, the clock moving one second each; ``DASHBOARD_REFRESHES`` to change). Growth is
   reported as measured, not extrapolated, unless the count is changed.
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench._util import figure, percentile, rss_kib

DAYS = 365
CALLS_PER_DAY = 2_500
ORDERS_PER_DAY = 600
AGENTS = 200
WAITING = 500
QUEUES = ("orders", "changes", "complaints")
NOW = datetime(2026, 11, 26, 6, 0, tzinfo=timezone.utc)  # 14:00 in Asia/Shanghai
REFRESHES = 50


@dataclass
class Setup:
    db_path: Path
    now: datetime
    build_seconds: float
    rows: dict


def _ts(expr: str) -> str:
    """SQL for the stored timestamp form of POSIX seconds ``expr``."""
    return f"strftime('%Y-%m-%dT%H:%M:%f', {expr}, 'unixepoch') || '+00:00'"


def build(folder: Path) -> Setup:
    from cc.store.db import open_db

    started = time.perf_counter()
    path = folder / "dashboard.db"
    db = open_db(path)
    c = db.conn
    c.execute("PRAGMA foreign_keys=OFF")  # generated history references orders that are not all generated
    c.execute("PRAGMA cache_size=-262144")
    now_s = int(NOW.timestamp())
    first = now_s - DAYS * 86400
    calls = DAYS * CALLS_PER_DAY * (now_s - first) // (DAYS * 86400)
    step = 86400 / CALLS_PER_DAY
    stamp = "'2026-01-01T00:00:00.000+00:00'"
    c.execute("BEGIN")
    # Indexes of the big tables are built once after the load (faster than millions of index inserts).
    big = ("calls", "acd_exits", "acd_agent_events", "call_control_events", "order_events", "sms_outbox")
    indexes = c.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN"
                        f" ({', '.join('?' * len(big))})", big).fetchall()
    for name, _ in indexes:
        c.execute(f'DROP INDEX "{name}"')
    c.executemany("INSERT INTO users (name, display_name, role, password_hash, created_at, updated_at)"
                  f" VALUES (?, ?, 'agent', 'x', {stamp}, {stamp})", [(f"a{i:03d}", f"坐席{i}") for i in range(AGENTS)])
    c.executemany("INSERT INTO acd_queues (name, definition, loaded_at) VALUES (?, ?, ?)",
                  [(q, f'{{"service": "{q}", "label": "{q}", "overflow": {{"after_seconds": 60, "backup_skills": ["*"]}}}}', NOW.isoformat())
                   for q in QUEUES])
    c.execute(f"""INSERT INTO customers (phone, name, created_at, updated_at)
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 19999)
        SELECT printf('+86139%08d', i), '客户' || i, {stamp}, {stamp} FROM n""")
    # A year of calls: call i starts at first + i * step, waits i % 60 s in queue i % 3.
    c.execute(f"""INSERT INTO calls (id, caller, started_at, answered_at, ended_at, result)
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {calls - 1})
        SELECT 'c' || i, printf('+86139%08d', i % 100000), {_ts(f'{first} + i * {step}')}, {_ts(f'{first} + i * {step} + 5')},
               {_ts(f'{first} + i * {step} + 300')}, 'queued' FROM n""")
    reason = ("CASE WHEN i % 40 = 3 THEN 'blocked' WHEN i % 10 = 0 THEN 'abandoned' WHEN i % 20 = 1 THEN 'overflowed'"
              " ELSE 'answered' END")
    queue = "CASE i % 3 WHEN 0 THEN 'orders' WHEN 1 THEN 'changes' ELSE 'complaints' END"
    agent = "printf('a%03d', i % 200)"
    at = f"{first} + i * {step} + i % 60"
    c.execute(f"""INSERT INTO acd_exits (waiting_id, call_id, queue, caller, reason, agent, waited_ms, at, detail)
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {calls - 1}),
        x AS (SELECT i, {reason} AS reason FROM n)
        SELECT CASE WHEN reason = 'blocked' THEN NULL ELSE i END, 'c' || i, {queue}, printf('+86139%08d', i % 100000),
               reason, CASE WHEN reason = 'answered' THEN {agent} END,
               CASE WHEN reason = 'blocked' THEN 0 ELSE (i % 60) * 1000 END, {_ts(at)},
               CASE WHEN reason = 'answered' THEN CASE WHEN i % 7 = 0 THEN 'backup' ELSE 'primary' END ELSE '' END
        FROM x""")
    # Each answered call: ringing 3 s before, on_call (with the waiting id), wrap_up after 120-299 s, ready 20 s later.
    c.execute(f"""INSERT INTO acd_agent_events (user, at, state, reason, waiting_id, call_id)
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {calls - 1}),
        k(j, state, offset) AS (VALUES (0, 'ringing', -3), (1, 'on_call', 0), (2, 'wrap_up', 1), (3, 'ready', 2))
        SELECT {agent}, {_ts(f"{at} + CASE k.j WHEN 0 THEN -3 WHEN 1 THEN 0 WHEN 2 THEN 120 + i % 180 ELSE 140 + i % 180 END")},
               k.state, '', CASE WHEN k.j < 2 THEN i END, 'c' || i
        FROM n JOIN k WHERE {reason} = 'answered' ORDER BY i, k.j""")
    c.execute(f"""INSERT INTO call_control_events (at, action, actor, agent, call, channel, target, outcome)
        WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 50 FROM n WHERE i < {calls - 51})
        SELECT {_ts(f'{at} + 30')}, 'transfer', {agent}, {agent}, 'c' || i, '', 'expert', 'ok' FROM n""")
    orders = DAYS * ORDERS_PER_DAY
    ostep = 86400 / ORDERS_PER_DAY
    c.execute(f"""INSERT INTO order_events (order_id, at, actor, from_status, to_status)
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {orders - 1}),
        k(j, f, t) AS (VALUES (0, NULL, 'draft'), (1, 'draft', 'awaiting_confirmation'), (2, 'awaiting_confirmation', 'confirmed'),
                              (3, 'confirmed', 'charged'), (4, 'charged', 'sent_to_dairy'))
        SELECT i + 1, {_ts(f'{first} + i * {ostep} + k.j * 60')}, printf('a%03d', i % 200), k.f, k.t
        FROM n JOIN k WHERE k.j < 2 + (i % 4) ORDER BY i, k.j""")
    c.execute(f"""INSERT INTO sms_outbox (phone, text, kind, status, next_attempt_at, created_at, sent_at, finished_at, order_id)
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {orders - 1})
        SELECT printf('+86139%08d', i % 100000), '确认', 'confirmation', CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'delivered' END,
               {_ts(f'{first} + i * {ostep}')}, {_ts(f'{first} + i * {ostep}')},
               CASE WHEN i % 50 THEN {_ts(f'{first} + i * {ostep} + 3')} END, {_ts(f'{first} + i * {ostep} + 30')}, i + 1
        FROM n""")
    for _, sql in indexes:
        c.execute(sql)
    # Live: agents in every state, their skills, 500 callers waiting, modems, the AGI server.
    states = ("ready", "on_call", "wrap_up", "paused", "ringing", "away", "offline")
    now_iso = NOW.isoformat(timespec="milliseconds")
    agents = []
    for i in range(AGENTS):
        state = states[i % len(states)]
        since = (NOW - timedelta(seconds=30 + i * 7)).isoformat(timespec="milliseconds")
        heartbeat = (NOW - timedelta(seconds=2 + (i % 5) * 30)).isoformat(timespec="milliseconds")
        agents.append((f"a{i:03d}", f"PJSIP/{1000 + i}", state, "lunch" if state == "paused" else "", since, heartbeat, now_iso))
    c.executemany("INSERT INTO acd_agents (user, dial, state, reason, state_since, heartbeat_at, updated_at)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?)", agents)
    c.executemany("INSERT INTO acd_agent_skills (user, service, level) VALUES (?, ?, ?)",
                  [(f"a{i:03d}", q, 1 + (i + j) % 10) for i in range(AGENTS) for j, q in enumerate(QUEUES) if (i + j) % 3])
    waiting = [(f"live{i}", QUEUES[i % 3], f"+86139{i:08d}", int(i % 25 == 0), 10 if i % 25 == 0 else 0,
                (NOW - timedelta(seconds=i)).isoformat(timespec="milliseconds"), "waiting") for i in range(WAITING)]
    waiting += [(f"talk{i}", QUEUES[i % 3], f"+86139{90000 + i:08d}", 0, 0,
                 (NOW - timedelta(seconds=200 + i)).isoformat(timespec="milliseconds"), "connected") for i in range(AGENTS // 7)]
    c.executemany("INSERT INTO acd_waiting (call_id, queue, caller, vip, priority, entered_at, status) VALUES (?, ?, ?, ?, ?, ?, ?)",
                  waiting)
    c.execute("UPDATE acd_agents SET waiting_id = (SELECT w.id FROM acd_waiting w WHERE w.call_id = 'talk' ||"
              " (CAST(substr(acd_agents.user, 2) AS INTEGER) / 7)) WHERE state = 'on_call'")
    c.executemany("INSERT INTO sms_modems (name, state, signal, registered, heartbeat_at, updated_at) VALUES (?, 'connected', 18, 1, ?, ?)",
                  [(f"m{i}", now_iso, now_iso) for i in range(4)])
    c.execute("INSERT INTO agi_servers (name, pid, started_at, heartbeat_at) VALUES ('127.0.0.1:4573', 1, ?, ?)", (now_iso, now_iso))
    c.execute("COMMIT")
    c.execute("ANALYZE")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = {t: c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in ("calls", "acd_exits", "acd_agent_events", "order_events", "sms_outbox", "acd_waiting", "acd_agents")}
    c.close()
    return Setup(path, NOW, time.perf_counter() - started, counts)


def _services(setup: Setup, clock=None):  # noqa: ANN001, ANN202
    from cc.clock import FrozenClock
    from cc.config import Config
    from cc.services.container import build_services

    return build_services(Config(db=str(setup.db_path)), clock=clock or FrozenClock(setup.now))


def snapshot_time(setup: Setup) -> list[dict]:
    svc = _services(setup)
    board = svc.wallboard
    board.snapshot()  # warm: page cache, queue definitions
    query, total = [], []
    for _ in range(REFRESHES):
        started = time.perf_counter()
        snap = board.snapshot()
        total.append((time.perf_counter() - started) * 1000)
        query.append(snap.query_ms)
    assert snap.waiting_total == WAITING and len(snap.agents) == AGENTS
    # The machine is shared (2 cores): the load average says how much of a figure is waiting for a core.
    out = [figure("dashboard.load_average_1min", os.getloadavg()[0], "runnable processes")]
    for name, samples in (("snapshot_query_ms", query), ("snapshot_total_ms", total)):
        for pct, label in ((50, "p50"), (95, "p95"), (100, "max")):
            target = 50 if name == "snapshot_query_ms" else None
            out.append(figure(f"dashboard.{name}_{label}", percentile(samples, pct), "ms", target=target, higher_is_better=False))
    return out


def memory_after_an_hour(setup: Setup) -> list[dict]:
    """RSS before and after an hour of refreshes (one per second of a frozen clock moved one second each);
    then the Python heap (tracemalloc) over a shorter run, since tracing slows every allocation."""
    from cc.clock import FrozenClock

    refreshes = int(os.environ.get("DASHBOARD_REFRESHES", "3600"))
    traced = min(refreshes, 300)
    clock = FrozenClock(setup.now)
    board = _services(setup, clock).wallboard
    for _ in range(20):
        board.snapshot()
    gc.collect()
    rss_before = rss_kib()
    started = time.perf_counter()
    for _ in range(refreshes):
        clock.advance(1)
        board.snapshot()
    seconds = time.perf_counter() - started
    gc.collect()
    rss_after = rss_kib()
    tracemalloc.start()
    py_before = tracemalloc.get_traced_memory()[0]
    for _ in range(traced):
        clock.advance(1)
        board.snapshot()
    gc.collect()
    py_after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return [
        figure("dashboard.refreshes", refreshes, "refreshes (1 s of clock each)"),
        figure("dashboard.refresh_mean_ms", seconds * 1000 / max(1, refreshes), "ms (whole snapshot, during the hour)"),
        figure("dashboard.rss_before_mib", rss_before / 1024, "MiB"),
        figure("dashboard.rss_after_hour_mib", rss_after / 1024, "MiB"),
        figure("dashboard.rss_growth_mib", (rss_after - rss_before) / 1024, "MiB", target=16, higher_is_better=False),
        figure("dashboard.python_heap_growth_kib", (py_after - py_before) / 1024, f"KiB over {traced} more refreshes (tracemalloc)"),
    ]


# The measures run on one generated database, in order. Add yours here (e.g. the supervisor TUI's frame time).
def _frame_time(setup: Setup) -> list[dict]:
    from bench.dashboard_frames import frame_time  # the supervisor TUI's frames

    return frame_time(setup)


MEASURES: list[Callable[[Setup], list[dict]]] = [snapshot_time, memory_after_an_hour, _frame_time]


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        setup = build(Path(tmp))
        out = [figure("dashboard.build_s", setup.build_seconds, "s")]
        out += [figure(f"dashboard.rows_{k}", v, "rows") for k, v in setup.rows.items()]
        for measure in MEASURES:
            out += measure(setup)
        return out
