"""End to end through a real Asterisk 22: from the console (Pilot, the real console factory, the AMI
settings in the config), click-to-dial rings the agent's phone, then the customer's, and the two talk;
hang-up from the console ends the call and the wrap-up form records it. Phones are Local channels that
answer in test contexts; every wait is on an AMI event, with a bound."""

from __future__ import annotations

import asyncio

import pytest
from test_shift import on_screen, side, sign_in, wait_for
from tui_helpers import AGENT, PHONE, config_for

from cc.services.agent_console import CONTROL_ACTIONS, WRAP_CODES
from cc.telephony import asterisk_runtime as rt
from cc.telephony.ami import AmiClient, EventQueue
from cc.telephony.control_dialplan import MODULES, ControlDialplan, render_control
from cc.tui.agent_app import make_agent_app

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(90)]

PHONES = """
[cc-tui-agent]
; Local/NAME@cc-tui-agent/n: the agent's phone, answers and stays on the line.
exten => _[a-z].,1,Set(WHO=${EXTEN})
 same => n,UserEvent(CcTuiRang,Who: ${WHO})
 same => n,Answer()
 same => n,UserEvent(CcTuiUp,Who: ${WHO})
 same => n,Wait(40)
 same => n,Hangup()
exten => h,1,UserEvent(CcTuiGone,Who: ${WHO})

[cc-tui-customer]
; Local/DIGITS@cc-tui-customer/n: the customer's phone, answers.
exten => _X.,1,Set(WHO=${EXTEN})
 same => n,UserEvent(CcTuiRang,Who: ${WHO})
 same => n,Answer()
 same => n,UserEvent(CcTuiUp,Who: ${WHO})
 same => n,Wait(40)
 same => n,Hangup()
exten => h,1,UserEvent(CcTuiGone,Who: ${WHO})
"""


@pytest.fixture
def pbx(asterisk):
    for module in MODULES:
        asterisk.cli(f"module load {module}")
    control = render_control(ControlDialplan(context="cc-control", ring_seconds=20,
                                             queue_agi_url="agi://127.0.0.1:4573/acd_queue"))
    asterisk.write_extensions(rt.GENERAL + control + PHONES + rt.CALLER_CONTEXTS)
    events = EventQueue()
    ami = AmiClient("127.0.0.1", asterisk.ami_port, asterisk.ami_username, asterisk.ami_secret, timeout=5)
    ami.subscribe(events)
    ami.connect()
    yield asterisk, events
    ami.action("Hangup", {"Channel": "/^Local/.*/"})  # leave nothing up for the next test
    ami.close()
    asterisk.wait_idle(timeout=10)


def _config(db_file, asterisk):
    config = config_for(db_file)
    ami = config.asterisk.ami
    ami.host, ami.port, ami.username, ami.secret = "127.0.0.1", asterisk.ami_port, asterisk.ami_username, asterisk.ami_secret
    config.asterisk.control.outbound_dial = "Local/{digits}@cc-tui-customer/n"
    config.asterisk.control.ring_seconds = 20
    return config


def test_click_to_dial_from_the_console_reaches_a_real_channel(pbx, db_file, clock):
    asterisk, events = pbx
    config = _config(db_file, asterisk)

    def up(who: str) -> dict:
        return events.wait_for(Event="UserEvent", UserEvent="CcTuiUp", Who=who, timeout=20)

    async def run() -> None:
        world = side(db_file, clock)
        world.acd.set_agent(AGENT, f"Local/{AGENT}@cc-tui-agent/n", ["orders:5"], "day")
        app = make_agent_app(config, clock=clock, poll_seconds=0.1)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, app)
            await pilot.press("f6")  # find the customer, open the card
            await wait_for(pilot, lambda: on_screen(app, "search-modal"), what="search")
            app.screen.query_one("#search-text").value = PHONE
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen.query_one("#search-results").option_count > 0, what="results")
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.card is not None and app.card.phone == PHONE, what="the card")

            await pilot.press("f8")  # click-to-dial the customer on screen
            await wait_for(pilot, lambda: on_screen(app, "control-modal"), what="call controls")
            app.screen.query_one("#control-list").highlighted = CONTROL_ACTIONS.index("dial")
            await pilot.press("enter")
            await asyncio.to_thread(up, AGENT)
            await asyncio.to_thread(up, PHONE.removeprefix("+"))
            # The agent first: the customer is rung only once the agent answered. (The two "Up" events come
            # from two channels' threads a moment apart: CI once saw the customer's first.)
            rang = [e["Who"] for e in events.seen if e.get("UserEvent") == "CcTuiRang"]
            assert rang.index(AGENT) < rang.index(PHONE.removeprefix("+"))
            await wait_for(pilot, lambda: app.wrap_call is not None, what="the console following the call")
            call_id = app.wrap_call[0]
            assert call_id.startswith("cc-dial-")
            # The ACD has the agent on_call (offered no ACD call meanwhile); the banner shows the outbound call.
            await wait_for(pilot, lambda: app.snapshot.state == "on_call", what="on_call in the ACD")
            assert PHONE in str(app.screen.query_one("#call-banner").render())
            await asyncio.to_thread(events.wait_for, Event="BridgeEnter", Uniqueid=call_id, timeout=15)

            await pilot.press("f8")  # hang up from the console
            await wait_for(pilot, lambda: on_screen(app, "control-modal"), what="call controls")
            app.screen.query_one("#control-list").highlighted = CONTROL_ACTIONS.index("hangup")
            await pilot.press("enter")
            await asyncio.to_thread(events.wait_for, Event="UserEvent", UserEvent="CcTuiGone",
                                    Who=PHONE.removeprefix("+"), timeout=15)
            await wait_for(pilot, lambda: on_screen(app, "wrap-modal"), what="the wrap-up form")
            app.screen.query_one("#choice-text").value = "rang about tomorrow's delivery"
            app.screen.query_one("#choice-list").highlighted = WRAP_CODES.index("enquiry")
            await pilot.press("enter")
            await wait_for(pilot, lambda: list(world.db.query("SELECT 1 FROM console_wrapups")), what="the wrap-up row")
        rows = list(world.db.query("SELECT call_id, caller, code, notes FROM console_wrapups"))
        assert rows == [{"call_id": call_id, "caller": PHONE, "code": "enquiry", "notes": "rang about tomorrow's delivery"}]
        logged = list(world.db.query("SELECT action, agent, outcome FROM call_control_events ORDER BY id"))
        assert [(r["action"], r["outcome"]) for r in logged] == [("dial", "ok"), ("hangup", "ok")]

    asyncio.run(run())
