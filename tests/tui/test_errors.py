"""Service errors at the console: a modal with the message and a hint, and the console keeps working."""

from __future__ import annotations

import asyncio
import socket
import sqlite3

import pytest
from test_shift import on_screen, ring, side, sign_in, wait_for
from tui_helpers import AGENT, PHONE, config_for

from cc.tui.agent_app import make_agent_app
from cc.tui.backend import console_factory


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _modal_text(app) -> str:
    return " ".join(str(w.render()) for w in app.screen.query("#error-message, #error-hint"))


@pytest.mark.timeout(60)
def test_ami_down_shows_a_hint_and_the_console_keeps_working(db_file, clock):
    async def run() -> None:
        config = config_for(db_file)
        config.asterisk.ami.port = _closed_port()
        config.asterisk.ami.timeout_seconds = 1.0
        world = side(db_file, clock)
        app = make_agent_app(config, clock=clock, poll_seconds=0.05)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, app)
            entry = await ring(pilot, world, PHONE)
            await pilot.press("f8")
            await wait_for(pilot, lambda: on_screen(app, "control-modal"), what="call controls")
            await pilot.press("enter")  # the first action: hang up
            await wait_for(pilot, lambda: on_screen(app, "error-modal"), what="the error modal")
            text = _modal_text(app)
            assert "unreachable" in text and "hint: check that Asterisk runs" in text, text
            await pilot.press("escape")
            await wait_for(pilot, lambda: on_screen(app, "main"), what="back to the console")
            world.acd.answered(entry.waiting_id)
            world.acd.finished(entry.waiting_id)  # the console still follows the ACD
            await wait_for(pilot, lambda: app.snapshot.state == "wrap_up", what="wrap-up")

    asyncio.run(run())


@pytest.mark.timeout(60)
def test_database_locked_shows_a_hint_and_the_console_recovers(db_file, clock):
    async def run() -> None:
        config = config_for(db_file)
        base = console_factory(config, clock)

        def impatient(user):  # the console waits 0.2 s for a lock instead of 10 s
            console = base(user)
            console.store.conn.execute("PRAGMA busy_timeout=200")
            return console

        impatient.close = base.close

        app = make_agent_app(config, factory=impatient, clock=clock, poll_seconds=0.05)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, app)
            holder = sqlite3.connect(str(db_file), isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
            try:
                await pilot.press("f4")
                await wait_for(pilot, lambda: on_screen(app, "error-modal"), what="the error modal")
                text = _modal_text(app)
                assert "locked" in text and "hint: another program holds" in text, text
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            await pilot.press("escape")
            await wait_for(pilot, lambda: on_screen(app, "main"), what="back to the console")
            await pilot.press("f4")
            await wait_for(pilot, lambda: app.snapshot.state == "away", what="away once the lock is gone")
            assert side(db_file, clock).acd.agent_view(AGENT)["state"] == "away"

    asyncio.run(run())
