"""The console's other paths in one session: an unknown caller registered from the screen pop, a
complaint linked to the call, search by order code, a transfer through call control, and closing the
console taking the agent out of rotation."""

from __future__ import annotations

import asyncio

import pytest
from console_fakes import FakeCallControl, with_control
from test_shift import on_screen, side, sign_in, text_of, wait_for
from tui_helpers import AGENT, MILK, UNKNOWN, config_for

from cc.services.agent_console import CONTROL_ACTIONS
from cc.tui.agent_app import make_agent_app
from cc.tui.backend import console_factory


@pytest.mark.timeout(60)
def test_unknown_caller_complaint_search_transfer_and_close(db_file, clock):
    control = FakeCallControl()
    config = config_for(db_file)
    factory = with_control(console_factory(config, clock), control)

    async def run() -> None:
        world = side(db_file, clock)
        app = make_agent_app(config, factory=factory, clock=clock, poll_seconds=0.05)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, app)
            from cc.store.calls import CallStore

            calls = CallStore(world.db)  # what the IVR records before it queues the caller
            calls.start_call({"id": "call-9", "channel": "PJSIP/trunk-1", "caller": UNKNOWN, "dnid": "400", "script":
                              "inbound", "customer_id": None, "vip": 0, "blacklisted": 0, "tree_id": None,
                              "started_at": "2026-11-26T01:59:30.000Z"})
            for node in ("welcome", "menu", "orders"):
                calls.add_event("call-9", "2026-11-26T01:59:40.000Z", "node", node)
            entry = world.acd.enter("call-9", "orders", UNKNOWN)
            world.acd.dispatch()
            await wait_for(pilot, lambda: on_screen(app, "new-customer"),
                           what="the new-customer form")
            assert app.screen.query_one("#form-phone").value == UNKNOWN
            assert "welcome > menu > orders" in str(app.screen_stack[-2].query_one("#call-banner").render())
            app.screen.query_one("#form-name").value = "王五"
            app.screen.query_one("#form-address").value = "杭州市西湖区"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: app.card is not None and app.card.known, what="the new customer's card")
            assert "王五" in text_of(app, "#card")
            world.acd.answered(entry.waiting_id)

            # A complaint linked to this call.
            await pilot.press("f7")
            await wait_for(pilot, lambda: on_screen(app, "complaint-modal"), what="the complaint form")
            app.screen.query_one("#form-text").value = "牛奶送晚了"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: app.card.complaints, what="the complaint on the card")
            row = world.services.complaints.list(phone=UNKNOWN)[0]
            assert (row.call_id, row.text) == ("call-9", "牛奶送晚了")
            before = len(world.services.complaints.timeline(row.id))
            await pilot.press("f7")  # add to the open complaint
            await wait_for(pilot, lambda: on_screen(app, "complaint-modal"), what="the complaint form again")
            app.screen.query_one("#form-text").value = "客户又打来催"
            app.screen.query_one("#form-add_to").value = f"#{row.id}"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: len(world.services.complaints.timeline(row.id)) > before, what="the note")

            # Transfer to the expert seat.
            await pilot.press("f8")
            await wait_for(pilot, lambda: on_screen(app, "control-modal"), what="call controls")
            app.screen.query_one("#control-target").value = "expert"
            app.screen.query_one("#control-list").highlighted = CONTROL_ACTIONS.index("transfer")  # blind
            await pilot.press("enter")
            await wait_for(pilot, lambda: control.calls, what="the transfer")
            assert control.calls == [("transfer", AGENT, "expert", False)]
            await wait_for(pilot, lambda: on_screen(app, "wrap-modal"), what="the wrap-up form after the transfer")
            await pilot.press("escape")  # later (F9)
            await wait_for(pilot, lambda: on_screen(app, "main"), what="back to the console")

            # Search by order code finds the order and its customer.
            order = world.services.orders.new(phone=UNKNOWN, items=[(MILK, 1)], deliveries=3, submit=False)
            await pilot.press("f6")
            await wait_for(pilot, lambda: on_screen(app, "search-modal"), what="search")
            app.screen.query_one("#search-text").value = order.code
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen.query_one("#search-results").option_count > 0, what="results")
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.order_code == order.code, what="the order tracked")
            await pilot.press("ctrl+x")  # cancel before confirmation
            await wait_for(pilot, lambda: app.order_status == "cancelled", what="the order cancelled")
            assert world.services.orders.get(order.code).status == "cancelled"
        # The console closed: the agent is out of rotation (on a call: freed by the ACD when it ends).
        world.acd.finished(entry.waiting_id)
        state = world.acd.agent_view(AGENT)["state"]
        assert state in ("wrap_up", "offline")

    asyncio.run(run())


@pytest.mark.timeout(60)
def test_closing_the_console_logs_the_agent_out(db_file, clock):
    async def run() -> None:
        world = side(db_file, clock)
        app = make_agent_app(config_for(db_file), clock=clock, poll_seconds=0.05)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, app)
            assert world.acd.agent_view(AGENT)["state"] == "ready"
        assert world.acd.agent_view(AGENT)["state"] == "offline"

    asyncio.run(run())
