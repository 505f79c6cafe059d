"""Our GSM modem adapter over python-gsmmodem-new 0.13.0 (the AT engine) and pyserial.

``GsmModemAdapter`` implements :class:`cc.gsm.types.GsmModemPort`. Everything odd about the library is
contained here; each defect listed in issue #3 has a fix and a test in ``tests/gsm/``:

========================================================  ==============================================
library defect                                            contained by
========================================================  ==============================================
two ``+CMTI`` back to back: only the first is handled     every SMS notification line is taken out of
                                                          the reader (``_CcGsmModem._handleLineRead``)
                                                          and queued on its own
``+CMT`` direct delivery is ignored                       ``+CMT:`` header + PDU line handled here
``+CDS`` split across reads is lost                       the "PDU follows" state survives between reads
emoji: send raises, receive gives lone surrogates         our UTF-16 PDU encoder; ``pdu.fix_text``
one non-UTF-8 byte kills the reader thread                our read loop decodes with ``replace`` and
                                                          never dies of a bad line; a dead port becomes
                                                          a ``ModemDown`` event
multipart messages are not reassembled                    ``Reassembler`` (time limit ``multipart_timeout``)
PDU sends always request a status report                  our SMS-SUBMIT encoder honours ``status_report``
delivery-report wait wakes on any report                  reports matched by (reference, recipient):
                                                          ``wait_for_report``
hardware flow control forced on (and DSR/DTR)             ``gsm.modems[].rtscts`` (default off)
no reconnect after unplug                                 ``connect()`` builds a new ``GsmModem`` each time
``connect()`` aborts on an optional set-up command        rejected optional commands are logged, skipped
unsolicited lines inside a command's answer are lost      notifications are intercepted before that
callbacks run on a new thread per notification            callbacks only enqueue; one worker thread
``sendSms`` switches text/PDU mode behind your back       we send with AT+CMGS ourselves
========================================================  ==============================================

Threads: the library's reader thread only parses lines and puts notifications on an internal queue; one
worker thread per connection reads stored messages, reassembles parts and puts ``IncomingSms`` /
``StatusReport`` / ``ModemDown`` on :meth:`GsmModemAdapter.events`. ``send``/``health``/``stored_messages``
run on the caller's thread; AT exchanges are serialised by the library's transmit lock.
"""

from __future__ import annotations

import logging
import queue
import random
import re
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator

import serial
from gsmmodem.exceptions import (
    CmsError,
    CommandError,
    IncorrectPinError,
    PinRequiredError,
    PukRequiredError,
    TimeoutException,
)
from gsmmodem.modem import GsmModem
from gsmmodem.serial_comms import SerialComms

from cc.errors import ConfigError, Unreachable
from cc.gsm import pdu as pdus
from cc.gsm.reassembly import Reassembler
from cc.gsm.types import IncomingSms, ModemDown, ModemEvent, ModemHealth, ModemTimeout, SendRejected, SentPart, StatusReport

if TYPE_CHECKING:
    from cc.config import ModemConfig

CTRLZ = "\x1a"
ESC = "\x1b"
_HEX = re.compile(r"^[0-9A-Fa-f]+$")
_CMTI = re.compile(r'^\+CMTI:\s*"?([^",]*)"?,\s*(\d+)')
_CDSI = re.compile(r'^\+CDSI:\s*"?([^",]*)"?,\s*(\d+)')
_CMGS = re.compile(r"^\+CMGS:\s*(\d+)")
_CMGR_PDU = re.compile(r"^\+CMGR:\s*(\d*),[^,]*,\s*(\d+)")
_CMGL_PDU = re.compile(r"^\+CMGL:\s*(\d+),\s*(\d+),[^,]*,\s*(\d+)")
_CREG = re.compile(r"^\+CREG:\s*(?:\d+,)?\s*(\d+)")
_CPMS_Q = re.compile(r'^\+CPMS:\s*"([^"]+)",\d+,\d+,"([^"]+)",\d+,\d+(?:,"([^"]+)")?')
_CSQ = re.compile(r"^\+CSQ:\s*(\d+),")
# lines a modem may push at any moment, even in the middle of another command's answer
_NOISE = re.compile(r"^(\^[A-Z]+:|RING$|\+CRING:|\+CLIP:|\+CUSD:|NO CARRIER$)|[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f]")
_CMT_TEXT = re.compile(r'^\+CMT:\s*"([^"]*)",[^,]*,"([^"]+)"')
_CDS_TEXT = re.compile(r'^\+CDS:\s*\d+,(\d+),"([^"]*)",\d*,"([^"]+)","([^"]+)",(\d+)')

# set-up commands we can live without: a modem that rejects them is logged and used anyway
_OPTIONAL_SETUP = re.compile(r"^AT(\+CMEE=|\+CFUN=|\+COPS=3|\+CSMP=|\+CLIP=|\+CRC=|\+CVHU=|\+DDET=|\+WIND=|\^CVOICE=|\^USSDMODE=)", re.I)
# +CMS ERROR codes after which sending the same message again is pointless
_PERMANENT_CMS = {1, 8, 10, 21, 27, 28, 29, 30, 38, 50, 96, 97, 98, 99, 111, 127, 128, 143, 144, 145, 159, 160, 161, 175, 176, 208, 209, 255, 300, 302, 303, 304, 305}

_TEXT = {
    "pin_needed": ("the SIM in {name} needs a PIN", "set gsm.modems[].pin in the config file"),
    "pin_wrong": ("the SIM in {name} refused the PIN", "check gsm.modems[].pin; three wrong PINs block the SIM (then it needs the PUK, in a phone)"),
    "puk": ("the SIM in {name} is blocked (PUK needed)", "unblock it with its PUK in a phone, then set gsm.modems[].pin"),
    "no_answer": ("no answer on {device}", "check the cable and baud rate (gsm.modems[].baudrate); a 3-wire board needs rtscts: false"),
    "cannot_open": ("cannot open {device}: {error}", "check that the modem is plugged in and the device path (ls -l /dev/ttyUSB* /dev/serial/by-id/)"),
    "setup_refused": ("the modem on {device} refused {command}", "check the SIM and the modem; see the log for the set-up dialogue"),
    "odd_answer": ("the modem on {device} gave an unexpected answer during set-up ({error})", "check that {device} is a GSM modem and the baud rate is right"),
    "not_connected": ("the modem on {device} is not connected", "it is reconnecting; the message stays queued"),
    "send_timeout": ("no answer from the modem on {device} while sending", "the modem may be busy or hung; it will be reset after repeated timeouts"),
    "send_refused": ("the network refused the SMS to {phone} (+CMS ERROR: {code})", "{advice}"),
    "send_error": ("the modem on {device} refused the SMS to {phone}: {error}", "check the number, the SIM credit and the signal"),
    "port_gone": ("the modem on {device} went away: {error}", "check the USB cable; cc reconnects by itself"),
}


def _utc(dt: datetime | None) -> datetime:
    if dt is None:
        return datetime.now(timezone.utc)
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


class _Port(SerialComms):
    """Serial side: opens the port with *our* flow-control settings (the library forces RTS/CTS and DSR/DTR)."""

    _cc_rtscts = False
    _cc_probe = (1.5, 2)  # seconds per "AT" probe, tries: a silent port fails in seconds, not minutes

    def _cc_close_serial(self) -> None:
        """Close the port once, whichever thread gets here first (the reader on a failure, or close()).
        pyserial's close() is not thread-safe: two at once both os.close() the same descriptor number, and
        the second one closes whatever file was given that number meanwhile (another modem's port)."""
        with self.__dict__.setdefault("_cc_close_lock", threading.Lock()):  # setdefault: atomic
            port = getattr(self, "serial", None)
            if port is not None and getattr(port, "is_open", True):
                try:
                    port.close()
                except Exception:  # noqa: BLE001
                    pass

    def connect(self) -> None:
        self.serial = serial.Serial(
            port=self.port,
            baudrate=self.baudrate,
            timeout=0.1,  # reader poll; close() waits at most this long
            write_timeout=10,
            rtscts=self._cc_rtscts,
            dsrdtr=False,
        )
        self.alive = True
        self.rxThread = threading.Thread(target=self._readLoop, name=f"gsm-rx {self.port}", daemon=True)
        self.rxThread.start()
        seconds, tries = self._cc_probe
        self.serial.write(b"\x1b")  # leave a "> " SMS prompt that a killed predecessor may have left open
        for attempt in range(tries):
            try:
                self.write("AT", timeout=seconds, parseError=False)  # type: ignore[call-arg]
                break
            except TimeoutException:
                if attempt == tries - 1:
                    raise


    _cc_dead: BaseException | None = None

    def write(self, data: str, waitForResponse: bool = True, timeout: float = 5, expectedResponseTermSeq: str | None = None) -> Any:  # noqa: N803
        if self._cc_dead is not None:
            raise serial.SerialException(f"the port went away: {self._cc_dead}")
        result = SerialComms.write(self, data, waitForResponse, timeout, expectedResponseTermSeq)
        if self._cc_dead is not None:
            raise serial.SerialException(f"the port went away: {self._cc_dead}")
        return result


class _CcGsmModem(GsmModem, _Port):
    """GsmModem with our reader, notification intercept and tolerant set-up (MRO: GsmModem -> _Port)."""

    def __init__(self, port: str, baudrate: int, *, note: Any, log: logging.Logger, rtscts: bool, **kw: Any) -> None:
        self._cc_note = note
        self._cc_log = log
        self._cc_rtscts = rtscts
        self._cc_connecting = False
        self._cc_pdu_follows: str | None = None
        self._cc_header = ""
        self.skipped_setup: list[str] = []
        super().__init__(port, baudrate, **kw)

    # ---- reader: never dies of a bad byte, hands SMS notifications over whole -------------
    def _readLoop(self) -> None:  # noqa: N802 - library name
        buf = bytearray()
        try:
            while self.alive:
                waiting = self.serial.in_waiting
                data = self.serial.read(waiting or 1)
                for byte in data:
                    buf.append(byte)
                    if buf.endswith(b"\r\n"):
                        line = buf[:-2].decode("utf-8", "replace")
                        buf.clear()
                        if line:
                            self._cc_line(line)
                    elif self._expectResponseTermSeq and buf.endswith(self._expectResponseTermSeq):
                        line = buf.decode("utf-8", "replace")
                        buf.clear()
                        self._cc_line(line, check=False)
        except Exception as exc:  # noqa: BLE001 - the port vanished or failed: report, never die silently
            self.alive = False
            self._cc_dead = exc
            waiting = self._responseEvent
            if waiting is not None:
                waiting.set()  # a command waiting for its answer learns now, not after its timeout
            self._cc_close_serial()
            self.fatalErrorCallback(exc)

    def _cc_line(self, line: str, check: bool = True) -> None:
        try:
            self._handleLineRead(line, checkForResponseTerm=check)
        except Exception:  # noqa: BLE001 - a bad line must not stop the reader
            self._cc_log.exception("modem line %r could not be handled", line)

    def _handleLineRead(self, line: str, checkForResponseTerm: bool = True) -> None:  # noqa: N802,N803
        if checkForResponseTerm:
            line_s = line.strip()
            if self._cc_pdu_follows is not None:
                kind, self._cc_pdu_follows = self._cc_pdu_follows, None
                if kind == "cmt_text":
                    self._cc_note(("cmt_text", self._cc_header, line))
                    return
                if _HEX.match(line_s):
                    self._cc_note((kind, line_s))
                    return
                self._cc_log.warning("expected a PDU after +%s, got %r", kind.upper(), line)
            if line_s.startswith("+CMTI:"):
                m = _CMTI.match(line_s)
                if m:
                    self._cc_note(("cmti", m.group(1) or "SM", int(m.group(2))))
                    return
            elif line_s.startswith("+CDSI:"):
                m = _CDSI.match(line_s)
                if m:
                    self._cc_note(("cdsi", m.group(1) or "SR", int(m.group(2))))
                    return
            elif line_s.startswith("+CMT:"):
                self._cc_header = line_s
                self._cc_pdu_follows = "cmt_text" if _CMT_TEXT.match(line_s) else "cmt"
                return
            elif line_s.startswith("+CDS:"):
                if "," in line_s:
                    self._cc_note(("cds_text", line_s))
                else:
                    self._cc_pdu_follows = "cds"
                return
            elif _NOISE.search(line_s):
                self._cc_note(("other", [line]))  # keep it out of a pending command's answer
                return
        super()._handleLineRead(line, checkForResponseTerm)

    def _handleModemNotification(self, lines: list[str]) -> None:  # noqa: N802
        self._cc_note(("other", list(lines)))  # library callbacks only enqueue

    # ---- set-up: optional commands a modem rejects are skipped, not fatal --------------------
    def write(self, data: str, *args: Any, **kw: Any) -> Any:
        try:
            return super().write(data, *args, **kw)
        except TimeoutException:
            raise
        except CommandError as exc:
            if not self._cc_connecting:
                raise
            if _OPTIONAL_SETUP.match(data):
                self._cc_log.warning("modem %s rejected optional %s (%s): skipped", self.port, data, exc)
                self.skipped_setup.append(data)
                return ["OK"]
            if data.upper().startswith("AT+CPMS=") and "?" not in data:
                for fallback in ('AT+CPMS="SM","SM","SM"', 'AT+CPMS="SM","SM"', 'AT+CPMS="SM"'):
                    if fallback == data:
                        continue
                    try:
                        result = super().write(fallback)
                    except CommandError:
                        continue
                    self._cc_log.warning("modem %s rejected %s: using %s", self.port, data, fallback)
                    self.skipped_setup.append(data)
                    return result
            raise

    def close(self) -> None:
        self.alive = False
        thread = getattr(self, "rxThread", None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)
        self._cc_close_serial()


_STOP = object()
_READ_RETRIES = 3  # a newly announced message the modem did not answer for is read again this often


class GsmModemAdapter:
    """One GSM modem (``cc.config.ModemConfig``) behind the :class:`~cc.gsm.types.GsmModemPort` interface."""

    def __init__(self, modem_config: ModemConfig, *, multipart_timeout: float = 300, log: logging.Logger | None = None) -> None:
        self.config = modem_config
        self.device = modem_config.device
        self.name = modem_config.name or modem_config.device
        self.log = log or logging.getLogger(f"cc.gsm.modem.{self.name}")
        self._events: queue.Queue[ModemEvent] = queue.Queue()
        self._reassembler = Reassembler(multipart_timeout)
        self._modem: _CcGsmModem | None = None
        self._notes: queue.Queue[Any] | None = None
        self._worker: threading.Thread | None = None
        self._lock = threading.RLock()
        self._pending_refs: set[tuple[str, int]] = set()
        self._reports: dict[tuple[int, str], StatusReport] = {}
        self._report_cond = threading.Condition()
        self._concat_ref = random.randint(0, 255)
        self._ref_lock = threading.Lock()
        self.read_timeout = 5.0  # seconds for AT+CMGR of a newly announced message
        self.retry_delay = 2.0  # first retry of an unanswered read; then 2x, 3x
        self.poll_interval = 10.0  # seconds between SIM reads when the modem announces nothing
        self.polling = False
        self._next_poll = 0.0
        self._read_mem = "SM"
        self._down_reported = False
        self.imei: str | None = None
        self.model: str | None = None
        self.manufacturer: str | None = None
        self.skipped_setup: list[str] = []

    # ------------------------------------------------------------------ connection
    @property
    def connected(self) -> bool:
        modem = self._modem
        return modem is not None and modem.alive

    def connect(self) -> None:
        """Open the port and set the modem up (a fresh library object every time, so it also reconnects)."""
        self.close()
        notes: queue.Queue[Any] = queue.Queue()
        modem = _CcGsmModem(
            self.device,
            self.config.baudrate,
            note=notes.put,
            log=self.log,
            rtscts=self.config.rtscts,
            smsReceivedCallbackFunc=lambda sms: notes.put(("library_sms", sms)),
            smsStatusReportCallback=lambda report: notes.put(("library_report", report)),
            requestDelivery=True,
            fatalErrorCallbackFunc=lambda exc: notes.put(("down", exc)),
        )
        if self.config.mode == "text":
            modem._smsTextMode = True  # before connect: the library then sets AT+CMGF=1 itself
        modem._cc_connecting = True
        try:
            modem.connect(pin=self.config.pin)
            self._after_connect(modem)
        except BaseException as exc:
            modem.close()
            raise self._connect_error(exc) from None
        finally:
            modem._cc_connecting = False
        self.skipped_setup = list(modem.skipped_setup)
        self.polling = not modem._smsReadSupported  # no AT+CNMI: new messages are found by reading the SIM
        if self.polling:
            self.log.warning("modem %s does not announce new SMS (AT+CNMI refused): reading the SIM every %.0f s", self.name, self.poll_interval)
        self._next_poll = 0.0
        self._down_reported = False
        with self._lock:  # a new connection re-reads the SIM: what was handed out before is handed out again
            self._pending_refs.clear()
        self._modem, self._notes = modem, notes
        self._worker = threading.Thread(target=self._work, args=(modem, notes), name=f"gsm-worker {self.name}", daemon=True)
        self._worker.start()
        self.log.info("modem %s connected on %s (%s %s)", self.name, self.device, self.manufacturer, self.model)

    def _after_connect(self, modem: _CcGsmModem) -> None:
        if self.config.smsc:
            modem.write(f'AT+CSCA="{self.config.smsc}"')
        self.manufacturer = modem.manufacturer
        self.model = modem.model
        try:
            self.imei = modem.imei
        except CommandError:
            self.imei = None
        try:  # learn which storage is really selected (the library may believe otherwise after a fallback)
            line = next((x for x in modem.write("AT+CPMS?") if x.startswith("+CPMS:")), "")
            m = _CPMS_Q.match(line)
            if m:
                self._read_mem = m.group(1)
                modem._smsMemReadDelete = m.group(1)
                modem._smsMemWrite = m.group(2)
        except CommandError:
            pass

    def _connect_error(self, exc: BaseException) -> BaseException:
        f = {"name": self.name, "device": self.device}
        if isinstance(exc, PinRequiredError):
            return ConfigError(_TEXT["pin_needed"][0].format(**f), _TEXT["pin_needed"][1])
        if isinstance(exc, IncorrectPinError):
            return ConfigError(_TEXT["pin_wrong"][0].format(**f), _TEXT["pin_wrong"][1])
        if isinstance(exc, PukRequiredError):
            return ConfigError(_TEXT["puk"][0].format(**f), _TEXT["puk"][1])
        if isinstance(exc, TimeoutException):
            return Unreachable(_TEXT["no_answer"][0].format(**f), _TEXT["no_answer"][1])
        if isinstance(exc, (serial.SerialException, OSError)):
            return Unreachable(_TEXT["cannot_open"][0].format(error=exc, **f), _TEXT["cannot_open"][1])
        if isinstance(exc, CommandError):
            return Unreachable(_TEXT["setup_refused"][0].format(command=exc.command or exc, **f), _TEXT["setup_refused"][1])
        if isinstance(exc, Exception):  # the library tripped over an odd answer
            return Unreachable(_TEXT["odd_answer"][0].format(error=f"{type(exc).__name__}: {exc}", **f), _TEXT["odd_answer"][1])
        return exc

    def close(self) -> None:
        with self._lock:
            modem, notes, worker = self._modem, self._notes, self._worker
            self._modem = self._notes = self._worker = None
        if notes is not None:
            notes.put(_STOP)
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=5)
        if modem is not None:
            modem.close()

    def events(self) -> queue.Queue[ModemEvent]:
        return self._events

    def _require(self) -> _CcGsmModem:
        modem = self._modem
        if modem is None or not modem.alive:
            raise Unreachable(*(_TEXT["not_connected"][0].format(device=self.device), _TEXT["not_connected"][1]))
        return modem

    def _lost(self, exc: BaseException) -> Unreachable:
        return Unreachable(_TEXT["port_gone"][0].format(device=self.device, error=exc), _TEXT["port_gone"][1])

    # ------------------------------------------------------------------ worker
    def _work(self, modem: _CcGsmModem, notes: queue.Queue[Any]) -> None:
        retries: list[tuple[float, int, tuple]] = []  # (due, attempt, note) for reads the modem did not answer
        while True:
            try:
                item = notes.get(timeout=0.25)
            except queue.Empty:
                item = None
            if item is _STOP:
                return
            now = time.monotonic()
            due = [r for r in retries if r[0] <= now]
            retries = [r for r in retries if r[0] > now]
            work = [(0, item)] if item is not None else []
            if self.polling and now >= self._next_poll:
                self._next_poll = now + self.poll_interval
                work += [(0, ("poll",))]
            work += [(attempt, note) for _, attempt, note in due]
            for attempt, note in work:
                try:
                    self._handle(modem, note)
                except TimeoutException:
                    if attempt < _READ_RETRIES and note[0] in ("cmti", "cdsi"):
                        retries.append((time.monotonic() + self.retry_delay * (attempt + 1), attempt + 1, note))
                        self.log.warning("modem %s did not answer reading %s %s/%s; trying again", self.name, *note)
                    else:
                        self.log.warning("modem %s did not answer while handling %s; it stays on the SIM for the next start", self.name, note[0])
                except (serial.SerialException, OSError) as exc:
                    self._report_down(exc)
                except Exception:  # noqa: BLE001 - one bad notification must not stop the worker
                    self.log.exception("could not handle %r", note)
            for sms in self._reassembler.expire():
                self.log.warning("multipart SMS from %s: only %d of %d parts arrived in time", sms.sender, sms.parts, sms.parts_expected)
                self._events.put(sms)

    def _report_down(self, exc: BaseException) -> None:
        if self._down_reported:
            return
        self._down_reported = True
        self.log.warning("modem %s on %s is down: %s", self.name, self.device, exc)
        self._events.put(ModemDown(self.device, str(exc) or type(exc).__name__, datetime.now(timezone.utc)))

    def _handle(self, modem: _CcGsmModem, item: tuple) -> None:
        kind = item[0]
        if kind == "cmti":
            _, mem, index = item
            with self._lock:  # not at the same time as stored_messages(): each message is handed over once
                if (mem, index) in self._pending_refs:
                    return  # already handed over (read at start-up) and not yet deleted
                decoded = self._read_stored(modem, mem, index)
                if decoded is None:
                    return
                if decoded.type == "SMS-STATUS-REPORT":
                    self._status_report(decoded)
                    self._delete_ref(modem, mem, index)
                else:
                    self._accept(decoded, ((mem, index),))
        elif kind == "cdsi":
            _, mem, index = item
            decoded = self._read_stored(modem, mem, index)
            if decoded is not None:
                self._status_report(decoded)
                self._delete_ref(modem, mem, index)
        elif kind == "cmt":
            self._accept(pdus.decode(item[1]), ())
        elif kind == "cds":
            self._status_report(pdus.decode(item[1]))
        elif kind == "cmt_text":
            self._accept_text(item[1], item[2])
        elif kind == "cds_text":
            m = _CDS_TEXT.match(item[1])
            if m:
                ref, number, _scts, _dt, status = m.groups()
                self._put_report(int(ref), number, int(status), datetime.now(timezone.utc))
        elif kind == "poll":
            self._poll(modem)
        elif kind == "down":
            self._report_down(item[1])
        elif kind in ("library_sms", "library_report"):
            self.log.debug("library callback %s ignored (handled by cc)", kind)
        else:
            self.log.debug("unhandled modem notification %r", item)

    def _poll(self, modem: _CcGsmModem) -> None:
        """For a modem that announces nothing (AT+CNMI refused): look at the SIM for messages not yet handed over."""
        with self._lock, modem._txLock, self._pdu_mode(modem):
            mem = self._read_mem
            self._select_mem(modem, mem)
            lines = modem.write("AT+CMGL=4", timeout=self.read_timeout)
            fresh = [int(m.group(1)) for m in map(_CMGL_PDU.match, lines) if m and (mem, int(m.group(1))) not in self._pending_refs]
        for index in fresh:
            self._handle(modem, ("cmti", mem, index))

    def _accept(self, decoded: pdus.DecodedPdu, refs: tuple) -> None:
        if decoded.type != "SMS-DELIVER":
            self.log.warning("ignoring stored %s", decoded.type)
            return
        received = _utc(decoded.time)
        with self._lock:
            self._pending_refs.update(refs)
        if decoded.concat is None:
            sms = IncomingSms(decoded.number, pdus.fix_text(decoded.text), received, 1, tuple(refs))
        else:
            sms = self._reassembler.add(decoded.number, decoded.concat, decoded.text, tuple(refs), received)  # type: ignore[assignment]
        if sms is not None:
            self._events.put(sms)

    def _accept_text(self, header: str, body: str) -> None:
        m = _CMT_TEXT.match(header)
        number = m.group(1) if m else ""
        text = _maybe_ucs2_hex(body)
        self._events.put(IncomingSms(number, pdus.fix_text(text), datetime.now(timezone.utc), 1, ()))

    def _status_report(self, decoded: pdus.DecodedPdu) -> None:
        if decoded.type != "SMS-STATUS-REPORT":
            self.log.warning("expected a status report, got %s", decoded.type)
            return
        self._put_report(decoded.reference or 0, decoded.number, decoded.status or 0, _utc(decoded.extra.get("discharge") or decoded.time))

    def _put_report(self, reference: int, recipient: str, status: int, at: datetime) -> None:
        report = StatusReport(reference, recipient, status == 0, status, at, final=not (0x20 <= status <= 0x3F))
        with self._report_cond:
            self._reports[(reference, recipient)] = report
            self._report_cond.notify_all()
        self._events.put(report)

    def wait_for_report(self, reference: int, recipient: str, timeout: float = 30) -> StatusReport:
        """Block until the report for this sent part arrives (reports for other parts do not wake it up).
        The report is also put on ``events()``. Raises ModemTimeout."""
        deadline = time.monotonic() + timeout
        with self._report_cond:
            while (reference, recipient) not in self._reports:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ModemTimeout(f"no status report for message reference {reference} to {recipient}", "the network may report later, or not at all")
                self._report_cond.wait(left)
            return self._reports.pop((reference, recipient))

    # ------------------------------------------------------------------ stored messages
    @contextmanager
    def _pdu_mode(self, modem: _CcGsmModem) -> Iterator[None]:
        """Reads are done in PDU mode (exact text, UDH, UCS2); text mode is restored afterwards."""
        with modem._txLock:
            if modem._smsTextMode:
                modem.write("AT+CMGF=0")
                try:
                    yield
                finally:
                    modem.write("AT+CMGF=1")
            else:
                yield

    def _select_mem(self, modem: _CcGsmModem, mem: str) -> None:
        if mem and mem != modem._smsMemReadDelete:
            modem.write(f'AT+CPMS="{mem}"')
            modem._smsMemReadDelete = mem

    def _read_stored(self, modem: _CcGsmModem, mem: str, index: int) -> pdus.DecodedPdu | None:
        with modem._txLock, self._pdu_mode(modem):
            self._select_mem(modem, mem)
            try:
                lines = modem.write(f"AT+CMGR={index}", timeout=self.read_timeout)
            except CmsError as exc:
                self.log.warning("cannot read message %s/%d: %s", mem, index, exc)
                return None
        for i, line in enumerate(lines):
            if _CMGR_PDU.match(line) and i + 1 < len(lines):
                try:
                    return pdus.decode(lines[i + 1])
                except ValueError as exc:
                    self.log.error("undecodable message %s/%d left on the SIM: %s", mem, index, exc)
                    return None
        self.log.warning("empty answer reading message %s/%d: %r", mem, index, lines)
        return None

    def stored_messages(self) -> list[IncomingSms]:
        """Messages already on the SIM (call on start, before handling events). Parts of an incomplete
        multipart message wait for the rest (or the time limit) and come later through ``events()``."""
        modem = self._require()
        with self._lock:
            return self._stored_messages(modem)

    def _stored_messages(self, modem: _CcGsmModem) -> list[IncomingSms]:
        try:
            with modem._txLock, self._pdu_mode(modem):
                mem = self._read_mem
                self._select_mem(modem, mem)
                lines = modem.write("AT+CMGL=4", timeout=30)
        except TimeoutException:
            raise ModemTimeout(_TEXT["no_answer"][0].format(device=self.device), _TEXT["no_answer"][1]) from None
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc) from None
        found: list[tuple[int, pdus.DecodedPdu]] = []
        for i, line in enumerate(lines):
            m = _CMGL_PDU.match(line)
            if m and i + 1 < len(lines):
                try:
                    found.append((int(m.group(1)), pdus.decode(lines[i + 1])))
                except ValueError as exc:
                    self.log.error("undecodable message %s/%s left on the SIM: %s", mem, m.group(1), exc)
        out: list[IncomingSms] = []
        groups: dict[tuple[str, int, int], list[tuple[int, pdus.DecodedPdu]]] = {}
        with self._lock:
            for index, decoded in found:
                if decoded.type != "SMS-DELIVER" or (mem, index) in self._pending_refs:
                    continue
                self._pending_refs.add((mem, index))
                if decoded.concat is None or decoded.concat[1] <= 1:
                    out.append(IncomingSms(decoded.number, pdus.fix_text(decoded.text), _utc(decoded.time), 1, ((mem, index),)))
                else:
                    groups.setdefault((decoded.number, decoded.concat[0], decoded.concat[1]), []).append((index, decoded))
        for (_sender, _ref, total), members in groups.items():
            seqs = {d.concat[2] for _, d in members}  # type: ignore[index]
            if len(seqs) >= total:
                rs = Reassembler(1)
                sms = None
                for index, d in members:
                    sms = rs.add(d.number, d.concat, d.text, ((mem, index),), _utc(d.time)) or sms  # type: ignore[arg-type]
                if sms is not None:
                    out.append(sms)
            else:
                for index, d in members:
                    done = self._reassembler.add(d.number, d.concat, d.text, ((mem, index),), _utc(d.time))  # type: ignore[arg-type]
                    if done is not None:
                        self._events.put(done)
        out.sort(key=lambda s: min((r[1] for r in s.storage_refs), default=0))
        return out

    def delete_stored(self, sms: IncomingSms) -> None:
        """Delete the message's parts from the SIM. Call only after the message is stored safely."""
        if not sms.storage_refs:
            return
        modem = self._require()
        for mem, index in sms.storage_refs:
            with self._lock:
                if (mem, index) not in self._pending_refs:
                    continue  # never handed out, or already deleted: the index may hold another message now
            try:
                self._delete_ref(modem, mem, index)
            except TimeoutException:
                raise ModemTimeout(_TEXT["no_answer"][0].format(device=self.device), _TEXT["no_answer"][1]) from None
            except (serial.SerialException, OSError) as exc:
                raise self._lost(exc) from None

    def _delete_ref(self, modem: _CcGsmModem, mem: str, index: int) -> None:
        with modem._txLock:
            self._select_mem(modem, mem)
            try:
                modem.write(f"AT+CMGD={index}")
            except CmsError as exc:
                if exc.code != 321:  # 321: invalid index (already gone)
                    raise
        with self._lock:
            self._pending_refs.discard((mem, index))

    # ------------------------------------------------------------------ sending
    def send(self, phone: str, text: str, *, status_report: bool = True, timeout: float = 30) -> list[SentPart]:
        """Send one SMS (several parts when long). Returns the parts with their message references.

        Raises SendRejected (``.permanent``, ``.code``; ``.sent_parts`` lists parts that did go out before a
        later part failed), ModemTimeout (no answer), Unreachable (not connected / port gone)."""
        modem = self._require()
        sent: list[SentPart] = []
        try:
            if modem._smsTextMode and _fits_text_mode(text):
                sent.append(self._send_text_mode(modem, phone, text, status_report, timeout))
            else:
                with self._ref_lock:
                    self._concat_ref = concat_ref = (self._concat_ref + 1) % 256
                parts = pdus.encode_submit(phone, text, status_report=status_report, concat_ref=concat_ref)
                with modem._txLock, self._pdu_mode(modem):
                    for part in parts:
                        ref = self._cmgs(modem, f"AT+CMGS={part.tpdu_length}", part.hex, timeout)
                        sent.append(SentPart(ref, part.part_no, part.parts, phone))
        except CmsError as exc:
            code = exc.code or 0
            permanent = code in _PERMANENT_CMS
            advice = "the number or the message is not accepted: it will not be retried" if permanent else "temporary: it will be retried"
            err = SendRejected(_TEXT["send_refused"][0].format(phone=phone, code=code), advice, code=code, permanent=permanent)
            err.sent_parts = sent  # type: ignore[attr-defined]
            raise err from None
        except CommandError as exc:
            err = SendRejected(_TEXT["send_error"][0].format(device=self.device, phone=phone, error=exc), _TEXT["send_error"][1], code=getattr(exc, "code", None))
            err.sent_parts = sent  # type: ignore[attr-defined]
            raise err from None
        except TimeoutException:
            err2 = ModemTimeout(_TEXT["send_timeout"][0].format(device=self.device), _TEXT["send_timeout"][1])
            err2.sent_parts = sent  # type: ignore[attr-defined]
            raise err2 from None
        except (serial.SerialException, OSError) as exc:
            err3 = self._lost(exc)
            err3.sent_parts = sent  # type: ignore[attr-defined]
            raise err3 from None
        return sent

    def _cmgs(self, modem: _CcGsmModem, command: str, body: str, timeout: float) -> int:
        with modem._txLock:
            modem.write(command, timeout=min(5.0, timeout), expectedResponseTermSeq="> ")
            try:
                lines = modem.write(body, timeout=timeout, writeTerm=CTRLZ)
            except TimeoutException:
                try:
                    modem.write(ESC, waitForResponse=False, writeTerm="")  # leave the "> " prompt
                except Exception:  # noqa: BLE001
                    pass
                raise
        for line in lines:
            m = _CMGS.match(line)
            if m:
                return int(m.group(1))
        raise CommandError(f"{command}: no +CMGS in {lines!r}")

    def _send_text_mode(self, modem: _CcGsmModem, phone: str, text: str, status_report: bool, timeout: float) -> SentPart:
        with modem._txLock:
            want = 49 if status_report else 17
            if getattr(modem, "_cc_csmp", None) != want:
                modem.write(f"AT+CSMP={want},167,0,0", parseError=False)
                modem._cc_csmp = want  # type: ignore[attr-defined]
            ref = self._cmgs(modem, f'AT+CMGS="{phone}"', text, timeout)
        return SentPart(ref, 1, 1, phone)

    # ------------------------------------------------------------------ health
    def health(self) -> ModemHealth:
        modem = self._require()
        try:
            csq = next((m for m in map(_CSQ.match, modem.write("AT+CSQ")) if m), None)
            signal: int | None = int(csq.group(1)) if csq else None
            if signal == 99:
                signal = None
            creg = next((_CREG.match(x) for x in modem.write("AT+CREG?", parseError=False) if _CREG.match(x)), None)
            registered = bool(creg and creg.group(1) in ("1", "5"))
            operator = modem.networkName if registered else None
        except TimeoutException:
            raise ModemTimeout(_TEXT["no_answer"][0].format(device=self.device), _TEXT["no_answer"][1]) from None
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc) from None
        except CommandError:
            signal, registered, operator = None, False, None
        return ModemHealth(signal=signal, registered=registered, operator=operator, imei=self.imei, model=self.model)


_TEXT_MODE_SAFE = re.compile(r"^[A-Za-z0-9 .,:;!?'\"()+\-*/=%&#<>\n]*$")  # same bytes in ASCII and the GSM alphabet


def _fits_text_mode(text: str) -> bool:
    """Text mode only for short plain-ASCII texts; anything else goes as a PDU (exact, any alphabet)."""
    return len(text) <= 160 and bool(_TEXT_MODE_SAFE.match(text))


def _maybe_ucs2_hex(body: str) -> str:
    """A text-mode +CMT body of a UCS2 message is hex; tell it from a plain reply like "1234"."""
    s = body.strip()
    if len(s) < 4 or len(s) % 4 or not _HEX.match(s):
        return body
    units = [int(s[i : i + 4], 16) for i in range(0, len(s), 4)]
    plausible = all(u < 0x80 or 0x2000 <= u <= 0x9FFF or 0xD800 <= u <= 0xDFFF or 0xFF00 <= u <= 0xFFEF or 0x3000 <= u <= 0x30FF for u in units)
    if not plausible or all(u < 0x80 for u in units):
        return body
    return bytes.fromhex(s).decode("utf-16-be", "surrogatepass")


__all__ = ["GsmModemAdapter"]
