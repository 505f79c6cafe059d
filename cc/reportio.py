"""Writing a report out: CSV (through cc.csvio: optional BOM for Excel, formula cells neutralised), JSON,
and XLSX written with the standard library (a minimal SpreadsheetML workbook: one sheet, inline strings,
numbers as numbers; no dependency). Rows are streamed: a million-row export never sits in memory."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable
from typing import IO, Any

from cc.csvio import write_csv
from cc.errors import UsageError

FORMATS = ("table", "csv", "json", "xlsx")
XLSX_MAX_ROWS = 1_048_575  # Excel's limit, less the header


def write_csv_report(out: IO[str], columns: list[str], rows: Iterable[Iterable[Any]], *, bom: bool = False,
                     chunks: Iterable[tuple[bytes, int]] | None = None) -> None:
    """CSV through cc.csvio.write_csv; or, when the store rendered the lines itself (``chunks`` of
    (CRLF-joined UTF-8 lines, row count), big exports), the header through write_csv and the lines as they
    come, as bytes when the stream has a binary buffer underneath."""
    if chunks is None:
        write_csv(out, columns, rows, bom=bom)
        return
    write_csv(out, columns, [], bom=bom)
    raw = getattr(out, "buffer", None)
    if raw is not None:
        out.flush()
    for data, _ in chunks:
        if raw is not None:
            raw.write(data)
            raw.write(b"\r\n")
        else:
            out.write(data.decode("utf-8") + "\r\n")
    if raw is not None:
        raw.flush()


def write_json_report(out: IO[str], meta: dict, columns: list[str], rows: Iterable[Iterable[Any]]) -> None:
    """``{...meta, "columns": [...], "rows": [{column: value}, ...]}``, written row by row."""
    head = json.dumps({**meta, "columns": columns}, ensure_ascii=False, indent=2, default=str)
    out.write(head[:-2] + ',\n  "rows": [')
    first = True
    for row in rows:
        out.write(("\n    " if first else ",\n    ") + json.dumps(dict(zip(columns, row)), ensure_ascii=False, default=str))
        first = False
    out.write("\n  ]\n}\n" if not first else "]\n}\n")


# --- XLSX ------------------------------------------------------------------------------------------------
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_STATIC = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG}">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def _xml_text(value: str) -> str:
    return _ILLEGAL.sub("", value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(value: Any) -> str:
    if value is None:
        return "<c/>"
    if isinstance(value, bool):
        return f'<c t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f"<c><v>{value!r}</v></c>"
    # Typed as text: Excel never evaluates it, so no formula can run from a cell.
    return f'<c t="inlineStr"><is><t xml:space="preserve">{_xml_text(str(value))}</t></is></c>'


def write_xlsx_report(out: IO[bytes], columns: list[str], rows: Iterable[Iterable[Any]], sheet: str = "report") -> None:
    sheet_name = _xml_text(re.sub(r"[\[\]:*?/\\]", "_", sheet)[:31] or "report")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as book:
        for name, text in _STATIC.items():
            book.writestr(name, text)
        book.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_NS}" xmlns:r="{_REL}">'
            f'<sheets><sheet name="{sheet_name}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as raw:
            raw.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_NS}"><sheetData>'.encode())
            raw.write(("<row>" + "".join(_cell(c) for c in columns) + "</row>").encode())
            chunk: list[str] = []
            for n, row in enumerate(rows, 1):
                if n > XLSX_MAX_ROWS:
                    raise UsageError(f"more than {XLSX_MAX_ROWS} rows do not fit in one Excel sheet", "narrow --from/--to, or use --format csv")
                chunk.append("<row>" + "".join(_cell(v) for v in row) + "</row>")
                if len(chunk) >= 2000:
                    raw.write("".join(chunk).encode())
                    chunk.clear()
            raw.write(("".join(chunk) + "</sheetData></worksheet>").encode())


def read_xlsx(path_or_file: Any) -> list[list[Any]]:
    """Read back a sheet written by write_xlsx_report (for tests and round trips)."""
    import xml.etree.ElementTree as ET

    ns = {"m": _NS}
    with zipfile.ZipFile(path_or_file) as book:
        root = ET.fromstring(book.read("xl/worksheets/sheet1.xml"))
    out = []
    for row in root.iterfind(".//m:sheetData/m:row", ns):
        values: list[Any] = []
        for cell in row.iterfind("m:c", ns):
            kind = cell.get("t")
            if kind == "inlineStr":
                values.append("".join(t.text or "" for t in cell.iterfind(".//m:t", ns)))
            else:
                v = cell.find("m:v", ns)
                if v is None:
                    values.append(None)
                elif kind == "b":
                    values.append(v.text == "1")
                else:
                    values.append(float(v.text) if any(ch in v.text for ch in ".eE") else int(v.text))
        out.append(values)
    return out
