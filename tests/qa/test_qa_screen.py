"""The QA screen under Pilot: a frozen clock, a copied test database, a fake call-control session (the
play port). Every wait is bounded."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from qa_helpers import config_for
from textual.app import App
from textual.widgets import DataTable, Input, Static

from cc.errors import Refused
from cc.tui.qa_screen import QaScreen, make_qa_screen

pytestmark = pytest.mark.timeout(60)


class FakeControl:
    """What ControlPlayer uses of the call-control service; ``fail`` refuses like Asterisk would."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.settings = SimpleNamespace(caller_id="116114")
        self.originated: list[tuple] = []
        self.fail = fail

    def outside(self, number: str) -> str:
        return f"PJSIP/{number}@trunk"

    def _originate(self, channel, exten, variables, *, caller_id="", channel_id=""):  # noqa: ANN001, ANN202
        if self.fail:
            raise self.fail
        self.originated.append((channel, exten, dict(variables)))
        return {"Response": "Success"}


class Runner:
    """One thread owns the connection (like cc.tui.backend.Backend); ``run(fn)`` -> fn(ctx) there."""

    def __init__(self, path, clock, control: FakeControl | None, user: str = "boss") -> None:  # noqa: ANN001
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.ctx = None
        self.args = (path, clock, control, user)

    def _ctx(self):  # noqa: ANN202
        if self.ctx is None:
            from cc.services.container import build_services
            from cc.store.db import open_db

            path, clock, control, user = self.args

            @contextmanager
            def opener():  # noqa: ANN202
                yield control

            services = build_services(config_for(path), db=open_db(path), clock=clock, acting_user=user)
            self.ctx = SimpleNamespace(services=services, control=opener if control else None)
        return self.ctx

    def run(self, fn):  # noqa: ANN001, ANN201
        return self.pool.submit(lambda: fn(self._ctx())).result(30)


class Host(App):
    def __init__(self, run) -> None:  # noqa: ANN001
        super().__init__()
        self.locale = "en"
        self.run_fn = run

    def on_mount(self) -> None:
        self.push_screen(make_qa_screen(self, run=self.run_fn))


async def until(pilot, predicate, timeout: float = 10.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


def screen_of(app: App) -> QaScreen:
    assert isinstance(app.screen, QaScreen)
    return app.screen


def test_lists_calls_scores_with_a_live_total_and_plays(db_file, clock):
    control = FakeControl()
    runner = Runner(db_file, clock, control)

    async def scenario() -> None:
        app = Host(runner.run)
        async with app.run_test(size=(100, 32)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, QaScreen) and app.screen.loads >= 1)
            screen = screen_of(app)
            table = screen.query_one("#qa-calls", DataTable)
            assert [row.value for row in table.rows] == ["call-4", "call-3", "call-2", "call-1"]
            assert screen.call == "call-4"
            await pilot.press("down")  # call-3
            assert screen.call == "call-3"
            await pilot.press("enter")  # into the form
            assert screen.focused.id == "qa-v-greeting"
            await pilot.press("y", "e", "s", "tab")  # typed into the first input; the rest set directly
            assert screen.focused.id == "qa-v-identified_customer"
            for key, value in [("identified_customer", "yes"), ("understood_request", "5"), ("order_accuracy", "4"),
                               ("product_knowledge", "3"), ("courtesy", "5"), ("closing", "no")]:
                screen.query_one(f"#qa-v-{key}", Input).value = value
            await pilot.pause()
            total = screen.query_one("#qa-total", Static)
            assert "81 / 100" in str(total.render()) and "call-3" in str(total.render())
            screen.query_one("#qa-v-courtesy", Input).value = "9"
            await pilot.pause()
            assert "out of range" in str(total.render()) and total.has_class("invalid")
            screen.query_one("#qa-v-courtesy", Input).value = "5"
            await pilot.pause()
            await pilot.press("ctrl+s")
            await until(pilot, lambda: screen.loads >= 2)
            assert "call-3: score saved 81" in screen.activity
            assert table.get_row("call-3")[-1] == "81"
            # The form follows the highlighted call: call-3 now shows the score just saved (a re-score
            # starts from it), an unscored call an empty form, and back again.
            await until(pilot, lambda: screen.form_call == "call-3")
            assert screen.query_one("#qa-v-greeting", Input).value == "yes"
            assert screen.query_one("#qa-v-courtesy", Input).value == "5"
            assert screen.query_one("#qa-v-closing", Input).value == "no"
            assert "81 / 100" in str(total.render())
            await pilot.press("down")  # call-2, never scored
            await until(pilot, lambda: screen.call == "call-2" and screen.form_call is None)
            assert screen.query_one("#qa-v-greeting", Input).value == ""
            await pilot.press("up")
            await until(pilot, lambda: screen.form_call == "call-3")
            screen.query_one("#qa-v-courtesy", Input).value = "4"  # a re-score from the old one
            await pilot.pause()
            assert "call-3" in str(total.render()) and "81 / 100" not in str(total.render())
            await pilot.press("f5")  # play the highlighted call to my phone
            await until(pilot, lambda: bool(control.originated))
            assert control.originated[0][:2] == ("PJSIP/2001", "relay")
            assert control.originated[0][2]["CC_RELAY_FILE"] == "/var/spool/asterisk/monitor/acd-call-3"
            await until(pilot, lambda: "your phone rings" in screen.activity)
            await pilot.press("f6")  # unscored only
            await until(pilot, lambda: screen.loads >= 3)
            assert [row.value for row in table.rows] == ["call-4", "call-2", "call-1"]

    asyncio.run(scenario())
    runner.pool.shutdown()
    rows = sqlite3.connect(db_file).execute("SELECT call_id, total, scorer FROM qa_scores").fetchall()
    assert rows == [("call-3", 81.0, "boss")]


def test_service_errors_show_a_modal_and_the_screen_keeps_working(db_file, clock):
    runner = Runner(db_file, clock, FakeControl(fail=Refused("Asterisk refused Originate to relay: no such channel")))

    async def scenario() -> None:
        from cc.tui.agent_screens import ErrorModal

        app = Host(runner.run)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, QaScreen) and app.screen.loads >= 1)
            screen = screen_of(app)
            await pilot.press("ctrl+s")  # nothing filled in
            await until(pilot, lambda: isinstance(app.screen, ErrorModal))
            assert app.screen.message.startswith("no answer for greeting")
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, QaScreen))
            await pilot.press("f5")
            await until(pilot, lambda: isinstance(app.screen, ErrorModal))
            assert "Asterisk refused" in app.screen.message
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, QaScreen))
            assert screen.loads == 1

    asyncio.run(scenario())
    runner.pool.shutdown()
    outcome = sqlite3.connect(db_file).execute("SELECT outcome FROM qa_plays").fetchall()
    assert outcome == [("failed",)]


def test_an_agent_is_refused_with_a_modal(db_file, clock):
    runner = Runner(db_file, clock, None, user="a1")

    async def scenario() -> None:
        from cc.tui.agent_screens import ErrorModal

        app = Host(runner.run)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, ErrorModal))
            assert "may not view reports" in app.screen.message

    asyncio.run(scenario())
    runner.pool.shutdown()


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_snapshot_80x24(snap_compare, db_file, clock, locale):
    """Update after a deliberate change with: pytest tests/qa/test_qa_screen.py --snapshot-update"""
    runner = Runner(db_file, clock, FakeControl())
    app = Host(runner.run)
    app.locale = locale

    async def run_before(pilot) -> None:  # noqa: ANN001
        await until(pilot, lambda: isinstance(app.screen, QaScreen) and app.screen.loads >= 1)
        await pilot.press("down", "enter", "y", "e", "s", "tab", "1")
        await until(pilot, lambda: "25 / 100" in str(app.screen.query_one("#qa-total", Static).render()))

    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
    finally:
        runner.pool.shutdown()
