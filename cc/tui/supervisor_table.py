"""A table for the wallboard's long live lists (500 waiting callers, 200 agents), drawn through Textual's
line API: a refresh replaces the rows in one assignment and repaints only the lines on screen, so its cost
does not grow with the number of rows (a DataTable re-measured and re-rendered hundreds of changed cells
each second: 200-500 ms a frame at 700 rows). A header line stays on top; a row cursor (keys, mouse)
follows its row's key across refreshes."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

Row = tuple[str, tuple]  # (key, cells): a cell is a str or a rich Text
MAX_COLUMN = 28  # cells wider than this are cut with an ellipsis


def _fit(text: str, width: int) -> str:
    """``text`` padded or cut (with an ellipsis) to ``width`` terminal cells."""
    n = len(text) if text.isascii() else cell_len(text)
    if n == width:
        return text
    if n < width:
        return text + " " * (width - n)
    return set_cell_size(text, width - 1) + "…"


class LiveTable(ScrollView, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"live-table--header", "live-table--cursor", "live-table--even"}
    DEFAULT_CSS = """
    LiveTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        & > .live-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .live-table--even { background: $surface-lighten-1 50%; }
        & > .live-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        &:focus > .live-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        &:dark > .live-table--even { background: $surface-darken-1 40%; }
    }
    """
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("up", "cursor(-1)", show=False), Binding("down", "cursor(1)", show=False),
        Binding("pageup", "page(-1)", show=False), Binding("pagedown", "page(1)", show=False),
        Binding("home", "cursor(-1000000)", show=False), Binding("end", "cursor(1000000)", show=False),
    ]

    def __init__(self, columns: list[str], *, id: str | None = None, cursor: bool = True) -> None:  # noqa: A002
        super().__init__(id=id)
        self.can_focus = cursor
        self.show_cursor = cursor
        self.columns = list(columns)
        self.rows: list[Row] = []
        self.keys: list[str] = []
        self.cursor_row = 0
        self.widths = [cell_len(c) for c in self.columns]
        # (header, odd row, even row, cursor on odd, cursor on even) line styles: ``rich_style`` walks the
        # ancestors (~0.5 ms); computed once per repaint, not once per line
        self._line_styles: tuple[Style, ...] | None = None

    # -- data ------------------------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def cursor_key(self) -> str | None:
        return self.keys[self.cursor_row] if 0 <= self.cursor_row < len(self.keys) else None

    def set_rows(self, rows: list[Row]) -> None:
        """Replace the rows (one refresh); the cursor stays on the same key when it is still there."""
        selected = self.cursor_key
        self.rows = rows
        self.keys = [key for key, _ in rows]
        if selected is not None and selected in self.keys:
            self.cursor_row = self.keys.index(selected)
        else:
            self.cursor_row = min(self.cursor_row, max(0, len(rows) - 1))
        widths = [cell_len(c) for c in self.columns]
        for i, column in enumerate(zip(*(cells for _, cells in rows))):
            texts = [c.plain if isinstance(c, Text) else c for c in column]
            if "".join(texts).isascii():
                widest = max(map(len, texts))
            else:
                widest = max(len(t) if t.isascii() else cell_len(t) for t in texts)
            widths[i] = max(widths[i], min(widest, MAX_COLUMN))
        self.widths = widths
        size, before = Size(sum(widths) + 2 * len(widths), len(rows) + 1), self.virtual_size
        if size != before:
            if size.height == before.height and max(size.width, before.width) <= self.scrollable_content_region.width:
                # Only the columns' widths moved (a time grew a digit), inside the visible width either way:
                # no scroll bar comes or goes, so no layout (a layout repaints the whole screen: 15-75 ms).
                self.set_reactive(LiveTable.virtual_size, size)
            else:
                self.virtual_size = size  # a layout only when the table's extent changes
        self._keep_cursor_visible()
        self.refresh()

    def move_cursor(self, *, row: int) -> None:
        self.cursor_row = max(0, min(row, len(self.rows) - 1))
        self._keep_cursor_visible()
        self.refresh()

    # -- keys and mouse --------------------------------------------------------------------------------
    def action_cursor(self, delta: int) -> None:
        self.move_cursor(row=self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(row=self.cursor_row + direction * max(1, self.size.height - 2))

    def on_click(self, event: Click) -> None:
        if event.y >= 1:
            self.move_cursor(row=int(self.scroll_offset.y) + event.y - 1)

    def _keep_cursor_visible(self) -> None:
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    # -- drawing ---------------------------------------------------------------------------------------
    def refresh(self, *regions: Any, repaint: bool = True, layout: bool = False, recompose: bool = False) -> Any:
        if repaint:
            self._line_styles = None  # focus, theme or size may have changed what the lines look like
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def notify_style_update(self) -> None:
        self._line_styles = None
        super().notify_style_update()

    def _styles(self) -> tuple[Style, ...]:
        if self._line_styles is None:
            base = self.rich_style
            even = base + self.get_component_rich_style("live-table--even")
            cursor = self.get_component_rich_style("live-table--cursor")
            self._line_styles = (base + self.get_component_rich_style("live-table--header"), base, even,
                                 base + cursor, even + cursor)
        return self._line_styles

    def _line(self, cells: Any, style: Style) -> list[Segment]:
        out: list[Segment] = []
        console = self.app.console
        for cell, width in zip(cells, self.widths):
            if isinstance(cell, Text):
                text = cell.copy()
                text.truncate(width, overflow="ellipsis", pad=True)
                out.append(Segment(" ", style))
                out.extend(Segment(seg.text, style + seg.style if seg.style else style) for seg in text.render(console))
                out.append(Segment(" ", style))
            else:
                out.append(Segment(f" {_fit(cell, width)} ", style))
        return out

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        header, odd, even, cursor_odd, cursor_even = self._styles()
        if y == 0:
            style = header
            segments = self._line(self.columns, style)
        else:
            index = int(scroll_y) + y - 1
            if index >= len(self.rows):
                return Strip.blank(width, odd)
            if index == self.cursor_row and self.show_cursor:
                style = cursor_even if index % 2 else cursor_odd
            else:
                style = even if index % 2 else odd
            segments = self._line(self.rows[index][1], style)
        strip = Strip(segments).crop(int(scroll_x), int(scroll_x) + width)
        return strip.extend_cell_length(width, style)
