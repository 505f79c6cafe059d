"""Bounded waits on the adapter's event queue."""

from __future__ import annotations

import queue
import time


def next_event(events: queue.Queue, kind: type, timeout: float = 5.0):
    """The next event of ``kind`` (others are skipped); fails the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {kind.__name__} within {timeout}s")
        try:
            event = events.get(timeout=left)
        except queue.Empty:
            continue
        if isinstance(event, kind):
            return event


def no_event(events: queue.Queue, kind: type, within: float) -> None:
    """Assert that no event of ``kind`` arrives within ``within`` seconds (a bounded negative wait)."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = events.get(timeout=left)
        except queue.Empty:
            return
        assert not isinstance(event, kind), f"unexpected {event!r}"
