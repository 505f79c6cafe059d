"""A fixed, hand-checkable ACD history for the wallboard and the queue/agent reports.

Rows are written the way the ACD writes them (cc/services/acd.py: answered() logs the exit and the agent's
on_call event with the waiting id at the same instant; finished() moves the agent to wrap_up; a blind
transfer is a call_control_events row). The clock stands at NOW = 2026-11-26 02:00 UTC (10:00 in
Asia/Shanghai); "today" is the local day from 2026-11-25T16:00Z.

Queues: orders (订奶; backup agents after 30 s; overflow to "service" after 60 s), service (售后).
Today, in the orders queue:
  w1  c1  entered 01:00:00, wang rung 01:00:05, answered 01:00:10 (waited 10 s), talk 180 s, wrap-up 30 s
  w2  c2  entered 01:10:00, answered by zhao (backup tier) 01:10:30 (30 s), transferred at 01:11:00,
          talk 120 s, no wrap-up (ready at 01:12:30)
  w3  c3  entered 01:20:00, abandoned 01:20:45 (45 s)
  w4  c4  entered 01:30:00, overflowed to "service" 01:31:00 (60 s)
  --  c6  blocked (queue full) 01:40:00
and in the service queue:
  w5  c4  entered 01:31:00, answered by wang 01:31:05 (5 s), talk 120 s, wrap-up 20 s
Yesterday (local): one answered call in orders at 2026-11-25T03:00Z (waited 8 s).
Waiting now in orders: w7 c7 张三 (+8613800138000) since 01:58:00 (120 s, priority 0);
  w8 c8 +8613600136000 (unknown, VIP, priority 10) since 01:59:00 (60 s) -> first in line.
Agents: wang logged in yesterday 15:00Z (carried into today), ready since 01:33:25, fresh heartbeat;
  zhao logged in 00:50Z, paused "lunch" since 01:29:00 (1860 s), heartbeat 01:00 (stale).
Orders today: #1 by wang (entered 01:02, confirmed, charged, sent to dairy), #2 by zhao (entered 01:11,
awaiting confirmation). Surveys: wang 5 and 4, zhao 2.
Health: modem m1 fresh and registered; m2 last heartbeat 01:50 (down); SMS: 1 queued, 1 sent and 1 failed
today; dairy: 1 pending; AGI server heartbeat at 01:59:00 (60 s old: down with a 30 s limit).
"""

from __future__ import annotations

import json

from cc.domain import acd

NOW = "2026-11-26T02:00:00+00:00"
TODAY = "2026-11-26"
YESTERDAY = "2026-11-25"
UNKNOWN = "+8613600136000"
ZHANG = "+8613800138000"


def t(hms: str, day: str = "2026-11-26") -> str:
    return f"{day}T{hms}.000+00:00"


QUEUES = {
    "orders": {"label": "订奶", "service": "orders",
               "overflow": {"after_seconds": 30, "backup_skills": ["service"], "max_wait_seconds": 60, "then": "queue",
                            "queue": "service"}},
    "service": {"label": "售后", "service": "service"},
}


def build(db) -> None:  # noqa: ANN001  (a sqlite_utils Database with the seeded world: users wang, li)
    c = db.conn
    now = t("02:00:00")
    c.execute("INSERT INTO users (name, display_name, role, password_hash, created_at, updated_at)"
              " VALUES ('zhao', '赵六', 'agent', 'x', ?, ?)", (now, now))
    for name, data in QUEUES.items():
        c.execute("INSERT INTO acd_queues (name, definition, loaded_at) VALUES (?, ?, ?)",
                  (name, json.dumps(acd.queue_to_dict(acd.queue_from_dict(name, data))), now))
    c.execute("INSERT INTO acd_agents (user, dial, state, reason, state_since, heartbeat_at, updated_at)"
              " VALUES ('wang', 'PJSIP/1001', 'ready', '', ?, ?, ?)", (t("01:33:25"), t("01:59:50"), now))
    c.execute("INSERT INTO acd_agents (user, dial, state, reason, state_since, heartbeat_at, updated_at)"
              " VALUES ('zhao', 'PJSIP/1002', 'paused', 'lunch', ?, ?, ?)", (t("01:29:00"), t("01:00:00"), now))
    c.executemany("INSERT INTO acd_agent_skills (user, service, level) VALUES (?, ?, ?)",
                  [("wang", "orders", 5), ("wang", "service", 3), ("zhao", "service", 5)])
    events = [  # (user, at, state, reason, waiting_id)
        ("wang", t("15:00:00", YESTERDAY), "ready", "", None),
        ("zhao", t("00:50:00"), "ready", "", None),
        ("wang", t("01:00:05"), "ringing", "", 1),
        ("wang", t("01:00:10"), "on_call", "", 1),
        ("wang", t("01:03:10"), "wrap_up", "", None),
        ("wang", t("01:03:40"), "ready", "", None),
        ("zhao", t("01:10:25"), "ringing", "", 2),
        ("zhao", t("01:10:30"), "on_call", "", 2),
        ("zhao", t("01:12:30"), "ready", "", None),
        ("zhao", t("01:29:00"), "paused", "lunch", None),
        ("wang", t("01:31:03"), "ringing", "", 5),
        ("wang", t("01:31:05"), "on_call", "", 5),
        ("wang", t("01:33:05"), "wrap_up", "", None),
        ("wang", t("01:33:25"), "ready", "", None),
    ]
    events.sort(key=lambda e: e[1])  # appended in time order, like the ACD does
    c.executemany("INSERT INTO acd_agent_events (user, at, state, reason, waiting_id, call_id) VALUES (?, ?, ?, ?, ?, '')",
                  events)
    exits = [  # (waiting_id, call_id, queue, caller, reason, agent, waited_ms, at, detail)
        (100, "y1", "orders", "", "answered", "wang", 8000, t("03:00:00", YESTERDAY), "primary"),
        (1, "c1", "orders", "", "answered", "wang", 10000, t("01:00:10"), "primary"),
        (2, "c2", "orders", "", "answered", "zhao", 30000, t("01:10:30"), "backup"),
        (3, "c3", "orders", "", "abandoned", None, 45000, t("01:20:45"), ""),
        (4, "c4", "orders", "", "overflowed", None, 60000, t("01:31:00"), "to 'service' after 60s"),
        (5, "c4", "service", "", "answered", "wang", 5000, t("01:31:05"), "primary"),
        (None, "c6", "orders", "", "blocked", None, 0, t("01:40:00"), "queue full"),
    ]
    c.executemany("INSERT INTO acd_exits (waiting_id, call_id, queue, caller, reason, agent, waited_ms, at, detail)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", exits)
    c.execute("INSERT INTO call_control_events (at, action, actor, agent, call, channel, target, outcome)"
              " VALUES (?, 'transfer', 'zhao', 'zhao', 'c2', 'PJSIP/1002-01', 'service', 'ok')", (t("01:11:00"),))
    c.execute("INSERT INTO call_control_events (at, action, actor, agent, call, channel, target, outcome)"
              " VALUES (?, 'transfer', 'wang', 'wang', 'c1', 'PJSIP/1001-01', 'x', 'failed')", (t("01:01:00"),))
    c.executemany("INSERT INTO acd_waiting (id, call_id, queue, caller, vip, priority, entered_at, status)"
                  " VALUES (?, ?, 'orders', ?, ?, ?, ?, 'waiting')",
                  [(7, "c7", ZHANG, 0, 0, t("01:58:00")), (8, "c8", UNKNOWN, 1, 10, t("01:59:00"))])
    calls = [("y1", t("02:59:52", YESTERDAY)), ("c1", t("01:00:00")), ("c2", t("01:10:00")), ("c3", t("01:20:00")),
             ("c4", t("01:30:00")), ("c6", t("01:40:00")), ("c7", t("01:58:00")), ("c8", t("01:59:00"))]
    c.executemany("INSERT INTO calls (id, started_at) VALUES (?, ?)", calls)
    c.executemany("INSERT INTO acd_surveys (call_id, agent, queue, score, at) VALUES (?, ?, ?, ?, ?)",
                  [("c1", "wang", "orders", 5, t("01:03:20")), ("c4", "wang", "service", 4, t("01:33:15")),
                   ("c2", "zhao", "orders", 2, t("01:12:40"))])
    customer = c.execute("SELECT id FROM customers WHERE phone = ?", (ZHANG,)).fetchone()[0]
    for oid, code, status, actor in ((9001, "900001", "sent_to_dairy", "wang"), (9002, "900002", "awaiting_confirmation", "zhao")):
        c.execute("INSERT INTO orders (id, code, customer_id, status, start_date, frequency, deliveries, end_date, total_fen,"
                  " created_by, created_at, updated_at) VALUES (?, ?, ?, ?, '2026-11-27', 'daily', 1, '2026-11-27', 500, ?, ?, ?)",
                  (oid, code, customer, status, actor, now, now))
    steps = [(9001, "01:02:00", None, "draft", "wang"), (9001, "01:02:01", "draft", "awaiting_confirmation", "wang"),
             (9001, "01:05:00", "awaiting_confirmation", "confirmed", "sms"), (9001, "01:05:00", "confirmed", "charged", "sms"),
             (9001, "01:06:00", "charged", "sent_to_dairy", "dairy-link"),
             (9002, "01:11:00", None, "draft", "zhao"), (9002, "01:11:01", "draft", "awaiting_confirmation", "zhao")]
    c.executemany("INSERT INTO order_events (order_id, at, actor, from_status, to_status) VALUES (?, ?, ?, ?, ?)",
                  [(o, t(hms), a, f, to) for o, hms, f, to, a in steps])
    c.executemany("INSERT INTO sms_modems (name, state, signal, registered, operator, heartbeat_at, sent_count, queue_depth,"
                  " updated_at) VALUES (?, 'connected', ?, 1, 'CMCC', ?, ?, 0, ?)",
                  [("m1", 20, t("01:59:30"), 12, now), ("m2", 8, t("01:50:00"), 3, now)])
    sms = [("queued", t("01:55:00"), None, None), ("sent", t("01:04:00"), t("01:05:00"), t("01:05:00")),
           ("failed", t("01:04:00"), None, t("01:06:00")), ("sent", t("03:00:00", YESTERDAY), t("03:00:01", YESTERDAY), None)]
    c.executemany("INSERT INTO sms_outbox (phone, text, status, next_attempt_at, created_at, sent_at, finished_at)"
                  " VALUES ('+8613800138000', 'x', ?, ?, ?, ?, ?)", [(s, a, a, b, f) for s, a, b, f in sms])
    c.execute("INSERT INTO dairy_outbox (order_id, kind, idempotency_key, payload, status, next_attempt_at, created_at)"
              " VALUES (9002, 'order', 'k-9002', '{}', 'pending', ?, ?)", (t("01:40:00"), t("01:40:00")))
    c.execute("INSERT INTO agi_servers (name, pid, started_at, heartbeat_at, active_calls, total_calls)"
              " VALUES ('127.0.0.1:4573', 4242, ?, ?, 2, 40)", (t("00:00:00"), t("01:59:00")))
