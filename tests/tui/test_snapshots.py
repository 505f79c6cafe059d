"""Snapshots of the console's main screens, zh_CN and en, at 80x24 and 120x40 (frozen clock, own
database). Update after a deliberate change with: pytest tests/tui/test_snapshots.py --snapshot-update"""

from __future__ import annotations

import time

import pytest
from tui_helpers import AGENT, MILK, PASSWORD, PHONE, UNKNOWN, YOGURT, config_for

from cc.tui.agent_app import make_agent_app

SIZES = [(80, 24), (120, 40)]
LOCALES = ["zh_CN", "en"]


async def _until(pilot, predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.02)


async def _sign_in(pilot) -> None:
    app = pilot.app
    app.screen.query_one("#sign-in-user").value = AGENT
    app.screen.query_one("#sign-in-password").value = PASSWORD
    app.screen.query_one("#sign-in-password").focus()
    await pilot.press("enter")
    await _until(pilot, lambda: app.snapshot is not None)


def _app(db_file, clock, locale, **kw):
    return make_agent_app(config_for(db_file, locale), clock=clock, poll_seconds=0.2, **kw)


def _ring(db_file, clock, phone: str) -> None:
    from cc.store.db import open_db
    from cc.telephony.acd_wiring import acd_service

    db = open_db(db_file)
    acd = acd_service(config_for(db_file), db, clock)
    acd.enter("call-snap", "orders", phone)
    acd.dispatch()
    db.conn.close()


async def _popped(pilot) -> None:
    app = pilot.app
    await _until(pilot, lambda: app.pop_drawn_at is not None and app.last_quote is not None)
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("locale", LOCALES)
def test_sign_in(snap_compare, db_file, clock, locale, size):
    assert snap_compare(_app(db_file, clock, locale, user=AGENT), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("locale", LOCALES)
def test_screen_pop(snap_compare, db_file, clock, locale, size):
    async def run_before(pilot) -> None:
        await _sign_in(pilot)
        _ring(db_file, clock, PHONE)
        await _popped(pilot)

    assert snap_compare(_app(db_file, clock, locale), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("locale", LOCALES)
def test_order_form(snap_compare, db_file, clock, locale, size=(80, 24)):
    async def run_before(pilot) -> None:
        app = pilot.app
        await _sign_in(pilot)
        _ring(db_file, clock, PHONE)
        await _popped(pilot)
        await pilot.press("ctrl+g")
        app.screen.query_one("#product").value = MILK
        app.screen.query_one("#qty").value = "2"
        await pilot.press("ctrl+n")
        app.screen.query_one("#product").value = YOGURT
        app.screen.query_one("#qty").value = "1"
        await pilot.press("ctrl+n")
        app.screen.query_one("#deliveries").value = "10"
        await _until(pilot, lambda: app.last_quote.total_fen == 13_500)
        await pilot.pause(0.1)

    assert snap_compare(_app(db_file, clock, locale), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("locale", LOCALES)
def test_unknown_caller_light(snap_compare, db_file, clock, locale):
    """An unknown number opens the new-customer form with the number filled in (light theme)."""
    async def run_before(pilot) -> None:
        app = pilot.app
        await _sign_in(pilot)
        _ring(db_file, clock, UNKNOWN)
        await _until(pilot, lambda: app.screen.id == "new-customer" and app.screen.is_mounted)
        await pilot.pause(0.1)

    assert snap_compare(_app(db_file, clock, locale, dark=False), terminal_size=(80, 24), run_before=run_before)


def test_help(snap_compare, db_file, clock, locale="zh_CN"):
    async def run_before(pilot) -> None:
        await _sign_in(pilot)
        await pilot.press("f1")
        await _until(pilot, lambda: pilot.app.screen.id == "help-screen")

    assert snap_compare(_app(db_file, clock, locale), terminal_size=(80, 24), run_before=run_before)
