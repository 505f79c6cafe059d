"""Undo on the console's forms: every action on the order form (an item added, its quantity changed, an
item removed, each plan field) and on the new-customer form, one step at a time, with a line saying what
the next ctrl+z takes back; typing in one field is one step."""

from __future__ import annotations

import asyncio

import pytest
from test_shift import on_screen, ring, side, sign_in, text_of, wait_for
from tui_helpers import MILK, PHONE, UNKNOWN, config_for

from cc.tui.agent_app import FormState, make_agent_app
from cc.tui.agent_undo import UndoLog


def test_undo_log_merges_the_edits_of_one_field_until_it_loses_focus():
    log = UndoLog()
    log.record("a", "undo_field", "qty", field="qty", old="30", new="3")
    log.record("b", "undo_field", "qty", field="qty", old="3", new="")
    log.record("c", "undo_field", "qty", field="qty", old="", new="12")
    assert len(log) == 1 and log.hint("en") == "ctrl+z undoes: qty 30 → 12"
    log.stop_merging()
    log.record("d", "undo_field", "qty", field="qty", old="12", new="1")
    log.record("e", "undo_add", item="鲜牛奶 x2")
    assert log.hint("zh_CN") == "ctrl+z 撤销：加入 鲜牛奶 x2"
    assert [log.pop().before for _ in range(3)] == ["e", "d", "a"]
    assert log.pop() is None and log.hint("en") == ""


async def _undo(pilot, expected_hint: str) -> None:
    app = pilot.app
    assert expected_hint in text_of(app, "#undo-hint"), text_of(app, "#undo-hint")
    await pilot.press("ctrl+z")


@pytest.mark.timeout(60)
def test_every_order_form_action_undoes_in_turn(db_file, clock):
    async def run() -> None:
        world = side(db_file, clock)
        app = make_agent_app(config_for(db_file), clock=clock, poll_seconds=0.1)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, app)
            await ring(pilot, world, PHONE)
            await pilot.press("ctrl+g")
            screen = app.screen
            q = screen.query_one
            assert text_of(app, "#undo-hint") == ""

            q("#deliveries").focus()  # typing in a field: one step
            await pilot.press("backspace", "backspace", "1", "2")
            await wait_for(pilot, lambda: app.form.deliveries == "12", what="deliveries typed")
            assert "deliveries 30 → 12" in text_of(app, "#undo-hint")
            q("#frequency").value = "weekly"
            q("#start").value = "2026-12-01"
            await wait_for(pilot, lambda: app.form.start == "2026-12-01", what="the start date")
            q("#product").value = MILK
            q("#qty").value = "2"
            await pilot.press("ctrl+n")
            q("#qty").value = "3"
            await pilot.press("ctrl+n")
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: len(app.undo) == 6, what="six actions")
            assert app.form == FormState((), "2026-12-01", "weekly", "12")

            await _undo(pilot, "remove 鲜牛奶 x3")
            assert app.form.lines == ((MILK, 3),)
            await _undo(pilot, "鲜牛奶 quantity 2 → 3")
            assert app.form.lines == ((MILK, 2),)
            await wait_for(pilot, lambda: "鲜牛奶 x2" in text_of(app, "#order-lines"), what="the items drawn")
            await _undo(pilot, "add 鲜牛奶 x2")
            assert app.form.lines == ()
            await _undo(pilot, "start - → 2026-12-01")
            await _undo(pilot, "frequency daily → weekly")
            await _undo(pilot, "deliveries 30 → 12")
            await pilot.pause()
            assert app.form == FormState()
            assert (q("#start").value, q("#frequency").value, q("#deliveries").value) == ("", "daily", "30")
            await pilot.pause(0.2)  # the widgets' echoes of the restored values are no actions
            assert len(app.undo) == 0 and text_of(app, "#undo-hint") == ""
            await pilot.press("ctrl+z")
            await wait_for(pilot, lambda: "nothing to undo" in text_of(app, "#activity"), what="nothing to undo")

            # ctrl+k (the card) while typing in a field goes to the card; the Input does not swallow it.
            q("#deliveries").focus()
            await pilot.press("ctrl+k")
            await wait_for(pilot, lambda: q("#tabs").active == "tab-card", what="the card tab")
            assert q("#deliveries").value == "30"

    asyncio.run(run())


@pytest.mark.timeout(60)
def test_the_new_customer_form_undoes_field_changes(db_file, clock):
    async def run() -> None:
        world = side(db_file, clock)
        app = make_agent_app(config_for(db_file), clock=clock, poll_seconds=0.1)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, app)
            await ring(pilot, world, UNKNOWN)
            await wait_for(pilot, lambda: on_screen(app, "new-customer"),
                           what="the new-customer form")
            form = app.screen
            form.query_one("#form-name").value = "王五"
            await pilot.pause()
            form.query_one("#form-address").focus()
            await pilot.press(*"Hangzhou")
            form.query_one("#form-name").value = "王六"
            await wait_for(pilot, lambda: len(form.undo) == 3, what="three changes")
            assert "name 王五 → 王六" in str(form.query_one("#form-undo").render())
            await pilot.press("ctrl+z")
            await wait_for(pilot, lambda: form.query_one("#form-name").value == "王五", what="the name back")
            assert "address - → Hangzhou" in str(form.query_one("#form-undo").render())
            await pilot.press("ctrl+z")
            await wait_for(pilot, lambda: form.query_one("#form-address").value == "", what="the address back")
            form.query_one("#form-address").value = "杭州市西湖区"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: app.card is not None and app.card.known, what="the customer saved")
            customer = world.services.customers.find_by_phone(UNKNOWN)
            assert (customer.name, customer.address) == ("王五", "杭州市西湖区")

    asyncio.run(run())
