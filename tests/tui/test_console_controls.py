"""Every call control from the console (Pilot), against a fake of the call-control port that records what
the console asked for: hold/mute, conference, ask an expert, attended and blind transfer to a queue, an
agent, the expert seat and an outside number, hang-up, click-to-dial the customer or any number, pick-up of
a call ringing for a colleague; and the wrap-up form (code and notes) once at the end of every call."""

from __future__ import annotations

import asyncio

import pytest
from console_fakes import FakeCallControl, with_control
from test_shift import on_screen, ring, side, sign_in, wait_for
from tui_helpers import AGENT, PHONE, PHONE2, config_for

from cc.services.agent_console import CONTROL_ACTIONS, WRAP_CODES
from cc.tui.agent_app import make_agent_app
from cc.tui.backend import console_factory

TARGETS = ["orders", "agent:li", "expert", "13900139000"]  # a queue, an agent, the expert seat, a number


async def control(pilot, action: str, target: str = "") -> None:
    app = pilot.app
    await pilot.press("f8")
    await wait_for(pilot, lambda: on_screen(app, "control-modal"), what="call controls")
    app.screen.query_one("#control-target").value = target
    app.screen.query_one("#control-list").highlighted = CONTROL_ACTIONS.index(action)
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen.id != "control-modal", what=f"{action} chosen")


async def wrap(pilot, world, code: str, notes: str) -> None:
    app = pilot.app
    saved = len(wrapups(world))
    await wait_for(pilot, lambda: on_screen(app, "wrap-modal"), what="the wrap-up form")
    app.screen.query_one("#choice-text").value = notes
    app.screen.query_one("#choice-list").highlighted = WRAP_CODES.index(code)
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen.id == "main" and len(wrapups(world)) > saved, what="wrap-up saved")


async def settle(pilot, polls: int = 4) -> None:
    """A few of the console's polls go by (each one could have opened a form)."""
    app = pilot.app
    for _ in range(polls):
        seen = app.snapshot
        await wait_for(pilot, lambda: app.snapshot is not seen, what="a poll")


def wrapups(world) -> list[tuple]:
    return [tuple(r.values()) for r in world.db.query("SELECT call_id, caller, code, notes FROM console_wrapups ORDER BY id")]


@pytest.mark.timeout(90)
def test_every_call_control_from_the_console(db_file, clock):
    fake = FakeCallControl(picked_from="li")
    config = config_for(db_file)

    async def run() -> None:
        world = side(db_file, clock)
        world.services.users.add("li", role="agent", password="secret2")
        world.acd.set_agent("li", "PJSIP/1002", ["orders:5"], "day")
        app = make_agent_app(config, factory=with_control(console_factory(config, clock), fake), clock=clock,
                             poll_seconds=0.05)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, app)
            entry = await ring(pilot, world, PHONE)
            world.acd.answered(entry.waiting_id)
            await wait_for(pilot, lambda: app.snapshot.state == "on_call", what="on the call")

            # On the call: mute and unmute, a three-way conference, ask an expert, attended transfers.
            await control(pilot, "hold")
            await control(pilot, "unhold")
            await control(pilot, "conference", "agent:li")
            await control(pilot, "consult")
            for target in TARGETS:
                await control(pilot, "attended_transfer", target)
            await wait_for(pilot, lambda: len(fake.calls) == 8, what="the controls so far")
            assert fake.calls == [("mute", AGENT, True), ("mute", AGENT, False), ("conference", AGENT, "agent:li"),
                                  ("transfer", AGENT, "expert", True)] + [("transfer", AGENT, t, True) for t in TARGETS]
            assert app.screen.id == "main"  # none of those ends the agent's part in the call

            # A transfer needs a target: a modal says so, nothing is sent.
            await control(pilot, "transfer")
            await wait_for(pilot, lambda: on_screen(app, "error-modal"), what="the missing-target modal")
            await pilot.press("escape")
            assert len(fake.calls) == 8

            # A blind transfer ends the agent's part: the wrap-up form for this call, once.
            await control(pilot, "transfer", "orders")
            await wrap(pilot, world, "transferred", "to the orders queue")
            for target in TARGETS[1:]:
                await control(pilot, "transfer", target)
            await wait_for(pilot, lambda: len(fake.calls) == 12, what="the blind transfers")
            assert fake.calls[8:] == [("transfer", AGENT, t, False) for t in TARGETS]
            world.acd.finished(entry.waiting_id)  # the ACD sees the call leave: no second wrap-up form
            await wait_for(pilot, lambda: app.snapshot.state == "wrap_up", what="wrap-up state")
            await settle(pilot)
            assert app.screen.id == "main"
            assert wrapups(world) == [("call-1", PHONE, "transferred", "to the orders queue")]

            # Click-to-dial the customer on screen, hang up from the console: wrap-up for the outbound call.
            await pilot.press("f5")
            await wait_for(pilot, lambda: app.snapshot.state == "ready", what="ready")
            await control(pilot, "dial")
            await wait_for(pilot, lambda: fake.calls[-1] == ("dial", AGENT, PHONE), what="the dial")
            await control(pilot, "hangup")
            await wrap(pilot, world, "enquiry", "called back about the delivery")
            assert fake.calls[-1] == ("hangup", AGENT)
            assert wrapups(world)[-1] == ("cc-dial-fake1", PHONE, "enquiry", "called back about the delivery")

            # Click-to-dial any number.
            await control(pilot, "dial", "137 0013 7000")
            await wait_for(pilot, lambda: fake.calls[-1] == ("dial", AGENT, "+8613700137000"), what="the dial")
            await control(pilot, "hangup")
            await wrap(pilot, world, "wrong_number", "")
            assert wrapups(world)[-1] == ("cc-dial-fake2", "+8613700137000", "wrong_number", "")

            # With the ACD following outbound calls: the customer hangs up, the agent's leg ends, the ACD wraps
            # the agent up; the console offers the wrap-up form for that call.
            fake.follow_acd = True
            await control(pilot, "dial", "13900139000")
            await wait_for(pilot, lambda: app.snapshot.state == "on_call", what="on_call for the outbound call")
            world.acd.agent_gone(user=AGENT, call_id="cc-dial-fake3")
            await wrap(pilot, world, "no_sale", "not interested")
            assert wrapups(world)[-1] == ("cc-dial-fake3", "+8613900139000", "no_sale", "not interested")
            fake.follow_acd = False

            # A call rings for a colleague; the agent picks it up: the caller's card, wrap-up when it ends.
            world.acd.change_state(AGENT, "pause", "break")
            world.acd.change_state("li", "login")
            world.acd.heartbeat("li")
            ringing = world.acd.enter("call-2", "orders", PHONE2)
            assert world.acd.dispatch() == [(ringing.waiting_id, "li")]
            await control(pilot, "pickup")
            await wait_for(pilot, lambda: app.card is not None and app.card.phone == PHONE2, what="the caller's card")
            assert fake.calls[-1] == ("pickup", AGENT) and app.card.name == "李四"
            await control(pilot, "hangup")
            await wrap(pilot, world, "order", "picked up for li")
            assert wrapups(world)[-1] == ("call-2", PHONE2, "order", "picked up for li")

    asyncio.run(run())
