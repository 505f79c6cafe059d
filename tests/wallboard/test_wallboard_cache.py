"""Today's settled hours are kept between refreshes (history is append-only) and the figures stay equal to
one query over the whole day (the queue report's)."""

from __future__ import annotations

from datetime import date

from wallboard_history import t


def _report(svc):  # noqa: ANN001, ANN202
    day = date.fromisoformat(svc.wallboard.snapshot().day)
    report = svc.reports.queues(svc.reports.period(day, day))
    return {r[1]: r for r in report.rows}


def _same(svc):  # noqa: ANN001
    snap = svc.wallboard.snapshot()
    rows = _report(svc)
    assert {q.name for q in snap.queues if q.today.offered or q.today.refused} == set(rows)
    for q in snap.queues:
        if q.name in rows:
            r = rows[q.name]
            f = q.today
            assert (f.offered, f.answered, f.abandoned, f.overflowed, f.refused, f.service_level, f.asa_seconds,
                    f.aht_seconds, f.transferred) == (r[2], r[3], r[4], r[5], r[7], r[8], r[9], r[10], r[15])
    return snap


def test_settled_hours_are_kept_and_new_calls_still_count(board, clock):
    svc = board
    before = _same(svc)
    assert svc.wallboard._settled[1] == "2026-11-25T16:00:00.000+00:00"  # 09:00-10:00 local has just ended: not kept yet
    clock.advance(3600)
    _same(svc)
    assert svc.wallboard._settled[1] == "2026-11-26T02:00:00.000+00:00"  # 09:00-10:00 is now settled
    kept = list(svc.wallboard._settled[2])
    c = svc.db.conn
    c.execute("INSERT INTO acd_exits (waiting_id, call_id, queue, reason, agent, waited_ms, at, detail)"
              " VALUES (20, 'c20', 'orders', 'answered', 'wang', 3000, ?, 'primary')", (t("02:55:00"),))
    c.execute("INSERT INTO acd_agent_events (user, at, state, waiting_id) VALUES ('wang', ?, 'on_call', 20)", (t("02:55:00"),))
    after = _same(svc)
    orders = next(q for q in after.queues if q.name == "orders").today
    assert orders.answered == next(q for q in before.queues if q.name == "orders").today.answered + 1
    assert svc.wallboard._settled[2] == kept  # the new call's hour is open: queried afresh each time


def test_an_hour_with_a_call_still_in_talk_is_not_kept(board, clock):
    c = board.db.conn
    c.execute("INSERT INTO acd_exits (waiting_id, call_id, queue, reason, agent, waited_ms, at, detail)"
              " VALUES (21, 'c21', 'service', 'answered', 'zhao', 3000, ?, 'primary')", (t("00:55:00"),))
    c.execute("INSERT INTO acd_agent_events (user, at, state, waiting_id) VALUES ('zhao', ?, 'on_call', 21)", (t("00:55:00"),))
    clock.advance(7200)
    _same(board)
    assert board.wallboard._settled[1] == "2026-11-25T16:00:00.000+00:00"  # 08:00 local holds a call still in talk
    c.execute("INSERT INTO acd_agent_events (user, at, state) VALUES ('zhao', ?, 'ready')", (t("03:59:00"),))
    _same(board)
    assert board.wallboard._settled[1] == "2026-11-26T02:00:00.000+00:00"
