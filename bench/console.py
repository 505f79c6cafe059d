"""Agent console: time from the ACD dispatcher assigning a call to the screen pop being drawn (the
console polls the ACD; target p95 under 300 ms), and input latency in the order form (a key in the
deliveries field, typed or deleted at the cursor as the Input's key handler does, until the new total
is painted: the app's after-refresh callback, as for the screen pop) for a customer with 1,000 past
orders. (Until session 4 the key's time ran to the end of the test driver's ``pause()``, which also waits
for every widget's message queue and for the process to go idle: about 35 ms more at p50.)

Runs the real app headless (Textual's test driver) on a real database file, system clock."""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

from bench._util import figure, percentile

CALLS = 30
KEYS = 40


def _world(path: Path):  # noqa: ANN202
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "tui"))
    import tui_helpers

    tui_helpers.build_world(path, past_orders=1000, past_phone=tui_helpers.PHONE)
    return tui_helpers


async def _measure(path: Path, helpers) -> tuple[list[float], list[float]]:  # noqa: ANN001
    from cc.clock import SystemClock
    from cc.services.container import build_services
    from cc.telephony.acd_wiring import acd_service
    from cc.tui.agent_app import make_agent_app

    config = helpers.config_for(path)
    clock = SystemClock()
    services = build_services(config, clock=clock)
    acd = acd_service(config, services.db, clock)
    app = make_agent_app(config, clock=clock)
    rng = random.Random(6)
    pops: list[float] = []
    keys: list[float] = []

    async def until(pilot, predicate, timeout: float = 10.0) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the console did not get there in time ({app.focused}, {app.screen.id}, {app.quote_seq}, {app.quoted_seq})")
            await asyncio.sleep(0.002)

    async with app.run_test(size=(120, 40)) as pilot:
        app.screen.query_one("#sign-in-user").value = helpers.AGENT
        app.screen.query_one("#sign-in-password").value = helpers.PASSWORD
        app.screen.query_one("#sign-in-password").focus()
        await pilot.press("enter")
        await until(pilot, lambda: app.snapshot is not None)
        for i in range(CALLS):
            entry = acd.enter(f"bench-{i}", "orders", helpers.PHONE)
            claimed = acd.dispatch()
            assigned = time.monotonic()
            assert claimed == [(entry.waiting_id, helpers.AGENT)], claimed
            await until(pilot, lambda: app.pop_waiting_id == entry.waiting_id)
            pops.append((app.pop_drawn_at - assigned) * 1000)
            if i == 0:  # input latency in the order form of this customer
                await pilot.press("ctrl+g")
                app.screen.query_one("#deliveries").focus()
                await pilot.press("end")  # focus selects the text; type after it
                field = app.screen.query_one("#deliveries")
                for k in range(KEYS):
                    before = app.quote_seq
                    started = time.monotonic()
                    field.insert_text_at_cursor(str(1 + k % 9)) if k % 2 else field.action_delete_left()
                    await until(pilot, lambda: app.quote_seq > before and app.quote_drawn[0] == app.quote_seq)
                    keys.append((app.quote_drawn[1] - started) * 1000)  # painted (the app's after-refresh)
                    await pilot.pause()
            acd.answered(entry.waiting_id)
            acd.finished(entry.waiting_id)
            acd.change_state(helpers.AGENT, "ready")
            await until(pilot, lambda: app.snapshot is not None and app.snapshot.call is None)
            while len(app.screen_stack) > 2:  # the wrap-up form that opened after the call
                app.pop_screen()
            await asyncio.sleep(rng.uniform(0, 0.3))  # calls arrive at any point of the console's poll cycle
    return pops, keys


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cc.db"
        helpers = _world(path)
        pops, keys = asyncio.run(_measure(path, helpers))
    return [
        figure("console.screen_pop_p50_ms", percentile(pops, 50), "ms"),
        figure("console.screen_pop_p95_ms", percentile(pops, 95), "ms", target=300, higher_is_better=False),
        figure("console.order_input_p50_ms", percentile(keys, 50), "ms"),
        figure("console.order_input_p95_ms", percentile(keys, 95), "ms", target=100, higher_is_better=False),
    ]
