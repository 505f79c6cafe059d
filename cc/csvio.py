"""CSV in and out the way Chinese offices use it: files saved by Excel (UTF-8 with BOM, or GB18030),
and exports Excel opens correctly, with cells that would run as formulas neutralised."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from cc.errors import UsageError

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def read_csv(path: str | Path, required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    """Rows as ``(line number, {column: value})``; the header is line 1. Column names are lower-cased."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}", "check the file name") from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly anything
        raise UsageError(f"{path} is neither UTF-8 nor GB18030 text", "save it as CSV UTF-8 from Excel")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise UsageError(f"{path} is empty", "the first line names the columns") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise UsageError(f"{path}: missing column(s) {', '.join(missing)}", f"the header must name: {', '.join(required)}")
    rows: list[tuple[int, dict[str, str]]] = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        rows.append((reader.line_num, dict(zip(header, (v.strip() for v in values)))))
    return rows


def neutralise(value: Any) -> Any:
    """A text cell starting with = + - @ would run as a formula in Excel: prefix it with a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(out: IO[str], columns: list[str], rows: Iterable[Iterable[Any]], *, bom: bool = False) -> None:
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
