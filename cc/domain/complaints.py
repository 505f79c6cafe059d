"""Complaints: statuses and their moves, priorities, the SLA deadline per category, overdue, the closing
SMS text. Pure: time comes in as arguments.

    open -> assigned -> escalated -> closed      (open -> escalated and any -> closed are allowed too)
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class ComplaintStatus(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    ESCALATED = "escalated"
    CLOSED = "closed"


class Priority(StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


C = ComplaintStatus
STATUSES = tuple(s.value for s in ComplaintStatus)
PRIORITIES = tuple(p.value for p in Priority)
OPEN_STATES = frozenset({C.OPEN, C.ASSIGNED, C.ESCALATED})


@dataclass(frozen=True)
class Category:
    name: str
    label: str
    sla_hours: float


class ComplaintRuleError(ValueError):
    """A move the rules do not allow; the service turns it into a Refused with a hint."""


def categories_from(entries: list) -> dict[str, Category]:  # noqa: ANN001 - config ComplaintCategory items
    """The configured categories by name; raises ValueError on an empty list, a duplicate or a bad SLA."""
    found: dict[str, Category] = {}
    for entry in entries:
        name = str(entry.name).strip().lower()
        if not name:
            raise ValueError("a complaint category has no name")
        if name in found:
            raise ValueError(f"complaint category {name!r} is listed twice")
        if not entry.sla_hours or entry.sla_hours <= 0:
            raise ValueError(f"complaint category {name!r}: sla_hours must be more than 0")
        found[name] = Category(name, entry.label or name, float(entry.sla_hours))
    if not found:
        raise ValueError("no complaint categories are configured")
    return found


def sla_hours(category: Category, priority: Priority, *, high_factor: float, low_factor: float) -> float:
    factor = {Priority.HIGH: high_factor, Priority.NORMAL: 1.0, Priority.LOW: low_factor}[Priority(priority)]
    return category.sla_hours * factor


def due_at(opened: datetime, category: Category, priority: Priority, *, high_factor: float, low_factor: float) -> datetime:
    """The SLA deadline: the complaint must be closed by then."""
    return opened + timedelta(hours=sla_hours(category, priority, high_factor=high_factor, low_factor=low_factor))


def is_overdue(status: str, due: datetime, now: datetime) -> bool:
    return ComplaintStatus(status) != C.CLOSED and now >= due


def check_assign(status: str) -> ComplaintStatus:
    """Status after assigning: open -> assigned; assigned/escalated keep theirs; closed is refused."""
    current = ComplaintStatus(status)
    if current == C.CLOSED:
        raise ComplaintRuleError("it is closed")
    return C.ASSIGNED if current == C.OPEN else current


def check_escalate(status: str) -> ComplaintStatus:
    current = ComplaintStatus(status)
    if current == C.CLOSED:
        raise ComplaintRuleError("it is closed")
    if current == C.ESCALATED:
        raise ComplaintRuleError("it is already escalated")
    return C.ESCALATED


def check_close(status: str, resolution: str) -> ComplaintStatus:
    if ComplaintStatus(status) == C.CLOSED:
        raise ComplaintRuleError("it is already closed")
    if not resolution or not resolution.strip():
        raise ComplaintRuleError("a resolution is needed to close it")
    return C.CLOSED


def check_note(status: str, text: str) -> None:
    if not text or not text.strip():
        raise ComplaintRuleError("the note is empty")


CLOSE_FIELDS = ("brand", "id", "resolution", "hotline", "category", "name")


def render_close_sms(template: str, **fields: object) -> str:
    """The closing SMS from the configured template; only plain ``{field}`` names from CLOSE_FIELDS."""
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if name not in CLOSE_FIELDS or spec or conversion:
            raise ValueError(f"close_template: unknown field {{{name}}}; use {', '.join('{' + f + '}' for f in CLOSE_FIELDS)}")
    return template.format(**{k: fields.get(k, "") for k in CLOSE_FIELDS})
