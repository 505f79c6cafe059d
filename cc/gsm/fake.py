"""An in-memory modem implementing :class:`cc.gsm.types.GsmModemPort`, for unit tests of the SMS gateway.

    fake = FakeModem()
    fake.connect()
    fake.receive("+8613900139000", "Y")          # a reply arrives: IncomingSms on events(), "stored" on the SIM
    parts = fake.send("+8613800138000", "hi")     # recorded in fake.sent; a StatusReport follows if asked
    fake.fail_next_send(SendRejected(...))        # or ModemTimeout(...), Unreachable(...)
    fake.go_down()                                # ModemDown on events(); send() raises Unreachable

Standard library only; no threads.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from cc.errors import CcError, Unreachable
from cc.gsm.types import IncomingSms, ModemDown, ModemEvent, ModemHealth, SentPart, StatusReport

SINGLE_GSM7, PART_GSM7, SINGLE_UCS2, PART_UCS2 = 160, 153, 70, 67


def _part_count(text: str) -> int:
    units = len(text.encode("utf-16-le")) // 2
    if all(ord(c) < 128 for c in text):
        return 1 if len(text) <= SINGLE_GSM7 else -(-len(text) // PART_GSM7)
    return 1 if units <= SINGLE_UCS2 else -(-units // PART_UCS2)


@dataclass
class FakeSent:
    phone: str
    text: str
    parts: list[SentPart]
    status_report: bool
    at: datetime


class FakeModem:
    def __init__(
        self,
        *,
        device: str = "/dev/fake0",
        auto_report: bool = True,
        clock: Callable[[], datetime] | None = None,
        first_reference: int = 0,
    ) -> None:
        self.device = device
        self.auto_report = auto_report
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._events: queue.Queue[ModemEvent] = queue.Queue()
        self._next_ref = first_reference
        self._sim: dict[tuple[str, int], IncomingSms] = {}
        self._failures: list[CcError] = []
        self.connected = False
        self.connect_error: CcError | None = None  # raised by the next connect() when set
        self.sent: list[FakeSent] = []
        self.deleted: list[IncomingSms] = []
        self.connects = 0
        self.signal = 20

    # ---- GsmModemPort
    def connect(self) -> None:
        self.connects += 1
        if self.connect_error is not None:
            error, self.connect_error = self.connect_error, None
            raise error
        self.connected = True

    def close(self) -> None:
        self.connected = False

    def send(self, phone: str, text: str, *, status_report: bool = True, timeout: float = 30) -> list[SentPart]:
        if not self.connected:
            raise Unreachable(f"the modem on {self.device} is not connected", "it is reconnecting")
        if self._failures:
            raise self._failures.pop(0)
        total = _part_count(text)
        parts = []
        for i in range(1, total + 1):
            parts.append(SentPart(self._next_ref, i, total, phone))
            self._next_ref = (self._next_ref + 1) % 256
        self.sent.append(FakeSent(phone, text, parts, status_report, self._clock()))
        if status_report and self.auto_report:
            for part in parts:
                self.report(part.reference, phone)
        return parts

    def events(self) -> queue.Queue[ModemEvent]:
        return self._events

    def stored_messages(self) -> list[IncomingSms]:
        seen: list[IncomingSms] = []
        for sms in self._sim.values():
            if sms not in seen:
                seen.append(sms)
        return seen

    def delete_stored(self, sms: IncomingSms) -> None:
        for ref in sms.storage_refs:
            self._sim.pop(tuple(ref), None)  # type: ignore[arg-type]
        self.deleted.append(sms)

    def health(self) -> ModemHealth:
        if not self.connected:
            raise Unreachable(f"the modem on {self.device} is not connected", "it is reconnecting")
        return ModemHealth(signal=self.signal, registered=True, operator="CHINA MOBILE", imei="861234567890123", model="FakeModem")

    # ---- test controls
    def receive(self, sender: str, text: str, *, announce: bool = True, at: datetime | None = None) -> IncomingSms:
        """A message arrives; it is kept "on the SIM" until deleted. ``announce=False``: only stored."""
        index = 1
        while ("SM", index) in self._sim:
            index += 1
        sms = IncomingSms(sender, text, at or self._clock(), 1, (("SM", index),))
        self._sim[("SM", index)] = sms
        if announce:
            self._events.put(sms)
        return sms

    def report(self, reference: int, recipient: str, *, status: int = 0) -> StatusReport:
        report = StatusReport(reference, recipient, status == 0, status, self._clock(), final=not (0x20 <= status <= 0x3F))
        self._events.put(report)
        return report

    def fail_next_send(self, error: CcError, times: int = 1) -> None:
        self._failures.extend([error] * times)

    def go_down(self, reason: str = "port vanished") -> None:
        self.connected = False
        self._events.put(ModemDown(self.device, reason, self._clock()))
