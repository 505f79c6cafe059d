"""Money is an integer number of fen. Yuan with two decimals appear only at the edges."""

from __future__ import annotations

import re

_YUAN = re.compile(r"^\s*(?P<sign>-)?(?P<int>\d+)(?:\.(?P<frac>\d{1,2}))?\s*$")


class MoneyFormatError(ValueError):
    pass


def parse_yuan(text: str) -> int:
    """``"5"``, ``"5.5"``, ``"5.00"`` -> fen. More than two decimals, or anything else, is refused."""
    match = _YUAN.match(str(text).replace("¥", "").replace("￥", "").replace(",", ""))
    if not match:
        raise MoneyFormatError(f"'{text}' is not an amount in yuan")
    fen = int(match["int"]) * 100 + int((match["frac"] or "0").ljust(2, "0"))
    return -fen if match["sign"] else fen


def format_yuan(fen: int) -> str:
    """``1500`` -> ``"15.00"``; negative amounts keep their sign."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"
