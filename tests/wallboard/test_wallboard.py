"""The wallboard snapshot on the fixed history of wallboard_history.py (numbers computed by hand there)."""

from __future__ import annotations

import dataclasses

import pytest
from wallboard_history import UNKNOWN, ZHANG

from cc.domain import wallboard as wb


def _queue(snap, name):  # noqa: ANN001, ANN202
    return next(q for q in snap.queues if q.name == name)


def test_queue_figures_today(board):
    snap = board.wallboard.snapshot()
    assert snap.day == "2026-11-26" and snap.service_level_seconds == 20
    orders = _queue(snap, "orders").today
    assert (orders.offered, orders.answered, orders.abandoned, orders.overflowed, orders.refused) == (4, 2, 1, 1, 1)
    assert orders.answered_in_sl == 1 and orders.service_level == 0.25
    assert orders.asa_seconds == 20.0  # (10 + 30) / 2
    assert orders.aht_seconds == 165.0  # (180 + 30 + 120 + 0) / 2
    assert (orders.talk_seconds, orders.wrap_seconds) == (150.0, 15.0)
    assert orders.answered_backup == 1 and orders.transferred == 1  # the failed transfer does not count
    assert orders.max_wait_seconds == 60.0 and orders.abandon_rate == 0.25
    service = _queue(snap, "service").today
    assert (service.offered, service.answered, service.service_level, service.asa_seconds, service.aht_seconds) == (1, 1, 1.0, 5.0, 140.0)
    assert snap.totals.offered == 5 and snap.totals.answered == 3 and snap.totals.service_level == 0.4
    assert snap.totals.aht_seconds == pytest.approx((210 + 120 + 140) / 3, abs=0.1)


def test_waiting_callers_in_line_order(board):
    snap = board.wallboard.snapshot()
    orders = _queue(snap, "orders")
    assert orders.label == "订奶" and orders.waiting == 2 and orders.longest_wait_seconds == 120
    first, second = orders.callers
    assert (first.number, first.vip, first.priority, first.position, first.wait_seconds, first.customer) == (UNKNOWN, True, 10, 1, 60, None)
    assert (second.number, second.position, second.wait_seconds, second.customer) == (ZHANG, 2, 120, "张三")
    assert first.overflow and second.overflow  # past the 30 s overflow_after
    assert _queue(snap, "service").waiting == 0
    assert snap.waiting_total == 2 and snap.longest_wait_seconds == 120
    # wang (orders 5) is ready with a fresh heartbeat; zhao (service only) is paused and stale
    assert (orders.agents_ready, orders.agents_serving) == (1, 1)
    assert (_queue(snap, "service").agents_ready, _queue(snap, "service").agents_serving) == (1, 1)


def test_agents(board):
    snap = board.wallboard.snapshot()
    wang, zhao = snap.agents
    assert (wang.user, wang.state, wang.seconds_in_state, wang.calls_today, wang.orders_today) == ("wang", "ready", 1595, 2, 1)
    assert wang.heartbeat_age_seconds == 10.0 and not wang.stale
    assert (zhao.display_name, zhao.state, zhao.reason, zhao.seconds_in_state, zhao.calls_today, zhao.orders_today) == (
        "赵六", "paused", "lunch", 1860, 1, 1)
    assert zhao.stale and zhao.heartbeat_age_seconds == 3600.0


def test_agent_on_a_call_shows_call_and_customer(board, clock):
    c = board.db.conn
    c.execute("UPDATE acd_waiting SET status = 'connected', agent = 'wang', tier = 'primary' WHERE id = 7")
    c.execute("UPDATE acd_agents SET state = 'on_call', waiting_id = 7, state_since = ? WHERE user = 'wang'", ("2026-11-26T01:59:30.000+00:00",))
    snap = board.wallboard.snapshot()
    wang = snap.agents[0]
    assert (wang.state, wang.call_id, wang.caller, wang.customer, wang.queue, wang.seconds_in_state) == (
        "on_call", "c7", ZHANG, "张三", "orders", 30)
    assert [c.number for c in _queue(snap, "orders").callers] == [UNKNOWN]  # talking callers are not in line


def test_charts(board):
    ch = board.wallboard.snapshot().charts
    assert len(ch.slot_labels) == 48 and ch.slot_labels[18] == "09:00"
    assert ch.calls_today[18] == 3 and ch.calls_today[19] == 4 and sum(ch.calls_today) == 7
    assert ch.calls_yesterday[21] == 1 and sum(ch.calls_yesterday) == 1
    assert ch.waiting_minutes[0] == "09:01" and ch.waiting_minutes[-1] == "10:00"
    expected = [0] * 60
    for i, n in ((9, 1), (19, 1), (29, 1), (30, 1), (57, 1), (58, 2), (59, 2)):
        expected[i] = n
    assert list(ch.waiting_last_hour) == expected
    assert ch.funnel == wb.Funnel(entered=2, confirmed=1, charged=1, sent_to_dairy=1)


def test_gateways(board):
    snap = board.wallboard.snapshot()
    m1, m2 = snap.sms.modems
    assert (m1.name, m1.signal, m1.registered, m1.stale, m1.down) == ("m1", 20, True, False, False)
    assert (m2.name, m2.heartbeat_age_seconds, m2.stale, m2.down) == ("m2", 600.0, True, True)
    assert (snap.sms.queued, snap.sms.sent_today, snap.sms.failed_today, snap.sms.oldest_queued_seconds) == (1, 1, 1, 300)
    assert (snap.dairy.backlog, snap.dairy.failed, snap.dairy.oldest_pending_seconds) == (1, 0, 1200)
    assert (snap.agi.known, snap.agi.up, snap.agi.heartbeat_age_seconds, snap.agi.active_calls) == (True, False, 60.0, 2)


def test_alerts(board):
    alerts = board.wallboard.snapshot().alerts
    kinds = [(a.kind, a.severity, a.subject) for a in alerts]
    assert kinds == [
        ("service_level", "critical", "orders"),  # 25 % < 60 % (3/4 of the 80 % target)
        ("modem_down", "critical", "m2"),
        ("agi_down", "critical", "127.0.0.1:4573"),
        ("long_wait", "warning", ZHANG),  # 120 s > 100 s
        ("agent_stuck", "warning", "zhao"),  # paused 1860 s > 1800 s
        ("agent_stale", "warning", "zhao"),
    ]
    assert all(a.message for a in alerts)


def test_snapshot_is_immutable_and_empty_db_is_fine(world):
    snap = world.wallboard.snapshot()
    assert snap.queues == () and snap.agents == () and snap.alerts == () and snap.totals.service_level is None
    assert not snap.agi.known and sum(snap.charts.waiting_last_hour) == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.waiting_total = 3  # type: ignore[misc]


def test_an_agent_may_not_see_the_wallboard(board, as_user):
    from cc.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        as_user("wang").wallboard.snapshot()
    assert as_user("li").wallboard.snapshot().waiting_total == 2
