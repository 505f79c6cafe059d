"""How instants are written to and read from the database: ISO 8601, UTC, milliseconds.

One fixed format keeps text comparison equal to time comparison, so SQL can order and range over it.
"""

from __future__ import annotations

from datetime import date, datetime, timezone, tzinfo


def iso(moment: datetime) -> str:
    """``2026-11-26T02:00:00.000+00:00`` for any aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware one (clock.now())")
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def local_date(moment: datetime, zone: tzinfo) -> date:
    """The calendar date at the call center for an instant."""
    return moment.astimezone(zone).date()
