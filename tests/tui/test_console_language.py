"""The language key (F12 in the footer; ctrl+l on any screen, a modal form too) switches the console between zh_CN and en at once: every label,
the footer, the card, the live total and the undo line, on the main screen and on an open form; what was
typed and picked stays, and so does the undo history."""

from __future__ import annotations

import asyncio

import pytest
from test_shift import on_screen, ring, side, sign_in, wait_for
from tui_helpers import MILK, PHONE, YOGURT, config_for

from cc.tui.agent_app import FormState, make_agent_app


def words(screen) -> str:
    """Everything a person reads on the screen: labels, texts, tab titles, placeholders, footer keys."""
    out = [str(w.render()) for w in screen.query("Static, Label, Tab, Button")]
    out += [w.placeholder for w in screen.query("Input")]
    out += [w.description for w in screen.query("FooterKey")]
    return " | ".join(out)


def form_of(screen) -> tuple:
    q = screen.query_one
    return (q("#product").value, q("#qty").value, q("#start").value, q("#frequency").value, q("#deliveries").value)


@pytest.mark.timeout(60)
def test_the_language_key_switches_every_label_and_keeps_the_form(db_file, clock):
    async def run() -> None:
        world = side(db_file, clock)
        app = make_agent_app(config_for(db_file, "zh_CN"), locale="zh_CN", clock=clock, poll_seconds=0.1)
        async with app.run_test(size=(120, 40)) as pilot:
            await sign_in(pilot, app)
            await ring(pilot, world, PHONE)
            await pilot.press("ctrl+g")
            q = app.screen.query_one
            q("#product").value = MILK
            q("#qty").value = "2"
            await pilot.press("ctrl+n")
            q("#product").value = YOGURT
            q("#qty").value = "3"
            q("#start").value = "2026-12-01"
            q("#frequency").value = "weekly"
            q("#deliveries").value = "12"
            await wait_for(pilot, lambda: app.form == FormState(((MILK, 2),), "2026-12-01", "weekly", "12")
                           and app.last_quote is not None and app.last_quote.total_fen == 12_000, what="the form")
            typed, steps = form_of(app.screen), len(app.undo)
            before = words(app.screen)
            for zh in ("客户", "订单", "配送次数", "合计", "余额", "地址", "English", "ctrl+z 撤销", "振铃"):
                assert zh in before, zh

            await pilot.press("f12")
            await wait_for(pilot, lambda: app.locale == "en" and "deliveries" in words(app.screen), what="English")
            after = words(app.screen)
            for en in ("customer", "order", "deliveries", "total: 120.00", "balance", "address", "中文",
                       "ctrl+z undoes: deliveries 30 → 12", "ringing", "help", "weekly"):
                assert en in after, en
            for zh in ("配送次数", "合计", "撤销", "振铃", "帮助", "每周"):
                assert zh not in after, zh
            assert form_of(app.screen) == typed and len(app.undo) == steps
            assert app.screen.query_one("#tabs").active == "tab-order"
            await pilot.pause(0.3)  # the new widgets' change events are no form actions
            assert app.form == FormState(((MILK, 2),), "2026-12-01", "weekly", "12") and len(app.undo) == steps

            # An open form switches too, and keeps what was typed in it.
            await pilot.press("f7")
            await wait_for(pilot, lambda: on_screen(app, "complaint-modal"), what="the complaint form")
            app.screen.query_one("#form-text").value = "牛奶送晚了"
            await pilot.press("ctrl+l")
            await wait_for(pilot, lambda: app.locale == "zh_CN" and "投诉" in words(app.screen), what="中文")
            assert app.screen.id == "complaint-modal"
            assert app.screen.query_one("#form-text").value == "牛奶送晚了"
            assert "complaint" not in words(app.screen)
            await pilot.press("escape")
            await wait_for(pilot, lambda: on_screen(app, "main"), what="the console")
            assert "配送次数" in words(app.screen) and form_of(app.screen) == typed
            await pilot.press("ctrl+z")  # undo still takes back the last action
            await wait_for(pilot, lambda: app.form.deliveries == "30", what="the undo")

    asyncio.run(run())
