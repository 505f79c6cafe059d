"""A brand-new order's confirmation SMS is queued without the supersede UPDATE (only an amendment has an
earlier confirmation to drop); an amendment still drops it."""

from __future__ import annotations

from sms_helpers import make_config, make_world, new_order

from cc.clock import FrozenClock


def test_only_an_amended_order_runs_the_supersede_update(tmp_path):
    world = make_world(make_config(tmp_path), FrozenClock("2026-11-26T02:00:00+00:00"))
    statements: list[str] = []
    world.db.conn.set_trace_callback(statements.append)
    order = new_order(world)
    entered = [s for s in statements if s.startswith("UPDATE sms_outbox")]
    statements.clear()
    world.orders.amend(order.code, items=[("MILK", 2)])
    amended = [s for s in statements if s.startswith("UPDATE sms_outbox")]
    world.db.conn.set_trace_callback(None)
    assert entered == [] and len(amended) == 1
    confirmations = [r for r in world.sms.outbox() if r["kind"] == "confirmation"]
    assert [r["status"] for r in confirmations] == ["queued", "failed"]
