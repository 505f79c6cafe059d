"""Reassembly of concatenated (multipart) SMS, with a time limit for parts that never come.

python-gsmmodem-new hands every part over as a separate message with its UDH attached; it never joins them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from cc.gsm.pdu import fix_text
from cc.gsm.types import IncomingSms

MISSING_PART = "[…]"  # stands for a part that did not arrive in time


@dataclass
class _Group:
    sender: str
    ref: int
    total: int
    first_seen: float
    received_at: datetime
    parts: dict[int, str] = field(default_factory=dict)
    refs: list = field(default_factory=list)


class Reassembler:
    """Thread-safe; ``add`` returns the whole message once its last part arrived, ``expire`` gives up on
    groups older than ``timeout`` seconds (their parts are returned joined, ``complete=False``)."""

    def __init__(self, timeout: float = 300.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self._clock = clock
        self._groups: dict[tuple[str, int, int], _Group] = {}
        self._lock = threading.Lock()

    def add(self, sender: str, concat: tuple[int, int, int], text: str, refs: tuple, received_at: datetime) -> IncomingSms | None:
        ref, total, seq = concat
        if total <= 1:
            return IncomingSms(sender, fix_text(text), received_at, 1, tuple(refs))
        key = (sender, ref, total)
        with self._lock:
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(sender, ref, total, self._clock(), received_at)
            group.refs.extend(refs)
            group.parts.setdefault(seq, text)  # a repeated part (re-sent by the network) is kept once
            group.received_at = min(group.received_at, received_at)
            if len(group.parts) < total:
                return None
            del self._groups[key]
        return self._message(group, complete=True)

    def expire(self, now: float | None = None) -> list[IncomingSms]:
        now = self._clock() if now is None else now
        with self._lock:
            old = [k for k, g in self._groups.items() if now - g.first_seen >= self.timeout]
            groups = [self._groups.pop(k) for k in old]
        return [self._message(g, complete=False) for g in groups]

    def pending(self) -> int:
        with self._lock:
            return len(self._groups)

    @staticmethod
    def _message(group: _Group, *, complete: bool) -> IncomingSms:
        text = "".join(group.parts.get(i, MISSING_PART) for i in range(1, group.total + 1))
        return IncomingSms(
            sender=group.sender,
            text=fix_text(text),
            received_at=group.received_at,
            parts=len(group.parts),
            storage_refs=tuple(group.refs),
            complete=complete,
            parts_expected=group.total,
            concat_ref=group.ref,
        )
