"""Charts drawn in the terminal for the supervisor's wallboard: column charts with eighth-block
resolution (several series side by side), and horizontal bars (the orders funnel). Plain functions that
return Rich ``Text``: no widgets, no data access, easy to snapshot."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

BLOCKS = " ▁▂▃▄▅▆▇█"


def _cell(value: float, top: float, height: int, row: int) -> str:
    """The block for one column at ``row`` (0 = bottom) of a chart ``height`` rows tall."""
    if top <= 0 or value <= 0:
        return " "
    eighths = round(value / top * height * 8)
    eighths = max(1, eighths)  # a non-zero value always shows
    level = eighths - row * 8
    if level <= 0:
        return " "
    return BLOCKS[min(8, level)]


def fold(values: Sequence[float], width: int) -> list[float]:
    """Sum neighbouring values until the series fits ``width`` columns (48 half hours -> 24 hours...)."""
    out = [float(v) for v in values]
    while len(out) > max(1, width):
        out = [sum(out[i:i + 2]) for i in range(0, len(out), 2)]
    return out


def columns(series: Sequence[tuple[str, Sequence[float], str]], *, height: int, width: int,
            axis: Sequence[str] = ()) -> Text:
    """Column chart: ``series`` = (label, values, style); the series' columns are interleaved (today,
    yesterday, gap, today, yesterday...). Folded to fit ``width``; a legend and the top value on the right."""
    if not series:
        return Text("-")
    n = len(series)
    length = max((len(v) for _, v, _ in series), default=0)
    if length == 0:
        return Text("-")
    stride = n
    if n > 1 and len(fold([0.0] * length, (width - 6) // (n + 1))) == len(fold([0.0] * length, (width - 6) // n)):
        stride = n + 1  # a gap between groups when it costs no resolution
    slots = max(1, (width - 6) // stride)
    folded = [fold(list(v) + [0.0] * (length - len(v)), slots) for _, v, _ in series]
    top = max((max(v) for v in folded), default=0.0)
    out = Text()
    for row in range(height - 1, -1, -1):
        label = f"{top:>5g}" if row == height - 1 else ("    0" if row == 0 else "     ")
        out.append(label + "│", style="dim")
        for i in range(len(folded[0])):
            for values, (_, _, style) in zip(folded, series):
                out.append(_cell(values[i], top, height, row), style=style)
            if stride > n:
                out.append(" ")
        out.append("\n")
    out.append("     └" + "─" * (len(folded[0]) * stride) + "\n", style="dim")
    if axis:
        out.append("      " + _spread(axis, len(folded[0]) * stride) + "\n", style="dim")
    for label, _, style in series:
        out.append("      ")
        out.append("█", style=style)
        out.append(f" {label}")
    return out


def _spread(labels: Sequence[str], width: int) -> str:
    """Axis labels at the start, middle and end of a ``width``-wide axis."""
    if not labels or width <= 0:
        return ""
    line = [" "] * width
    positions = [0] if len(labels) == 1 else [round(i * (width - 1) / (len(labels) - 1)) for i in range(len(labels))]
    for label, pos in zip(labels, positions):
        start = min(max(0, pos - len(label) // 2), max(0, width - len(label)))
        for j, ch in enumerate(label):
            if start + j < width:
                line[start + j] = ch
    return "".join(line).rstrip()


def hbars(rows: Sequence[tuple[str, float]], *, width: int, style: str = "") -> Text:
    """Horizontal bars (label, value), scaled to the largest; the value after each bar."""
    from rich.cells import cell_len

    if not rows:
        return Text("-")
    label_w = max(cell_len(label) for label, _ in rows)
    top = max((v for _, v in rows), default=0) or 1
    room = max(4, width - label_w - 10)
    out = Text()
    for i, (label, value) in enumerate(rows):
        eighths = round(value / top * room * 8)
        bar = "█" * (eighths // 8) + (BLOCKS[eighths % 8] if eighths % 8 else "")
        out.append(label + " " * (label_w - cell_len(label)) + " ")
        out.append(bar, style=style)
        out.append(f" {value:g}")
        if i < len(rows) - 1:
            out.append("\n")
    return out
