"""The wallboard over history written by the real ACD service (not hand-written rows): a call answered,
talked, wrapped up; an abandoned call; a caller still waiting."""

from __future__ import annotations

from cc.services.acd import AcdService, AcdSettings
from cc.store.acd import AcdStore
from cc.store.calls import connect

QUEUES = {"queues": {"orders": {"label": "订奶", "service": "orders", "wrap_up_seconds": 10}}}


def test_figures_from_the_acd_s_own_history(world, clock, db_path):
    acd = AcdService(AcdStore(connect(str(db_path))), clock, AcdSettings(stale_after=60))
    acd.import_queues(QUEUES)
    acd.set_agent("wang", "PJSIP/1001", ["orders:5"])
    acd.change_state("wang", "login")
    w1 = acd.enter("c1", "orders", "+8613800138000").waiting_id
    w2 = acd.enter("c2", "orders", "+8613900139000").waiting_id
    clock.advance(4)
    assert acd.dispatch() == [(w1, "wang")]
    clock.advance(1)
    acd.answered(w1)  # waited 5 s
    clock.advance(30)
    acd.leave(w2, "abandoned")  # waited 35 s
    clock.advance(60)
    acd.finished(w1)  # talk 90 s, then wrap-up 10 s
    clock.advance(10)
    acd.release_wrap_ups()
    w3 = acd.enter("c3", "orders", "+8613700137000").waiting_id
    clock.advance(25)
    acd.heartbeat("wang")

    snap = world.wallboard.snapshot()
    (orders,) = snap.queues
    f = orders.today
    assert (f.offered, f.answered, f.abandoned, f.answered_in_sl, f.service_level) == (2, 1, 1, 1, 0.5)
    assert (f.asa_seconds, f.talk_seconds, f.wrap_seconds, f.aht_seconds) == (5.0, 90.0, 10.0, 100.0)
    assert [c.waiting_id for c in orders.callers] == [w3] and orders.callers[0].wait_seconds == 25
    (wang,) = snap.agents
    assert (wang.state, wang.calls_today, wang.seconds_in_state, wang.stale) == ("ready", 1, 25, False)
