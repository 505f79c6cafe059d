"""SMS PDUs (3GPP TS 23.040) for our adapter and the simulator, on top of gsmmodem's primitives.

Fixes two defects of python-gsmmodem-new 0.13.0 at the encoding level:

* its UCS2 encoder takes one code point per 16-bit unit, so an emoji (outside the BMP) raises
  ``ValueError: byte must be in range(0, 256)``; we encode real UTF-16 (surrogate pairs) and never split a
  pair between two parts;
* its UCS2 decoder turns a surrogate pair into two lone surrogates, which SQLite (and UTF-8) refuse;
  :func:`fix_text` joins pairs back and replaces what is left over.

It also lets the caller decide whether a status report is requested (the library always sets TP-SRR).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from gsmmodem.pdu import (
    Concatenation,
    _encodeAddressField,
    _encodeTimestamp,
    decodeSmsPdu,
    divideTextGsm7,
    encodeGsm7,
    packSeptets,
)

GSM7, UCS2 = 0x00, 0x08
SINGLE_LIMIT = {GSM7: 160, UCS2: 70}  # septets / UTF-16 units
PART_LIMIT = {GSM7: 153, UCS2: 67}
VALIDITY_ONE_DAY = 167  # relative TP-VP: 167 = 24 hours


def fix_text(text: str) -> str:
    """Join UTF-16 surrogate pairs that arrived as two characters; replace lone ones with U+FFFD."""
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _utf16_units(text: str) -> list[str]:
    """The text as UTF-16 code units (as 1-char strings), surrogate pairs split."""
    raw = text.encode("utf-16-be", "surrogatepass")
    return [chr(int.from_bytes(raw[i : i + 2], "big")) for i in range(0, len(raw), 2)]


def split_text(text: str, *, force_ucs2: bool = False) -> tuple[int, list[str]]:
    """Choose the alphabet and cut the text into parts that each fit one PDU (with a UDH when several).

    For UCS2 the parts are lists of UTF-16 units joined into str (surrogates kept whole per part)."""
    if not force_ucs2:
        try:
            septets = len(encodeGsm7(text))
        except ValueError:
            pass
        else:
            if septets <= SINGLE_LIMIT[GSM7]:
                return GSM7, [text]
            return GSM7, divideTextGsm7(text)
    units = _utf16_units(text)
    if len(units) <= SINGLE_LIMIT[UCS2]:
        return UCS2, ["".join(units)]
    parts: list[str] = []
    current: list[str] = []
    for unit in units:
        if len(current) >= PART_LIMIT[UCS2] or (
            len(current) == PART_LIMIT[UCS2] - 1 and "\ud800" <= unit <= "\udbff"
        ):
            parts.append("".join(current))
            current = []
        current.append(unit)
    if current:
        parts.append("".join(current))
    return UCS2, parts


def _user_data(alphabet: int, chunk: str, udh: bytes) -> tuple[int, bytes]:
    """(TP-UDL, TP-UD) for one part."""
    if alphabet == GSM7:
        encoded = encodeGsm7(chunk)
        if udh:
            header = bytes([len(udh)]) + udh
            pad = (len(header) * 8) % 7  # fill bits, as gsmmodem's own decoder expects them
            packed = packSeptets(encoded, padBits=pad)
            return len(encoded) + (1 if pad else 0) + len(header), header + bytes(packed)
        return len(encoded), bytes(packSeptets(encoded))
    data = chunk.encode("utf-16-be", "surrogatepass")
    if udh:
        header = bytes([len(udh)]) + udh
        return len(header) + len(data), header + data
    return len(data), data


def _concat_udh(ref: int, total: int, seq: int) -> bytes:
    if ref > 0xFF:
        return bytes([0x08, 4, ref >> 8, ref & 0xFF, total, seq])
    return bytes([0x00, 3, ref, total, seq])


@dataclass(frozen=True)
class SubmitPdu:
    hex: str  # what follows AT+CMGS=<tpdu_length>
    tpdu_length: int
    part_no: int
    parts: int


def encode_submit(
    number: str,
    text: str,
    *,
    status_report: bool,
    concat_ref: int = 0,
    message_ref: int = 0,
    force_ucs2: bool = False,
) -> list[SubmitPdu]:
    """SMS-SUBMIT PDUs for ``text`` to ``number`` (no SMSC: the SIM's is used)."""
    alphabet, chunks = split_text(text, force_ucs2=force_ucs2)
    total = len(chunks)
    out = []
    for i, chunk in enumerate(chunks, start=1):
        udh = _concat_udh(concat_ref & 0xFF, total, i) if total > 1 else b""
        first = 0x01 | 0x10  # SMS-SUBMIT, relative validity period
        if status_report:
            first |= 0x20
        if udh:
            first |= 0x40
        udl, ud = _user_data(alphabet, chunk, udh)
        tpdu = bytes([first, message_ref & 0xFF]) + bytes(_encodeAddressField(number)) + bytes([0x00, alphabet, VALIDITY_ONE_DAY, udl]) + ud
        out.append(SubmitPdu(("00" + tpdu.hex()).upper(), len(tpdu), i, total))
    return out


def encode_deliver(
    sender: str,
    text: str,
    *,
    scts: datetime,
    concat_ref: int = 0,
    smsc: str = "+8613800100500",
    force_ucs2: bool = False,
) -> list[str]:
    """SMS-DELIVER PDUs (hex, with SMSC field) as a phone's message reaches the modem."""
    alphabet, chunks = split_text(text, force_ucs2=force_ucs2)
    total = len(chunks)
    out = []
    for i, chunk in enumerate(chunks, start=1):
        udh = _concat_udh(concat_ref, total, i) if total > 1 else b""
        first = 0x04  # SMS-DELIVER, no more messages waiting
        if udh:
            first |= 0x40
        udl, ud = _user_data(alphabet, chunk, udh)
        pdu = (
            bytes(_encodeAddressField(smsc, smscField=True))
            + bytes([first])
            + bytes(_encodeAddressField(sender))
            + bytes([0x00, alphabet])
            + bytes(_encodeTimestamp(scts))
            + bytes([udl])
            + ud
        )
        out.append(pdu.hex().upper())
    return out


def encode_status_report(reference: int, recipient: str, *, scts: datetime, discharge: datetime, status: int, smsc: str = "+8613800100500") -> str:
    """SMS-STATUS-REPORT PDU (hex, with SMSC field)."""
    pdu = (
        bytes(_encodeAddressField(smsc, smscField=True))
        + bytes([0x06, reference & 0xFF])
        + bytes(_encodeAddressField(recipient))
        + bytes(_encodeTimestamp(scts))
        + bytes(_encodeTimestamp(discharge))
        + bytes([status & 0xFF])
    )
    return pdu.hex().upper()


@dataclass
class DecodedPdu:
    type: str  # SMS-DELIVER | SMS-SUBMIT | SMS-STATUS-REPORT
    number: str
    text: str = ""  # raw (surrogates not yet joined: join after reassembly)
    time: datetime | None = None
    reference: int | None = None  # TP-MR (submit, status report)
    status: int | None = None  # TP-ST (status report)
    concat: tuple[int, int, int] | None = None  # (ref, total, seq)
    status_report_requested: bool = False  # TP-SRR (submit)
    alphabet: int = GSM7
    tpdu_length: int = 0
    extra: dict = field(default_factory=dict)


def decode(pdu_hex: str) -> DecodedPdu:
    """Decode a PDU (hex, with SMSC field). Raises ValueError on anything malformed."""
    pdu_hex = pdu_hex.strip()
    try:
        raw = bytes.fromhex(pdu_hex)
        info = decodeSmsPdu(pdu_hex)
    except Exception as exc:  # gsmmodem raises EncodingError, StopIteration, IndexError, ...
        raise ValueError(f"bad PDU {pdu_hex[:40]!r}: {exc}") from None
    first = raw[raw[0] + 1] if raw else 0
    concat = None
    for ie in info.get("udh", []) or []:
        if isinstance(ie, Concatenation):
            concat = (ie.reference, ie.parts, ie.number)
    dcs_alphabet = GSM7
    if info["type"] in ("SMS-DELIVER", "SMS-SUBMIT"):
        # recover the DCS octet to tell UCS2 apart (the library does not return it)
        dcs_alphabet = UCS2 if _looks_ucs2(raw) else GSM7
    return DecodedPdu(
        type=info["type"],
        number=info.get("number") or "",
        text=info.get("text") or "",
        time=info.get("time"),
        reference=info.get("reference"),
        status=info.get("status"),
        concat=concat,
        status_report_requested=bool(first & 0x20) if info["type"] == "SMS-SUBMIT" else False,
        alphabet=dcs_alphabet,
        tpdu_length=info.get("tpdu_length", 0),
        extra={"discharge": info.get("discharge")},
    )


def _looks_ucs2(raw: bytes) -> bool:
    try:
        i = raw[0] + 1
        first = raw[i]
        i += 1
        if first & 0x03 == 0x01:
            i += 1  # TP-MR
        addr_len = raw[i]
        i += 2 + (addr_len + 1) // 2
        i += 1  # PID
        dcs = raw[i]
    except IndexError:
        return False
    return dcs & 0xC0 == 0 and (dcs & 0x0C) == 0x08


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
