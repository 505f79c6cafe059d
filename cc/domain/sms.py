"""Pure rules of the SMS gateway: message kinds and priorities, quiet hours, retry backoff, the
confirmation text, and the identity of an incoming message. Time comes in as arguments."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

# Outbox states. queued -> sending -> sent -> delivered; any -> failed (with a reason).
QUEUED, SENDING, SENT, DELIVERED, FAILED = "queued", "sending", "sent", "delivered", "failed"
STATES = (QUEUED, SENDING, SENT, DELIVERED, FAILED)

# Kinds and their priority (lower goes first). Only marketing waits for the send window.
PRIORITY = {"confirmation": 0, "reply": 1, "notice": 2, "manual": 3, "marketing": 9}
KINDS = tuple(PRIORITY)

# A destination whose sends failed this many times in a row is set aside for a while.
HOLD_AFTER_FAILURES = 3
HOLD_MAX_SECONDS = 3600.0
BACKOFF_MAX_SECONDS = 3600.0


def retry_delay(attempts: int, base_seconds: float, cap: float = BACKOFF_MAX_SECONDS) -> float:
    """Seconds to wait after the n-th failed attempt: base, 2*base, 4*base, ... capped."""
    if attempts < 1:
        return 0.0
    return float(min(cap, base_seconds * (2 ** (attempts - 1))))


def hold_seconds(consecutive_failures: int, base_seconds: float) -> float:
    """How long a destination is set aside; 0 while it has failed fewer than HOLD_AFTER_FAILURES times."""
    if consecutive_failures < HOLD_AFTER_FAILURES:
        return 0.0
    return float(min(HOLD_MAX_SECONDS, base_seconds * (2 ** (consecutive_failures - HOLD_AFTER_FAILURES + 1))))


@dataclass(frozen=True)
class Window:
    start: time
    end: time

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # wraps midnight, e.g. 21:00-08:00


def parse_window(spec: str | None) -> Window | None:
    """``"21:00-08:00"`` -> Window; None or empty -> None. Raises ValueError on bad text."""
    if spec is None or not str(spec).strip():
        return None
    try:
        start_text, end_text = str(spec).replace(" ", "").split("-")
        start = time.fromisoformat(start_text if len(start_text) > 2 else f"{int(start_text):02d}:00")
        end = time.fromisoformat(end_text if len(end_text) > 2 else f"{int(end_text):02d}:00")
    except ValueError:
        raise ValueError(f"not a time window: {spec!r} (expected HH:MM-HH:MM)") from None
    return Window(start, end)


def in_quiet_hours(now_local: datetime, spec: str | None) -> bool:
    window = parse_window(spec)
    return bool(window and window.contains(now_local.time()))


def fen_text(fen: int) -> str:
    """15000 -> '150.00'."""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def items_text(lines: list[tuple[str, int]]) -> str:
    """[("鲜牛奶", 1), ("酸奶", 2)] -> '鲜牛奶x1、酸奶x2'."""
    return "、".join(f"{name}x{quantity}" for name, quantity in lines)


def plan_text(frequency: str, deliveries: int) -> str:
    every = {"daily": "每日", "weekly": "每周"}.get(frequency, frequency)
    return f"{every}1次共{deliveries}次"


def render_confirmation(
    template: str, *, brand: str, code: str, lines: list[tuple[str, int]], frequency: str, deliveries: int, total_fen: int
) -> str:
    """Fill ``{brand} {code} {items} {plan} {total}``; an unknown field in the template is left as written."""
    values = {
        "brand": brand,
        "code": code,
        "items": items_text(lines),
        "plan": plan_text(frequency, deliveries),
        "total": fen_text(total_fen),
    }
    return template.format_map(_Keep(values))


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def dedupe_key(sender: str, received_at: datetime, text: str) -> str:
    """One incoming SMS, whoever reads it and however often: sender, network timestamp and text."""
    stamp = received_at.isoformat(timespec="seconds") if received_at else ""
    digest = hashlib.sha256(f"{sender}\x1f{stamp}\x1f{text}".encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:32]


def clean_text(text: str | None) -> str:
    """Text safe to store: surrogate pairs (an emoji split by the modem library) are joined, lone ones
    become U+FFFD."""
    if not _has_surrogates(text):
        return text or ""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_surrogates(text: str | None) -> bool:
    return bool(text) and _SURROGATE.search(text) is not None  # every queued SMS: a scan in C, not per char


def lease_until(now: datetime, lease_seconds: float) -> datetime:
    return now + timedelta(seconds=lease_seconds)
