"""A GSM modem on a pseudo-terminal: the test double for the whole GSM path and the modem of ``cc demo``.

``ModemSimulator`` opens a pty (``os.openpty``) and answers, on the master side, the AT commands that
python-gsmmodem-new and ``cc.gsm.modem`` send: set-up (ATZ, ATE0, AT+CMEE, AT+CLAC, AT+CFUN), identity
(AT+CGMI/CGMM/CGMR/CGSN/CIMI), SIM (AT+CPIN? / AT+CPIN=), network (AT+CREG?, AT+COPS, AT+CSQ), SMS set-up
(AT+CMGF, AT+CSCS, AT+CSCA, AT+CSMP, AT+CPMS, AT+CNMI), sending in PDU and text mode (AT+CMGS with the
``> `` prompt and Ctrl-Z; the modem assigns the message reference), stored messages (AT+CMGR, AT+CMGL,
AT+CMGD) and delivery status reports (``+CDS`` direct or ``+CDSI`` stored). New messages from "phones"
(:meth:`deliver`) are stored on the simulated SIM and announced with ``+CMTI`` or handed over directly with
``+CMT``, as the ``AT+CNMI`` setting and the personality say. Chinese goes as UCS2, long texts as
concatenated parts (UDH).

The device path is a stable symlink (``link``) to ``/dev/pts/N``; unplugging closes the pty, re-plugging
opens a new one and re-points the same symlink, as udev does for a USB modem.

Faults (:meth:`fault`, also over the control socket): ``silence`` (no answer), ``error`` / ``cms_error``
(the next matching commands fail), ``garbage`` (junk lines), ``bad_byte`` (a non-UTF-8 byte),
``split`` (the next notifications arrive in pieces, a ``+CDS`` split between its two lines),
``burst`` (several SMS announced back to back), ``slow_send``, ``unplug`` / ``replug``, ``no_network``,
``clear``.

Control socket: one JSON object per line, answered by one JSON line (``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``); see :func:`control_request` and :meth:`ModemSimulator.handle_control`.
"""

from __future__ import annotations

import errno
import heapq
import itertools
import json
import logging
import os
import queue
import re
import select
import socket
import tempfile
import termios
import threading
import time
import tty
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from cc.gsm import pdu as pdus
from cc.gsm.personalities import PERSONALITIES, Personality

log = logging.getLogger("cc.gsm.simulator")

CTRL_Z, ESC = 0x1A, 0x1B
CHINA = timezone(timedelta(hours=8))
STORAGE_SIZE = {"SM": 50, "SM_P": 50, "ME": 255, "ME_P": 255, "MT": 305, "SR": 255}  # messages per memory
FAULT_KINDS = (
    "silence", "error", "cms_error", "garbage", "bad_byte", "split", "burst", "slow_send",
    "unplug", "replug", "no_network", "clear",
)


@dataclass
class StoredMessage:
    kind: str  # deliver | report
    pdu: str
    stat: int  # 0 unread, 1 read
    number: str  # sender (deliver) or recipient (report)
    text: str = ""
    scts: datetime | None = None
    reference: int = 0
    status: int = 0
    discharge: datetime | None = None
    ucs2: bool = False

    @property
    def tpdu_length(self) -> int:
        raw = bytes.fromhex(self.pdu)
        return len(raw) - raw[0] - 1


@dataclass
class SentPart:
    reference: int
    to: str
    text: str
    concat: tuple[int, int, int] | None
    status_report: bool
    at: float
    mode: str  # pdu | text


@dataclass
class SentMessage:
    to: str
    text: str
    parts: int
    references: list[int]
    status_report: bool
    mode: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Fault:
    kind: str
    match: str | None = None
    count: int = 1
    code: int = 500
    seconds: float = 0.0


def _scts_text(dt: datetime) -> str:
    quarter = int(dt.utcoffset().total_seconds() // 900) if dt.utcoffset() else 0
    return dt.strftime("%y/%m/%d,%H:%M:%S") + f"{quarter:+03d}"


class ModemSimulator:
    """A simulated GSM modem on a pty. ``start()`` it, connect to ``device_path``, ``stop()`` it."""

    def __init__(
        self,
        personality: str | Personality = "generic",
        *,
        delay: float = 0.0,
        link: str | os.PathLike | None = None,
        control: str | os.PathLike | None = None,
        pin: str | None = None,
        auto_report: bool = True,
        report_delay: float = 0.05,
        report_status: int = 0,
        three_wire: bool = False,
    ) -> None:
        if isinstance(personality, str):
            if personality not in PERSONALITIES:
                raise ValueError(f"unknown personality {personality!r}; known: {', '.join(PERSONALITIES)}")
            personality = PERSONALITIES[personality]
        self.personality = personality
        self.delay = delay
        self.pin = pin
        self.auto_report = auto_report
        self.report_delay = report_delay
        self.report_status = report_status
        self.three_wire = three_wire  # RX/TX/GND only: with RTS/CTS flow control on, nothing gets through
        self._own_dir: str | None = None
        if link is None:
            self._own_dir = tempfile.mkdtemp(prefix="cc-gsm-sim-")
            link = os.path.join(self._own_dir, "modem0")
        self.link = str(link)
        self.control_path = str(control) if control else None
        self._lock = threading.RLock()
        self._sent_cond = threading.Condition(self._lock)
        self._master: int | None = None
        self._client_open = False
        self._pts: str | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._stopped = False
        self._sched: list[tuple[float, int, Any, bool]] = []
        self._seq = itertools.count()
        self._outbuf = bytearray()
        self._inbuf = bytearray()
        self._sms_input: dict[str, Any] | None = None
        self._busy_until = 0.0
        self._stopping = False
        self._io_thread: threading.Thread | None = None
        self._control_thread: threading.Thread | None = None
        self._control_sock: socket.socket | None = None
        self._faults: list[_Fault] = []
        self._silent_until = 0.0
        self._split: tuple[int, float] = (0, 0.0)
        self._slow_sends: list[float] = []
        self._no_network = False
        self._concat_ref = itertools.count(1)
        self.plugged = False
        self.commands: list[str] = []  # every command received, for tests
        self._sent_parts: list[SentPart] = []
        self._held: list[tuple[str, StoredMessage, bool]] = []  # (memory, message, announce) waiting for room
        self._callbacks: list[Callable[[SentMessage], None]] = []
        self._callback_queue: queue.Queue[SentMessage] = queue.Queue()
        self._callback_thread: threading.Thread | None = None
        self._open_groups: dict[tuple[str, int, int], dict[int, SentPart]] = {}
        self._reset_state(power_on=True)

    # ------------------------------------------------------------------ state
    def _reset_state(self, *, power_on: bool = False) -> None:
        p = self.personality
        self.echo = p.echo_after_reset
        self.cmee = 0
        if power_on:
            self.pin_ok = self.pin is None
            self.text_mode = False
            self.cscs = "GSM"
            self.csmp_fo = 17
            self.cnmi = (0, 0, 0, 0, 0)
            self.mems = ["SM", "SM", "SM"]
            self.storage: dict[str, dict[int, StoredMessage]] = {"SM": {}, "ME": {}, "SR": {}, "MT": {}, "SM_P": {}, "ME_P": {}}
            self.smsc = "+8613800100500"
            self.next_reference = p.first_reference
            self.cfun = 1

    # ------------------------------------------------------------------ lifecycle
    @property
    def device_path(self) -> str:
        """The stable path to open (a symlink to the current /dev/pts/N)."""
        return self.link

    @property
    def pts_path(self) -> str | None:
        return self._pts

    def start(self) -> ModemSimulator:
        self._plug()
        self._io_thread = threading.Thread(target=self._io_loop, name="gsm-sim-io", daemon=True)
        self._io_thread.start()
        if self.control_path:
            self._start_control()
        return self

    def stop(self) -> None:
        # Idempotent, and no descriptor is closed while the I/O thread may still use its number: a closed
        # number is soon reused (by the next port a test or the gateway opens), and a second close or a late
        # read/write would then hit that other file (seen as EBADF on a fresh serial port under load).
        if self._stopped:
            return
        self._stopped = True
        self._stopping = True
        self._wake()
        for thread in (self._io_thread, self._callback_thread):
            if thread is not None:
                thread.join(timeout=30)
                if thread.is_alive():
                    log.warning("modem simulator: %s did not stop; its descriptors are left open", thread.name)
                    return
        if self._control_sock is not None:
            try:
                self._control_sock.close()
            except OSError:
                pass
            try:
                os.unlink(self.control_path)  # type: ignore[arg-type]
            except OSError:
                pass
        self._unplug()
        try:
            os.unlink(self.link)
        except OSError:
            pass
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        if self._own_dir:
            try:
                os.rmdir(self._own_dir)
            except OSError:
                pass

    def __enter__(self) -> ModemSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _plug(self) -> None:
        with self._lock:
            master, slave = os.openpty()
            tty.setraw(slave)
            os.set_blocking(master, False)
            self._pts = os.ttyname(slave)
            os.close(slave)  # only the client holds the slave: its close is seen as a hang-up (DTR drop)
            self._master = master
            self._client_open = False
            tmp = f"{self.link}.{os.getpid()}.tmp"
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            os.symlink(self._pts, tmp)
            os.replace(tmp, self.link)
            self._inbuf.clear()
            self._outbuf.clear()
            self._sms_input = None
            self._busy_until = 0.0
            self._reset_state()
            self.plugged = True
            log.info("modem %s plugged in at %s -> %s", self.personality.name, self.link, self._pts)

    def _unplug(self) -> None:
        with self._lock:
            if self._master is not None:
                try:
                    os.close(self._master)
                except OSError:
                    pass
            self._master = None
            self._client_open = False
            self._sched = [item for item in self._sched if callable(item[2])]
            heapq.heapify(self._sched)
            self.plugged = False
            try:
                os.unlink(self.link)
            except OSError:
                pass

    def _hangup(self) -> None:
        """The host closed the port (DTR dropped): abandon a half-typed SMS and answers nobody will read.
        What the program wrote just before closing was on the wire before DTR dropped: a modem took it in
        (and drops it with the rest), so it must not reach the next program's command line (measured under
        load: one hang-up in ten left half a PDU in the pty, and the next program's AT answered ERROR)."""
        self._discard_unread()
        with self._lock:
            self._client_open = False
            self._sms_input = None
            self._inbuf.clear()
            self._outbuf.clear()
            self._sched = [item for item in self._sched if not item[3]]
            heapq.heapify(self._sched)
            self._busy_until = 0.0

    def _discard_unread(self) -> None:
        master = self._master
        for _ in range(256):  # bounded: a pty holds a few KiB
            try:
                if master is None or not select.select([master], [], [], 0)[0] or not os.read(master, 4096):
                    return
            except OSError:  # EIO: nothing left from the closed side
                return

    @property
    def client_connected(self) -> bool:
        """Whether a program has the port open (as the simulator last saw it)."""
        return self._client_open

    def client_rtscts(self) -> bool:
        """Whether the program on the other side turned RTS/CTS hardware flow control on."""
        master = self._master
        if master is None:
            return False
        try:
            return bool(termios.tcgetattr(master)[2] & termios.CRTSCTS)
        except termios.error:
            return False

    # ------------------------------------------------------------------ scheduling and I/O
    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _at(self, when: float, action: bytes | Callable[[], bytes | None], *, reply: bool = False) -> None:
        with self._lock:
            heapq.heappush(self._sched, (when, next(self._seq), action, reply))
        self._wake()

    def _emit(self, data: bytes, delay: float = 0.0) -> None:
        self._at(time.monotonic() + delay, data)

    def _reply(self, lines: list[str], final: str | None = "OK", *, delay: float = 0.0, raw: bytes | None = None) -> None:
        """Queue a command's answer after the modem finished any earlier (slow) command."""
        body = b"".join(b"\r\n" + line.encode("utf-8", "surrogatepass") + b"\r\n" for line in lines)
        if final:
            body += b"\r\n" + final.encode() + b"\r\n"
        if raw is not None:
            body = raw
        with self._lock:
            when = max(time.monotonic(), self._busy_until) + delay
            self._busy_until = when
            self._at(when, body, reply=True)

    @staticmethod
    def _no_client(master: int) -> bool:
        poller = select.poll()
        poller.register(master, select.POLLHUP)
        try:
            return any(ev & select.POLLHUP for _, ev in poller.poll(0))
        except OSError:
            return True

    def _io_loop(self) -> None:
        while not self._stopping:
            master = self._master
            if master is not None:
                gone = self._no_client(master)
                if gone and self._client_open:
                    self._hangup()
                elif not gone and not self._client_open:
                    self._client_open = True
            with self._lock:
                now = time.monotonic()
                due: list[Any] = []
                while self._sched and self._sched[0][0] <= now:
                    due.append(heapq.heappop(self._sched)[2])
                timeout = max(0.0, self._sched[0][0] - now) if self._sched else 0.5
            for action in due:
                data = action() if callable(action) else action
                if data and self._master is not None and self._client_open:
                    self._outbuf += data
            master = self._master
            live = master is not None and self._client_open
            rlist = [self._wake_r] + ([master] if live else [])
            wlist = [master] if live and self._outbuf else []
            try:
                readable, _, _ = select.select(rlist, wlist, [], min(timeout, 0.5 if live else 0.02))
            except (OSError, ValueError):
                continue
            if self._wake_r in readable:
                try:
                    os.read(self._wake_r, 4096)
                except OSError:
                    pass
            if live and master in readable and master == self._master:
                try:
                    data = os.read(master, 4096)
                except OSError as exc:
                    if exc.errno == errno.EIO:
                        self._hangup()  # the client closed the port
                    elif exc.errno != errno.EAGAIN:
                        log.warning("pty read failed: %s", exc)
                    data = b""
                if data:
                    self._feed(data)
            if live and master == self._master and self._outbuf:
                try:
                    n = os.write(master, bytes(self._outbuf))
                    del self._outbuf[:n]
                except OSError as exc:
                    if exc.errno != errno.EAGAIN:
                        self._outbuf.clear()

    def _client_blocked(self) -> bool:
        return self.three_wire and self.client_rtscts()

    def _feed(self, data: bytes) -> None:
        with self._lock:
            if time.monotonic() < self._silent_until or self._client_blocked():
                self._inbuf.clear()
                return
            for byte in data:
                if self._sms_input is not None:
                    if byte == CTRL_Z:
                        payload = bytes(self._inbuf).decode("utf-8", "replace")
                        self._inbuf.clear()
                        state, self._sms_input = self._sms_input, None
                        self._finish_cmgs(state, payload)
                    elif byte == ESC:
                        self._inbuf.clear()
                        self._sms_input = None
                        self._reply([], "OK")
                    elif byte not in (0x0D, 0x0A) or state_text(self._sms_input):
                        self._inbuf.append(byte)
                    continue
                if byte == ESC:
                    self._inbuf.clear()  # nothing to cancel in command mode
                elif byte == 0x0D:
                    line = bytes(self._inbuf).decode("utf-8", "replace").strip()
                    self._inbuf.clear()
                    if line:
                        if self.echo:
                            self._emit(line.encode() + b"\r")
                        self._command(line)
                elif byte != 0x0A:
                    self._inbuf.append(byte)

    # ------------------------------------------------------------------ commands
    def _err(self, code: int = 4) -> str:
        return f"+CME ERROR: {code}" if self.cmee else "ERROR"

    def _take_fault(self, kinds: tuple[str, ...], command: str) -> _Fault | None:
        for fault in self._faults:
            if fault.kind in kinds and (fault.match is None or command.upper().startswith(fault.match.upper())):
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _command(self, line: str) -> None:
        self.commands.append(line)
        up = line.upper()
        if not up.startswith("AT"):
            self._reply([], "ERROR")
            return
        body, ubody = line[2:], up[2:]
        if not ubody.startswith("+CMGS"):
            fault = self._take_fault(("error", "cms_error"), line)
            if fault:
                self._reply([], "ERROR" if fault.kind == "error" else f"+CMS ERROR: {fault.code}")
                return
        for prefix in self.personality.reject:
            if ubody.startswith(prefix.upper()):
                self._reply([], self._err(4) if self.personality.unknown_reply == "ERROR" else self.personality.unknown_reply)
                return
        try:
            handled = self._dispatch(body, ubody)
        except (ValueError, IndexError):
            self._reply([], self._err(50))
            return
        if not handled:
            self._reply([], self.personality.unknown_reply)

    def _need_pin(self) -> bool:
        if not self.pin_ok:
            self._reply([], "+CME ERROR: 11")
            return True
        return False

    def _dispatch(self, body: str, u: str) -> bool:  # noqa: C901 - one branch per AT command
        p = self.personality
        r = self._reply
        if u == "":
            r([])
        elif u in ("Z", "Z0"):
            self._reset_state()
            r([])
        elif u in ("E0", "E1"):
            self.echo = u == "E1"
            r([])
        elif u.startswith("+CMEE="):
            self.cmee = int(u[6:] or 0)
            r([])
        elif u == "+CLAC":
            if p.clac is None:
                return False
            r(list(p.clac))
        elif u == "+CFUN?":
            r([f"+CFUN: {self.cfun}"])
        elif u.startswith("+CFUN="):
            self.cfun = int(u[6:].split(",")[0])
            r([])
        elif u == "+CPIN?":
            r(["+CPIN: READY" if self.pin_ok else "+CPIN: SIM PIN"])
        elif u.startswith("+CPIN="):
            given = body[6:].split(",")[0].strip().strip('"')
            if self.pin_ok:
                r([])
            elif given == self.pin:
                self.pin_ok = True
                r([])
            else:
                r([], "+CME ERROR: 16")
        elif u == "+CGMI":
            r([p.manufacturer])
        elif u == "+CGMM":
            r([p.model])
        elif u == "+CGMR":
            r([p.revision])
        elif u in ("+CGSN", "+GSN"):
            r([p.imei])
        elif u == "+CIMI":
            if not self._need_pin():
                r([p.imsi])
        elif u == "+CSQ":
            r(["+CSQ: 99,99" if self._no_network else f"+CSQ: {p.signal},99"])
        elif u == "+CREG?":
            r(["+CREG: 0,2" if self._no_network else "+CREG: 0,1"])
        elif u.startswith("+CREG="):
            r([])
        elif u == "+COPS?":
            r(["+COPS: 0" if self._no_network else f'+COPS: 0,0,"{p.operator}",7'])
        elif u.startswith("+COPS="):
            r([])
        elif u.startswith("+CMGF="):
            self.text_mode = u[6:] == "1"
            r([])
        elif u == "+CMGF?":
            r([f"+CMGF: {1 if self.text_mode else 0}"])
        elif u == "+CSCS=?":
            r(['+CSCS: ("GSM","UCS2","IRA")'])
        elif u == "+CSCS?":
            r([f'+CSCS: "{self.cscs}"'])
        elif u.startswith("+CSCS="):
            self.cscs = body[6:].strip('"').upper()
            r([])
        elif u == "+CSCA?":
            r([f'+CSCA: "{self.smsc}",145'])
        elif u.startswith("+CSCA="):
            self.smsc = body[6:].split(",")[0].strip('"')
            r([])
        elif u.startswith("+CSMP="):
            self.csmp_fo = int(u[6:].split(",")[0])
            r([])
        elif u == "+CSMP?":
            r([f"+CSMP: {self.csmp_fo},167,0,0"])
        elif u == "+CPMS=?":
            r([f"+CPMS: {p.cpms_support}"])
        elif u == "+CPMS?":
            parts = []
            for mem in self.mems:
                parts.append(f'"{mem}",{len(self.storage[mem])},{STORAGE_SIZE[mem]}')
            r(["+CPMS: " + ",".join(parts)])
        elif u.startswith("+CPMS="):
            self._cpms(u[6:])
        elif u == "+CNMI?":
            r(["+CNMI: " + ",".join(map(str, self.cnmi))])
        elif u.startswith("+CNMI="):
            args = u[6:]
            if args not in p.cnmi_accept:
                r([], self._err(3))
            else:
                values = [int(x or 0) for x in args.split(",")] + [0] * 5
                self.cnmi = tuple(values[:5])  # type: ignore[assignment]
                r([])
        elif u.startswith("+CMGS="):
            self._start_cmgs(body[6:])
        elif u.startswith("+CMGR="):
            if not self._need_pin():
                self._cmgr(int(u[6:]))
        elif u.startswith("+CMGL"):
            if not self._need_pin():
                self._cmgl(body[6:] if u.startswith("+CMGL=") else ("ALL" if self.text_mode else "4"))
        elif u.startswith("+CMGD="):
            if not self._need_pin():
                self._cmgd(u[6:])
        elif u.startswith(("+CLIP=", "+CRC=", "+CVHU=", "+CNMA", "+DDET=", "^CVOICE=", "^USSDMODE=", "+CSMS")):
            r([])
        elif u == "+WIND?" and p.clac and "+WIND" in p.clac:
            r(["+WIND: 0"])
        elif u.startswith("+WIND=") and p.clac and "+WIND" in p.clac:
            r([])
        elif u.endswith("=?") and p.clac and u[:-2] in p.clac:
            r([])
        elif u in ("I", "I0"):
            r([f"{p.manufacturer} {p.model}"])
        else:
            return False
        return True

    def _cpms(self, args: str) -> None:
        for bad in self.personality.cpms_reject:
            if bad in args:
                self._reply([], "+CMS ERROR: 302")
                return
        wanted = [a.strip().strip('"') for a in args.split(",") if a.strip()]
        supported = re.findall(r'"([A-Z_]+)"', self.personality.cpms_support)
        if not wanted or any(m not in supported or m not in self.storage for m in wanted):
            self._reply([], "+CMS ERROR: 302")
            return
        for i, mem in enumerate(wanted[:3]):
            self.mems[i] = mem
        counts = ",".join(f"{len(self.storage[m])},{STORAGE_SIZE[m]}" for m in self.mems)
        self._reply([f"+CPMS: {counts}"])

    def _start_cmgs(self, arg: str) -> None:
        if self._need_pin():
            return
        if self.text_mode:
            number = arg.split(",")[0].strip().strip('"')
            if self.cscs == "UCS2":
                number = bytes.fromhex(number).decode("utf-16-be")
            self._sms_input = {"mode": "text", "to": number}
        else:
            self._sms_input = {"mode": "pdu", "length": int(arg.split(",")[0])}
        self._emit(b"\r\n> ")

    def _finish_cmgs(self, state: dict[str, Any], payload: str) -> None:
        fault = self._take_fault(("error", "cms_error"), "AT+CMGS")
        if fault:
            self._reply([], "ERROR" if fault.kind == "error" else f"+CMS ERROR: {fault.code}", delay=self.delay)
            return
        if self._no_network:
            self._reply([], "+CMS ERROR: 331", delay=self.delay)
            return
        if state["mode"] == "pdu":
            try:
                decoded = pdus.decode(payload.strip())
            except ValueError:
                self._reply([], "+CMS ERROR: 304")
                return
            if decoded.type != "SMS-SUBMIT" or decoded.tpdu_length != state["length"]:
                self._reply([], "+CMS ERROR: 304")
                return
            part = SentPart(
                reference=self.next_reference,
                to=decoded.number,
                text=decoded.text,
                concat=decoded.concat,
                status_report=decoded.status_report_requested,
                at=time.time(),
                mode="pdu",
            )
        else:
            text = payload
            if self.cscs == "UCS2":
                text = bytes.fromhex(text.strip()).decode("utf-16-be", "surrogatepass")
            part = SentPart(
                reference=self.next_reference,
                to=state["to"],
                text=text,
                concat=None,
                status_report=bool(self.csmp_fo & 0x20),
                at=time.time(),
                mode="text",
            )
        self.next_reference = (self.next_reference + 1) % 256
        extra = self._slow_sends.pop(0) if self._slow_sends else 0.0
        self._reply([f"+CMGS: {part.reference}"], delay=self.delay + extra)
        when = self._busy_until
        with self._sent_cond:
            self._sent_parts.append(part)
            self._sent_cond.notify_all()
        self._message_done(part)
        if part.status_report and self.auto_report:
            self._at(when + self.report_delay, lambda: self._report_bytes(part.reference, part.to, self.report_status))

    def _message_done(self, part: SentPart) -> None:
        """Hand a completely sent message to the ``on_sent`` callbacks (on their own thread)."""
        if not self._callbacks:
            return
        if part.concat is None:
            message = SentMessage(part.to, pdus.fix_text(part.text), 1, [part.reference], part.status_report, part.mode, part.at)
        else:
            ref, total, seq = part.concat
            group = self._open_groups.setdefault((part.to, ref, total), {})
            group[seq] = part
            if len(group) < total:
                return
            del self._open_groups[(part.to, ref, total)]
            ordered = [group[i] for i in sorted(group)]
            message = SentMessage(
                part.to, pdus.fix_text("".join(p.text for p in ordered)), total, [p.reference for p in ordered],
                ordered[0].status_report, part.mode, part.at,
            )
        self._callback_queue.put(message)

    def on_sent(self, callback: Callable[[SentMessage], None]) -> None:
        """Call ``callback(message)`` for every message the modem sends from now on (parts joined), on a
        thread of its own, so it may ``deliver()`` a reply: the simulated customers of ``cc demo``."""
        with self._lock:
            self._callbacks.append(callback)
            if self._callback_thread is None:
                self._callback_thread = threading.Thread(target=self._run_callbacks, name="gsm-sim-callbacks", daemon=True)
                self._callback_thread.start()

    def _run_callbacks(self) -> None:
        while not self._stopping:
            try:
                message = self._callback_queue.get(timeout=0.2)
            except queue.Empty:
                continue
            for callback in list(self._callbacks):
                try:
                    callback(message)
                except Exception:  # noqa: BLE001 - a test's or the demo's callback must not stop the modem
                    log.exception("on_sent callback failed")

    def _cmgr(self, index: int) -> None:
        msg = self.storage[self.mems[0]].get(index)
        if msg is None:
            self._reply([], "+CMS ERROR: 321")
            return
        stat = msg.stat
        if msg.kind == "deliver":
            msg.stat = 1
        if not self.text_mode:
            self._reply([f"+CMGR: {stat},,{msg.tpdu_length}", msg.pdu])
        elif msg.kind == "deliver":
            status = "REC UNREAD" if stat == 0 else "REC READ"
            body = msg.text.encode("utf-16-be", "surrogatepass").hex().upper() if msg.ucs2 else msg.text
            self._reply([f'+CMGR: "{status}","{msg.number}",,"{_scts_text(msg.scts)}"', body])  # type: ignore[arg-type]
        else:
            status = "REC UNREAD" if stat == 0 else "REC READ"
            self._reply(
                [f'+CMGR: "{status}",6,{msg.reference},"{msg.number}",145,"{_scts_text(msg.scts)}","{_scts_text(msg.discharge)}",{msg.status}']  # type: ignore[arg-type]
            )

    def _cmgl(self, arg: str) -> None:
        arg = arg.strip().strip('"').upper()
        wanted = {"0": {0}, "1": {1}, "4": {0, 1}, "REC UNREAD": {0}, "REC READ": {1}, "ALL": {0, 1}}.get(arg)
        if wanted is None:
            self._reply([], "+CMS ERROR: 302")
            return
        lines = []
        for index, msg in sorted(self.storage[self.mems[0]].items()):
            if msg.stat not in wanted:
                continue
            if self.text_mode:
                status = "REC UNREAD" if msg.stat == 0 else "REC READ"
                body = msg.text.encode("utf-16-be", "surrogatepass").hex().upper() if msg.ucs2 else msg.text
                lines += [f'+CMGL: {index},"{status}","{msg.number}",,"{_scts_text(msg.scts)}"', body]  # type: ignore[arg-type]
            else:
                lines += [f"+CMGL: {index},{msg.stat},,{msg.tpdu_length}", msg.pdu]
            if msg.kind == "deliver":
                msg.stat = 1
        self._reply(lines)

    def _cmgd(self, args: str) -> None:
        parts = [int(x) for x in args.split(",") if x.strip()]
        index, flag = parts[0], (parts[1] if len(parts) > 1 else 0)
        store = self.storage[self.mems[0]]
        if flag == 0:
            if index not in store:
                self._reply([], "+CMS ERROR: 321")
                return
            del store[index]
        elif flag == 4:
            store.clear()
        else:
            for i in [i for i, m in store.items() if m.stat == 1]:
                del store[i]
        self._reply([])
        if self._held:
            self._release_held()

    # ------------------------------------------------------------------ unsolicited output
    def _notify(self, chunks: list[bytes]) -> None:
        """Write notifications; with the ``split`` fault, in pieces with pauses between lines."""
        data = b"".join(chunks)
        count, pause = self._split
        if count > 0:
            self._split = (count - 1, pause)
            pieces = [piece + b"\r\n" for piece in data.split(b"\r\n")[:-1]]
            now = time.monotonic()
            t = now
            for piece in pieces:
                if not piece.strip():
                    self._at(t, piece)
                    continue
                half = max(1, len(piece) // 2)
                self._at(t, piece[:half])
                self._at(t + pause / 4, piece[half:])
                t += pause
            with self._lock:  # a modem never puts a command's answer inside an unsolicited result
                self._busy_until = max(self._busy_until, t)
            return
        self._emit(data)

    def _release_held(self) -> None:
        """Room was made: messages the network held back arrive now."""
        held, self._held = self._held, []
        for mem, msg, announce in held:
            index = self._store(mem, msg)
            if index is None:
                self._held.append((mem, msg, announce))
            elif announce:
                self._notify([f'\r\n+{"CMTI" if msg.kind == "deliver" else "CDSI"}: "{mem}",{index}\r\n'.encode()])

    def _store(self, mem: str, msg: StoredMessage) -> int | None:
        store = self.storage[mem]
        for index in range(1, STORAGE_SIZE[mem] + 1):
            if index not in store:
                store[index] = msg
                return index
        return None

    def _report_bytes(self, reference: int, recipient: str, status: int) -> bytes | None:
        """A status report for ``reference``, delivered as AT+CNMI's <ds> asks (None: not reported)."""
        with self._lock:
            now = datetime.now(CHINA).replace(microsecond=0)
            pdu = pdus.encode_status_report(reference, recipient, scts=now - timedelta(seconds=2), discharge=now, status=status)
            msg = StoredMessage("report", pdu, 0, recipient, scts=now - timedelta(seconds=2), reference=reference, status=status, discharge=now)
            ds = self.cnmi[3]
            if ds == 1:
                if self.text_mode:
                    line = f'+CDS: 6,{reference},"{recipient}",145,"{_scts_text(msg.scts)}","{_scts_text(now)}",{status}'  # type: ignore[arg-type]
                    self._notify([f"\r\n{line}\r\n".encode()])
                else:
                    self._notify([f"\r\n+CDS: {msg.tpdu_length}\r\n{pdu}\r\n".encode()])
            elif ds == 2:
                mem = "SR" if "SR" in self.personality.cpms_support else self.mems[2]
                index = self._store(mem, msg)
                if index is None:
                    self._held.append((mem, msg, True))
                else:
                    self._notify([f'\r\n+CDSI: "{mem}",{index}\r\n'.encode()])
        return None

    # ------------------------------------------------------------------ public API
    def deliver(
        self,
        sender: str,
        text: str,
        *,
        ucs2: bool = False,
        gap: float = 0.0,
        skip_parts: tuple[int, ...] | list[int] = (),
        reverse: bool = False,
        concat_ref: int | None = None,
        when: datetime | None = None,
        announce: bool = True,
    ) -> list[int]:
        """An SMS from a phone reaches the modem. Long texts arrive as several parts, announced back to back
        (``gap`` seconds apart when given). Returns the SIM indexes used (empty for direct delivery)."""
        with self._lock:
            if not self.plugged:
                raise RuntimeError("modem is unplugged")
            ref = concat_ref if concat_ref is not None else next(self._concat_ref) % 256
            scts = (when or datetime.now(CHINA)).replace(microsecond=0)
            if scts.tzinfo is None:
                scts = scts.replace(tzinfo=CHINA)
            hexes = pdus.encode_deliver(sender, text, scts=scts, concat_ref=ref, force_ucs2=ucs2)
            _, chunks = pdus.split_text(text, force_ucs2=ucs2)
            order = list(range(len(hexes)))
            if reverse:
                order.reverse()
            direct = announce and (self.personality.direct_delivery or self.cnmi[1] == 2)
            mem = self.mems[2]
            indexes: list[int] = []
            notes: list[bytes] = []
            for i in order:
                if i + 1 in skip_parts:
                    continue
                is_ucs2 = pdus.decode(hexes[i]).alphabet == pdus.UCS2
                msg = StoredMessage("deliver", hexes[i], 0, sender, chunks[i], scts, ucs2=is_ucs2)
                if direct:
                    if self.text_mode:
                        body = msg.text.encode("utf-16-be", "surrogatepass").hex().upper() if is_ucs2 else msg.text
                        notes.append(f'\r\n+CMT: "{sender}",,"{_scts_text(scts)}"\r\n{body}\r\n'.encode("utf-8", "surrogatepass"))
                    else:
                        notes.append(f"\r\n+CMT: ,{msg.tpdu_length}\r\n{msg.pdu}\r\n".encode())
                    continue
                index = self._store(mem, msg)
                if index is None:  # memory full: the network keeps it and tries again when there is room
                    self._held.append((mem, msg, announce))
                    continue
                indexes.append(index)
                if announce and self.cnmi[1] in (1, 3):
                    notes.append(f'\r\n+CMTI: "{mem}",{index}\r\n'.encode())
            if not notes:
                return indexes
            if gap > 0:
                now = time.monotonic()
                for k, note in enumerate(notes):
                    self._at(now + k * gap, lambda n=note: (self._notify([n]), None)[1])
            else:
                self._notify(notes)
            return indexes

    def store(self, sender: str, text: str, *, ucs2: bool = False, read: bool = False) -> list[int]:
        """Put a message on the SIM without announcing it (as if it came while nobody listened)."""
        with self._lock:
            indexes = self.deliver(sender, text, ucs2=ucs2, announce=False)
            if read:
                for index in indexes:
                    self.storage[self.mems[2]][index].stat = 1
            return indexes

    def stored(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"memory": mem, "index": i, "kind": m.kind, "number": m.number, "text": m.text, "read": bool(m.stat)}
                for mem, store in self.storage.items()
                for i, m in sorted(store.items())
            ]

    def send_status_report(self, reference: int, *, status: int = 0, recipient: str | None = None) -> None:
        """Emit a status report now (e.g. with ``auto_report=False``, or a second report for a reference)."""
        if recipient is None:
            with self._lock:
                matches = [p.to for p in self._sent_parts if p.reference == reference]
            recipient = matches[-1] if matches else "+8613800000000"
        self._at(time.monotonic(), lambda: self._report_bytes(reference, recipient, status))  # type: ignore[arg-type]

    def sent_parts(self) -> list[SentPart]:
        with self._lock:
            return list(self._sent_parts)

    def sent_messages(self) -> list[SentMessage]:
        """Outgoing messages, parts of a concatenated message joined, in the order they were completed."""
        with self._lock:
            parts = list(self._sent_parts)
        done: list[SentMessage] = []
        groups: dict[tuple[str, int, int], dict[int, SentPart]] = {}
        for part in parts:
            if part.concat is None:
                done.append(SentMessage(part.to, pdus.fix_text(part.text), 1, [part.reference], part.status_report, part.mode, part.at))
                continue
            ref, total, seq = part.concat
            group = groups.setdefault((part.to, ref, total), {})
            group[seq] = part
            if len(group) == total:
                ordered = [group[i] for i in sorted(group)]
                text = pdus.fix_text("".join(p.text for p in ordered))
                done.append(
                    SentMessage(part.to, text, total, [p.reference for p in ordered], ordered[0].status_report, part.mode, part.at)
                )
                del groups[(part.to, ref, total)]
        return done

    def wait_for_sent(self, n: int, timeout: float = 5.0) -> list[SentMessage]:
        """Block until at least ``n`` complete messages were sent; raises TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._sent_cond:
            while True:
                messages = self.sent_messages()
                if len(messages) >= n:
                    return messages
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"only {len(messages)} of {n} messages sent within {timeout}s")
                self._sent_cond.wait(left)

    def fault(self, kind: str, **args: Any) -> None:
        """Inject a fault (also ``{"cmd": "fault", "kind": ..., <args>}`` on the control socket).

        ``silence`` [seconds]: commands get no answer (until ``clear`` when no seconds given).
        ``error`` [command, count]: the next ``count`` commands (starting with ``command``) answer ERROR.
        ``cms_error`` [code=500, count, command="AT+CMGS"]: ... answer ``+CMS ERROR: code`` (for AT+CMGS,
        after the PDU was typed). ``garbage`` [lines]: junk lines now. ``bad_byte``: a line with a
        non-UTF-8 byte now. ``split`` [count, pause=0.3]: the next ``count`` notifications arrive in pieces,
        ``pause`` seconds apart (a ``+CDS`` header and its PDU in separate reads). ``burst`` [count, sender,
        text]: ``count`` SMS announced back to back. ``slow_send`` [seconds=3, count]: the next sends take
        that much longer. ``unplug`` [replug_after]: the port disappears (the symlink too); ``replug``: a new
        pty behind the same path. ``no_network`` [on=True]: not registered, sends fail with +CMS ERROR: 331.
        ``clear``: end every fault.
        """
        kind = kind.replace("-", "_")
        count = int(args.get("count", 1))
        match = args.get("command") or args.get("match")
        if kind == "silence":
            seconds = args.get("seconds")
            with self._lock:
                self._silent_until = time.monotonic() + (float(seconds) if seconds is not None else 1e9)
        elif kind == "error":
            with self._lock:
                self._faults.append(_Fault("error", match, count))
        elif kind == "cms_error":
            with self._lock:
                self._faults.append(_Fault("cms_error", match or "AT+CMGS", count, int(args.get("code", 500))))
        elif kind == "garbage":
            lines = args.get("lines") or ["~~~ NO CARRIER ~~~", "+XYZ: 1,2,3", "\x07\x01junk"]
            self._emit(b"".join(b"\r\n" + str(line).encode() + b"\r\n" for line in lines))
        elif kind == "bad_byte":
            self._emit(b"\r\n^BOOT:\xff\xfe,0,0\r\n")
        elif kind == "split":
            with self._lock:
                self._split = (count, float(args.get("pause", 0.3)))
        elif kind == "burst":
            sender = args.get("sender") or args.get("from") or "+8613900139000"
            with self._lock:
                for i in range(count):
                    saved = self._split
                    self._split = (0, 0.0)
                    self.deliver(sender, f"{args.get('text', 'burst')} {i + 1}")
                    self._split = saved
        elif kind == "slow_send":
            with self._lock:
                self._slow_sends.extend([float(args.get("seconds", 3.0))] * count)
        elif kind == "unplug":
            self._call_in_io(self._unplug)
            after = args.get("replug_after")
            if after is not None:
                self._at(time.monotonic() + float(after), lambda: (self._plug(), None)[1])
        elif kind == "replug":
            self._call_in_io(self._plug)
        elif kind == "no_network":
            with self._lock:
                self._no_network = bool(args.get("on", True))
        elif kind == "clear":
            with self._lock:
                self._faults.clear()
                self._silent_until = 0.0
                self._split = (0, 0.0)
                self._slow_sends.clear()
                self._no_network = False
        else:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")

    def _call_in_io(self, fn: Callable[[], None]) -> None:
        done = threading.Event()

        def action() -> None:
            try:
                fn()
            finally:
                done.set()

        if self._io_thread is None or not self._io_thread.is_alive():
            action()
            return
        self._at(time.monotonic(), lambda: (action(), None)[1])
        done.wait(5)

    # ------------------------------------------------------------------ control socket
    def _start_control(self) -> None:
        path = self.control_path
        assert path
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        sock.listen(8)
        self._control_sock = sock
        self._control_thread = threading.Thread(target=self._accept_loop, name="gsm-sim-control", daemon=True)
        self._control_thread.start()

    def _accept_loop(self) -> None:
        assert self._control_sock is not None
        while not self._stopping:
            try:
                conn, _ = self._control_sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve_control, args=(conn,), daemon=True).start()

    def _serve_control(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            for raw in stream:
                try:
                    request = json.loads(raw.decode("utf-8"))
                    if not isinstance(request, dict):
                        raise ValueError("send one JSON object per line")
                    answer = self.handle_control(request)
                except Exception as exc:  # noqa: BLE001 - every failure becomes an answer line
                    answer = {"ok": False, "error": str(exc)}
                stream.write(json.dumps(answer, ensure_ascii=False).encode("utf-8") + b"\n")
                stream.flush()

    def handle_control(self, request: dict[str, Any]) -> dict[str, Any]:
        """One control request: ping | deliver | sent | fault | report | stored."""
        cmd = request.get("cmd")
        if cmd == "ping":
            return {"ok": True, "device": self.device_path, "pts": self._pts, "personality": self.personality.name, "plugged": self.plugged}
        if cmd == "deliver":
            indexes = self.deliver(
                str(request["from"]),
                str(request["text"]),
                ucs2=bool(request.get("ucs2", False)),
                gap=float(request.get("gap", 0.0)),
                skip_parts=tuple(request.get("skip_parts", ())),
                reverse=bool(request.get("reverse", False)),
            )
            return {"ok": True, "indexes": indexes}
        if cmd == "sent":
            return {"ok": True, "messages": [m.to_dict() for m in self.sent_messages()]}
        if cmd == "fault":
            args = {k: v for k, v in request.items() if k not in ("cmd", "kind")}
            self.fault(str(request["kind"]), **args)
            return {"ok": True}
        if cmd == "report":
            self.send_status_report(int(request["reference"]), status=int(request.get("status", 0)))
            return {"ok": True}
        if cmd == "stored":
            return {"ok": True, "messages": self.stored()}
        raise ValueError(f"unknown control command {cmd!r}")


def state_text(state: dict[str, Any] | None) -> bool:
    """In text-mode SMS input, CR/LF are part of the message text."""
    return bool(state) and state.get("mode") == "text"  # type: ignore[union-attr]


def control_request(path: str | os.PathLike, request: dict[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
    """Send one request to a running simulator's control socket and return its answer.

    Raises ConnectionError (socket missing / no simulator) or RuntimeError (the simulator said no)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(json.dumps(request, ensure_ascii=False).encode("utf-8") + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except (FileNotFoundError, ConnectionRefusedError, socket.timeout, OSError) as exc:
        raise ConnectionError(f"no simulator on control socket {path}: {exc}") from None
    answer = json.loads(data.decode("utf-8")) if data else {"ok": False, "error": "no answer"}
    if not answer.get("ok"):
        raise RuntimeError(answer.get("error", "refused"))
    return answer


__all__ = ["FAULT_KINDS", "PERSONALITIES", "ModemSimulator", "SentMessage", "SentPart", "control_request"]
