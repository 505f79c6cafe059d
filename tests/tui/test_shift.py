"""A whole shift at the agent console, driven by Pilot: sign in, ready, a call assigned by the real ACD
dispatcher, the screen pop, an order keyed and submitted, the customer's reply SMS (through the real
gateway and the modem simulator) charging it, wrap-up, pause, sign out."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import fd_guard
import pytest
from tui_helpers import AGENT, MILK, PASSWORD, PHONE, YOGURT, config_for

from cc.demo import SimulatedSmsLine
from cc.tui.agent_app import make_agent_app


async def wait_for(pilot, predicate, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout

    while not predicate():
        if time.monotonic() > deadline:
            modal = " ".join(str(w.render()) for w in pilot.app.screen.query("#error-message, #error-hint"))
            raise AssertionError(f"timed out waiting for {what} (screen {pilot.app.screen.id}: {modal})")
        await pilot.pause(0.02)



def on_screen(app, screen_id: str) -> bool:
    """That screen is on top and composed (its widgets can be queried)."""
    return app.screen.id == screen_id and app.screen.is_mounted


def side(db_file, clock):
    """The rest of the call centre on its own connection: the ACD (dispatcher) and the SMS service."""
    from cc.services.container import build_services
    from cc.telephony.acd_wiring import acd_service

    config = config_for(db_file)
    services = fd_guard.close_after_test(build_services(config, clock=clock))
    return SimpleNamespace(services=services, acd=acd_service(config, services.db, clock), db=services.db)


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def ring(pilot, world, phone: str, call_id: str = "call-1"):
    """A call from ``phone`` that the real dispatcher gives to our agent; returns its ACD entry once the
    console has popped it."""
    app = pilot.app
    entry = world.acd.enter(call_id, "orders", phone)
    assert world.acd.dispatch() == [(entry.waiting_id, AGENT)]
    await wait_for(pilot, lambda: app.pop_waiting_id == entry.waiting_id, what="the screen pop")
    return entry


async def sign_in(pilot, app) -> None:
    app.screen.query_one("#sign-in-user").value = AGENT
    app.screen.query_one("#sign-in-password").value = PASSWORD
    app.screen.query_one("#sign-in-password").focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.snapshot is not None, what="the first snapshot after sign-in")


@pytest.mark.timeout(120)
def test_whole_shift(db_file, clock):
    async def run() -> None:
        world = side(db_file, clock)
        app = make_agent_app(config_for(db_file), clock=clock, poll_seconds=0.05)
        with SimulatedSmsLine(config_for(db_file), clock=clock) as line:
            async with app.run_test(size=(120, 40)) as pilot:
                await sign_in(pilot, app)
                assert app.snapshot.state == "ready"
                assert world.acd.agent_view(AGENT)["heartbeat_fresh"]

                # A call arrives; the real dispatcher gives it to our agent.
                entry = world.acd.enter("call-1", "orders", PHONE)
                assert world.acd.dispatch() == [(entry.waiting_id, AGENT)]
                await wait_for(pilot, lambda: app.card is not None and app.pop_drawn_at is not None, what="screen pop")
                assert app.card.name == "张三"
                assert "张三" in text_of(app, "#card")
                assert PHONE in text_of(app, "#call-banner")
                world.acd.answered(entry.waiting_id)

                # Order entry: product, quantity, plan; live total; submit.
                app.screen.query_one("#tabs").active = "tab-order"
                await pilot.pause()
                app.screen.query_one("#deliveries").value = "10"
                app.screen.query_one("#product").value = MILK
                app.screen.query_one("#qty").value = "2"
                await pilot.press("ctrl+n")
                app.screen.query_one("#product").value = YOGURT
                app.screen.query_one("#qty").value = "1"
                await pilot.press("ctrl+n")
                await wait_for(pilot, lambda: app.last_quote is not None and app.last_quote.total_fen == 13_500,
                               what="the live total")
                assert "135.00" in text_of(app, "#quote")
                assert "酸奶" in text_of(app, "#undo-hint")  # what ctrl+z takes back
                await pilot.press("ctrl+z")  # undo the yogurt
                assert app.form.lines == ((MILK, 2),)
                await wait_for(pilot, lambda: app.last_quote.total_fen == 10_000, what="the total after undo")
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: app.order_code is not None, what="the order submitted")
                code = app.order_code
                assert app.order_status == "awaiting_confirmation"

                # The confirmation SMS goes out through the real gateway to the modem simulator; the customer's
                # phone replies; the gateway handles it; the console shows the order charged.
                sent = await asyncio.to_thread(line.simulator.wait_for_sent, 1, 20)
                assert code in sent[0].text
                line.simulator.deliver(PHONE.removeprefix("+86"), f"1 {code}")
                await wait_for(pilot, lambda: app.order_status in ("charged", "sent_to_dairy"), timeout=20, what="charged")
                assert "✓" in text_of(app, "#progress")

                # The call ends: wrap-up with a code and notes; "I'm done" makes the agent ready.
                world.acd.finished(entry.waiting_id)
                await wait_for(pilot, lambda: on_screen(app, "wrap-modal"), what="the wrap-up form")
                app.screen.query_one("#choice-text").value = "ordered milk"
                app.screen.query_one("#choice-list").highlighted = 0
                await pilot.press("enter")
                await wait_for(pilot, lambda: on_screen(app, "main"), what="wrap-up saved")
                await wait_for(pilot, lambda: app.snapshot.state == "wrap_up", what="wrap-up state")
                await pilot.press("f5")
                await wait_for(pilot, lambda: app.snapshot.state == "ready", what="ready after I'm done")
                rows = list(world.db.query("SELECT code, notes, call_id FROM console_wrapups"))
                assert rows == [{"code": "order", "notes": "ordered milk", "call_id": "call-1"}]

                # Pause with a reason, then sign out: out of rotation.
                await pilot.press("f3")
                await wait_for(pilot, lambda: on_screen(app, "pause-modal"), what="the pause form")
                await pilot.press("down", "enter")
                await wait_for(pilot, lambda: app.snapshot.state == "paused", what="paused")
                assert app.snapshot.reason == "lunch"
                await pilot.press("f10")
                await wait_for(pilot, lambda: on_screen(app, "sign-in"), what="the sign-in screen")
                assert world.acd.agent_view(AGENT)["state"] == "offline"

    asyncio.run(run())
