"""The GSM port: what the SMS gateway codes against (see ``cc.gsm`` for the contract).

Plain dataclasses and a Protocol, standard library only, so services and the gateway can import them
without pulling in pyserial or gsmmodem.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, Union, runtime_checkable

from cc.errors import ExitCode, Refused, Unreachable


@dataclass(frozen=True)
class IncomingSms:
    """One received SMS, multipart messages already reassembled."""

    sender: str  # as the network gave it: "+8613800138000" (international) or a short code
    text: str  # always valid Unicode (no lone surrogates): safe for SQLite
    received_at: datetime  # service-centre time stamp (timezone-aware) or arrival time
    parts: int  # parts received (== parts_expected unless the message timed out incomplete)
    storage_refs: tuple = ()  # ("SM", index) pairs on the SIM; delete only after storing the message
    complete: bool = True  # False: some parts never arrived within the multipart time limit
    parts_expected: int = 1
    concat_ref: int | None = None  # concatenation reference of a multipart message

    @property
    def fingerprint(self) -> str:
        """Stable identity of this message (sender, service-centre time, concat ref, text): store it with a
        UNIQUE constraint so a message re-read from the SIM after a crash is stored once."""
        import hashlib

        key = f"{self.sender}|{self.received_at.isoformat()}|{self.concat_ref}|{self.text}"
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class SentPart:
    """One submitted part of an outgoing SMS; ``reference`` is the TP-MR the modem returned (0-255)."""

    reference: int
    part_no: int
    parts: int
    recipient: str = ""


@dataclass(frozen=True)
class StatusReport:
    """A delivery status report, matched to a sent part by (``reference``, ``recipient``)."""

    reference: int
    recipient: str
    delivered: bool
    status_code: int  # TP-ST: 0 delivered; 0x20-0x3F still trying; 0x40-0x7F permanent failure
    at: datetime
    final: bool = True  # False: the network is still trying (temporary error); another report may follow


@dataclass(frozen=True)
class ModemHealth:
    signal: int | None  # 0-31 (AT+CSQ), None when unknown
    registered: bool
    operator: str | None
    imei: str | None
    model: str | None


@dataclass(frozen=True)
class ModemDown:
    """The port vanished or the reader died: call ``close()`` then ``connect()`` again (with backoff)."""

    device: str
    reason: str
    at: datetime


ModemEvent = Union[IncomingSms, StatusReport, ModemDown]


class SendRejected(Refused):
    """The modem or the network refused one message (``+CMS ERROR``). ``permanent`` ones should not be retried."""

    def __init__(self, message: str, hint: str | None = None, *, code: int | None = None, permanent: bool = False) -> None:
        super().__init__(message, hint)
        self.code = code
        self.permanent = permanent


class ModemTimeout(Unreachable):
    """The modem did not answer a command in time (silence, busy modem, wrong baud rate)."""

    exit_code = ExitCode.UNREACHABLE


@runtime_checkable
class GsmModemPort(Protocol):
    def connect(self) -> None: ...

    def close(self) -> None: ...

    def send(self, phone: str, text: str, *, status_report: bool = True, timeout: float = 30) -> list[SentPart]: ...

    def events(self) -> queue.Queue[ModemEvent]: ...

    def stored_messages(self) -> list[IncomingSms]: ...

    def delete_stored(self, sms: IncomingSms) -> None: ...

    def health(self) -> ModemHealth: ...


__all__ = [
    "GsmModemPort",
    "IncomingSms",
    "ModemDown",
    "ModemEvent",
    "ModemHealth",
    "ModemTimeout",
    "SendRejected",
    "SentPart",
    "StatusReport",
]
