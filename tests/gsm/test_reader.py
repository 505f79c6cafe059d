"""Our reader loop, fed straight from a fake serial port in arbitrary chunks (no pty): every SMS
notification comes out whole and once, whatever the read boundaries, bad bytes and junk around it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from cc.gsm import pdu
from cc.gsm.modem import _CcGsmModem

pytestmark = pytest.mark.timeout(60)

TZ = timezone(timedelta(hours=8))


class ChunkedSerial:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)

    @property
    def in_waiting(self) -> int:
        return len(self.chunks[0]) if self.chunks else 0

    def inWaiting(self) -> int:  # noqa: N802 - the library's spelling
        return self.in_waiting

    def read(self, n: int) -> bytes:
        if not self.chunks:
            raise serial.SerialException("end of the recorded stream")
        return self.chunks.pop(0)

    def close(self) -> None:
        pass


def _report(ref: int) -> str:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=TZ)
    return pdu.encode_status_report(ref, "+8613800138000", scts=now, discharge=now, status=0)


event = st.one_of(
    st.tuples(st.just("cmti"), st.integers(1, 50)),
    st.tuples(st.just("cds"), st.integers(0, 255)),
    st.tuples(st.just("junk"), st.text("~ABCXYZ:,0123", min_size=1, max_size=12)),
    st.tuples(st.just("bad"), st.binary(min_size=1, max_size=4).map(lambda b: b"\xff" + b)),
)


@settings(max_examples=150, deadline=None)
@given(events=st.lists(event, max_size=12), cuts=st.lists(st.integers(1, 400), max_size=30))
def test_notifications_survive_any_chunking(events, cuts):
    stream = b""
    for kind, value in events:
        if kind == "cmti":
            stream += f'\r\n+CMTI: "SM",{value}\r\n'.encode()
        elif kind == "cds":
            body = _report(value)
            stream += f"\r\n+CDS: {len(body) // 2 - 8}\r\n{body}\r\n".encode()
        elif kind == "junk":
            stream += f"\r\n{value}~\r\n".encode()
        else:
            stream += b"\r\n^X" + value + b"\r\n"
    points = sorted({c for c in cuts if c < len(stream)})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)]) if stream[a:b]]
    notes: list = []
    died: list = []
    modem = _CcGsmModem("/dev/null", 115200, note=notes.append, log=logging.getLogger("test"), rtscts=False, fatalErrorCallbackFunc=died.append)
    modem.serial = ChunkedSerial(chunks)
    modem.alive = True
    modem._readLoop()
    assert not [n for n in notes if n[0] not in ("cmti", "cds", "other")]
    assert len(died) == 1 and isinstance(died[0], serial.SerialException)  # only the end of the stream stops it
    sms_notes = [n for n in notes if n[0] in ("cmti", "cds")]
    expected = [("cmti", "SM", v) if k == "cmti" else ("cds", _report(v)) for k, v in events if k in ("cmti", "cds")]
    assert sms_notes == expected
