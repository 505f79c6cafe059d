"""show_text (cc/tui/common.py): a Static's text changes with a layout pass only when its height may
change; the same text again changes nothing. CJK text counts two cells per character."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.widgets import Static

from cc.tui.common import show_text


class _One(App):
    CSS = "Static { width: 20; height: auto; }"

    def compose(self) -> ComposeResult:
        yield Static("", id="text")


def test_layout_only_when_the_height_may_change():
    calls: list[tuple[str, bool]] = []

    async def run() -> None:
        app = _One()
        async with app.run_test(size=(40, 10)) as pilot:
            widget = app.query_one("#text", Static)
            real = widget.update
            widget.update = lambda text, layout=True: (calls.append((text, layout)), real(text, layout=layout))
            await pilot.pause()
            show_text(widget, "total 12.00")  # first text: its height is not known yet
            show_text(widget, "total 13.00")  # one line to one line
            show_text(widget, "total 13.00")  # unchanged: nothing
            show_text(widget, "总计 13.00 元 余额 50.00 元")  # 26 cells: wraps in 20
            show_text(widget, "total 14.00")  # back to one line
            show_text(widget, "total 14.00\nout of stock")
            await pilot.pause()
            assert widget.size.height == 2

    asyncio.run(run())
    assert calls == [("total 12.00", True), ("total 13.00", False), ("总计 13.00 元 余额 50.00 元", True),
                     ("total 14.00", True), ("total 14.00\nout of stock", True)]
