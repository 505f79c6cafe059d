"""The pure parts: figures from aggregate rows, the waiting series, the half-hour slots, the alert rules."""

from __future__ import annotations

import math

from cc.domain import wallboard as wb


def test_queue_figures_of_nothing_and_of_a_row():
    empty = wb.queue_figures({})
    assert empty.offered == 0 and empty.service_level is None and empty.asa_seconds is None and empty.aht_seconds is None
    f = wb.queue_figures({"answered": 3, "abandoned": 1, "timeout": 1, "refused": 2, "answered_in_sl": 2,
                          "wait_answered_ms": 45000, "handled": 2, "talk_ms": 200000, "wrap_ms": 20000, "max_wait_ms": 90000})
    assert (f.offered, f.refused, f.service_level, f.asa_seconds, f.aht_seconds, f.talk_seconds, f.wrap_seconds) == (
        5, 2, 0.4, 15.0, 110.0, 100.0, 10.0)
    assert f.abandon_rate == 0.2 and f.max_wait_seconds == 90.0


def test_add_rows_sums_and_keeps_the_longest_wait():
    total = wb.add_rows([{"answered": 1, "max_wait_ms": 5000, "talk_ms": 1000}, {"answered": 2, "max_wait_ms": None},
                         {"abandoned": 1, "max_wait_ms": 9000}])
    assert (total["answered"], total["abandoned"], total["talk_ms"], total["max_wait_ms"]) == (3, 1, 1000, 9000)
    assert wb.add_rows([])["max_wait_ms"] is None


def test_waiting_series_counts_half_open_intervals():
    # samples at 0, 60, 120, 180
    assert wb.waiting_series([(0, 60)], 0, 60, 4) == (1, 0, 0, 0)  # left exactly at 60: not waiting then
    assert wb.waiting_series([(-30, 61)], 0, 60, 4) == (1, 1, 0, 0)
    assert wb.waiting_series([(61, math.inf)], 0, 60, 4) == (0, 0, 1, 1)
    assert wb.waiting_series([(-100, -1), (500, 600)], 0, 60, 4) == (0, 0, 0, 0)
    assert wb.waiting_series([], 0, 60, 0) == ()


def test_slots():
    labels = wb.half_hour_slots()
    assert len(labels) == 48 and labels[0] == "00:00" and labels[1] == "00:30" and labels[-1] == "23:30"
    counts = wb.slot_counts([(0, 2), (47, 1), (47, 1), (48, 9)])
    assert counts[0] == 2 and counts[47] == 2 and sum(counts) == 4


def _queue(offered, sl, callers=()):  # noqa: ANN001, ANN202
    figures = wb.QueueFigures(offered=offered, service_level=sl)
    return wb.QueueBoard("q", "q", len(callers), 0, 0, tuple(callers), 0, 0, figures)


def _caller(wait, status="waiting"):  # noqa: ANN001, ANN202
    return wb.WaitingCaller(1, "q", "c1", "+8613800138000", None, None, False, 0, 1, wait, status, None, False, None)


def _agent(state, seconds, stale=False):  # noqa: ANN001, ANN202
    return wb.AgentBoard("a", "", "", state, "", seconds, None, None, None, None, 0, 0, 1.0, stale)


def test_alert_rules_and_thresholds():
    limits = wb.Thresholds(service_level_target=0.8, service_level_min_offered=5, caller_wait_seconds=60)
    down = wb.AgiHealth(known=True, up=False, heartbeat_age_seconds=99.0, name="agi")
    unknown = wb.AgiHealth(known=False, up=False, heartbeat_age_seconds=None)
    assert wb.alerts([_queue(4, 0.0)], [], [], unknown, limits) == ()  # too few calls to judge
    (a,) = wb.alerts([_queue(5, 0.7)], [], [], unknown, limits)
    assert (a.kind, a.severity, a.value, a.limit) == ("service_level", "warning", 0.7, 0.8)
    assert wb.alerts([_queue(5, 0.5)], [], [], unknown, limits)[0].severity == "critical"  # below 3/4 of the target
    assert wb.alerts([_queue(5, 0.8)], [], [], unknown, limits) == ()
    waits = wb.alerts([_queue(0, None, [_caller(61), _caller(121), _caller(500, "callback"), _caller(60)])], [], [], unknown, limits)
    assert [(x.kind, x.severity, x.value) for x in waits] == [("long_wait", "critical", 121)]  # one per queue: the longest
    assert "2 callers over 60s" in waits[0].message
    (one,) = wb.alerts([_queue(0, None, [_caller(61)])], [], [], unknown, limits)
    assert one.severity == "warning" and "callers over" not in one.message
    (agi,) = wb.alerts([], [], [], down, limits)
    assert agi.kind == "agi_down" and agi.severity == "critical"
    stuck = wb.alerts([], [_agent("wrap_up", 301), _agent("wrap_up", 300), _agent("ready", 99999),
                           _agent("offline", 99999, stale=True), _agent("paused", 10, stale=True)], [], unknown, limits)
    assert [(x.kind, x.value) for x in stuck] == [("agent_stuck", 301), ("agent_stale", 1.0)]
    modem = wb.ModemHealth("m1", "connected", 10, False, None, 3.0, False, True, "", 0, 0)
    assert [x.kind for x in wb.alerts([], [], [modem], unknown, limits)] == ["modem_down"]
