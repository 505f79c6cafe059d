"""The wallboard's LiveTable: a refresh whose columns only change width inside the visible width asks
for no layout; the cached line styles follow focus and theme."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult

from cc.tui.supervisor_table import LiveTable


class _TableApp(App):
    def compose(self) -> ComposeResult:
        yield LiveTable(["name", "wait"], id="t")


def _rows(wait: str) -> list:
    return [(f"k{i}", (f"caller {i}", wait)) for i in range(5)]


def test_width_change_inside_the_view_needs_no_layout_and_styles_follow_the_theme():
    async def scenario():
        app = _TableApp()
        async with app.run_test(size=(60, 12)) as pilot:
            table = app.query_one(LiveTable)
            table.set_rows(_rows("9:59"))
            await pilot.pause()
            layouts = []
            real = table.refresh

            def spy(*regions, **kw):
                layouts.append(kw.get("layout", False))
                return real(*regions, **kw)

            table.refresh = spy
            table.set_rows(_rows("10:00"))  # the wait column grows by one cell
            assert table.virtual_size.width == sum(table.widths) + 2 * len(table.widths)
            assert not any(layouts)
            table.set_rows(_rows("10:00") + [("k9", ("x" * 70, "1:00"))])  # wider than the view, one more row
            assert any(layouts)
            table.refresh = real
            table.focus()
            await pilot.pause()

            cursor_focused = list(table.render_line(1))[0].style
            table.blur()
            await pilot.pause()
            assert list(table.render_line(1))[0].style != cursor_focused  # the cursor line without focus
            dark_row = list(table.render_line(2))[0].style
            app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
            await pilot.pause()
            assert list(table.render_line(2))[0].style != dark_row

    asyncio.run(scenario())
