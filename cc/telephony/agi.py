"""pyst2's ``asterisk.agi.AGI``, wrapped for use in threads and over sockets, and the ``Channel`` the IVR
runtime talks to.

The edges of pyst2 0.5.1 fixed here (measured):

- its constructor calls ``signal.signal(SIGHUP)``, which fails outside the main thread: not called here
  (classic AGI in the main thread may still ask for it, ``handle_sighup=True``);
- it writes ~60 trace lines per short call to stderr: it gets a null stream unless a trace is wanted;
- a ``HANGUP`` line or a closed connection surfaced as ``ValueError``: they raise ``CallerHungUp``;
  ``511`` (dead channel) too; any other unparsable line raises ``ChannelError``;
- ``database_get`` quoted family and key twice;
- socket reads had no timeout: each command sets one from what it may legitimately take.

Streams must be text (``sock.makefile("rw")``); binary streams fail on the first command. The FastAGI
server does not use ``makefile``: ``SocketLines`` reads and writes lines on the socket itself, parks the
call on the server's event loop (``cc.telephony.loop``) while it waits for Asterisk, and learns from the
kernel when each reply arrived (``SO_TIMESTAMPNS``) for the added-latency figure.
"""

from __future__ import annotations

import importlib
import io
import os
import re
import signal
import struct
import sys
import threading
import time
import types
from typing import IO, TYPE_CHECKING

from cc.services.ports import CallCut, CallerHungUp, ChannelError

if TYPE_CHECKING:
    import socket


class _LazyModule(types.ModuleType):
    """Stands in for a module pyst2 imports but a call does not use: loads the real one on first use."""

    def __getattr__(self, attr: str) -> object:
        if attr.startswith("__"):  # the import system asking (``__path__``...): not a package
            raise AttributeError(attr)
        if sys.modules.get(self.__name__) is self:  # still importing pyst2
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


def _load_pyst2() -> types.ModuleType:
    """pyst2's ``asterisk.agi`` without loading ``pprint`` and ``six`` for it: ``pprint`` (it loads
    ``dataclasses`` and ``inspect``: ~10 ms for each classic-AGI process) only formats pyst2's debug traces
    and error texts, which load it when they run; of ``six`` it reads ``PY3`` at import."""
    stubs: dict[str, types.ModuleType] = {}
    if "pprint" not in sys.modules:
        stubs["pprint"] = _LazyModule("pprint")
    if "six" not in sys.modules:
        stubs["six"] = _LazyModule("six")
        stubs["six"].PY3 = True  # type: ignore[attr-defined]
    sys.modules.update(stubs)
    try:
        from asterisk import agi
    finally:
        for name, stub in stubs.items():
            if sys.modules.get(name) is stub:
                del sys.modules[name]
    return agi


pyst_agi = _load_pyst2()

DEFAULT_READ_TIMEOUT = 30.0  # seconds for a command that should answer at once
_CODE = re.compile(r"^(\d{3})[ -]")


class _Null(io.TextIOBase):
    def write(self, s: str) -> int:
        return len(s)


NULL = _Null()


_SO_TIMESTAMPNS = 35  # Linux (asm-generic); Python's socket module does not name it
_SOL_SOCKET = 1


class SocketLines:
    """A FastAGI connection as the text stream pyst2 reads and writes (``readline``, ``write``, ``flush``).

    No buffered/text layers: one system call per line read or written in the common case. On the server's
    loop (``cc.telephony.loop``) the socket is non-blocking and a call that must wait for Asterisk parks
    (the other calls go on); anywhere else (a thread the loop handed blocking work to, a test) it blocks,
    with the read timeout in the kernel (``SO_RCVTIMEO``: one ``recvmsg`` per reply, where a poll first
    measured 10-15% more CPU for 200 queued callers' threads). Either way a read ends after ``set_timeout``
    seconds (None: no limit) with ``TimeoutError``. ``arrived`` is when (``time.perf_counter`` clock) the
    kernel received the data the last returned line ended in, or None when the kernel gives no receive
    timestamps."""

    def __init__(self, sock: socket.socket) -> None:
        import socket  # here, not at the top: the classic-AGI process does not need it

        from cc.telephony import loop

        self.sock = sock
        self._fd = sock.fileno()
        self._buf = b""
        self.arrived: float | None = None
        self._chunk_arrived: float | None = None
        self._timeout: float | None = DEFAULT_READ_TIMEOUT
        self._kernel_timeout: float | None = -1.0  # what SO_RCVTIMEO holds (-1: not set yet)
        self._rcvtimeo = (socket.SOL_SOCKET, socket.SO_RCVTIMEO)
        self._current_hub = loop.current_hub
        self._read_event, self._write_event = loop.READ, loop.WRITE
        self._blocking = True
        self.cut = ""  # set by the server before it cuts the connection: why (the call's record says it)
        sock.settimeout(None)
        self._anc_space = 0
        if sys.platform == "linux":
            try:
                sock.setsockopt(_SOL_SOCKET, _SO_TIMESTAMPNS, 1)
                self._anc_space = socket.CMSG_SPACE(16)
            except OSError:
                pass

    def set_timeout(self, seconds: float | None) -> None:
        self._timeout = seconds
        if self._blocking:
            self._set_kernel_timeout()

    def _set_kernel_timeout(self) -> None:
        seconds = self._timeout
        if seconds == self._kernel_timeout:
            return
        whole, micro = 0, 0  # 0, 0: no timeout
        if seconds is not None:
            whole = int(seconds)
            micro = max(int(round((seconds - whole) * 1_000_000)), 0 if whole else 1)
        self.sock.setsockopt(*self._rcvtimeo, struct.pack("ll", whole, micro))
        self._kernel_timeout = seconds

    def _hub(self):  # noqa: ANN202
        """The loop running this call, or None (then the socket blocks); switches the socket's mode."""
        hub = self._current_hub()
        if (hub is None) != self._blocking:
            self._blocking = hub is None
            self.sock.setblocking(self._blocking)
            if self._blocking:
                self._set_kernel_timeout()
        return hub

    def readline(self) -> str:
        hub = self._hub()
        while True:
            end = self._buf.find(b"\n")
            if end >= 0:
                line, self._buf = self._buf[: end + 1], self._buf[end + 1 :]
                self.arrived = self._chunk_arrived
                return line.decode("utf-8")
            try:
                data, anc, _flags, _addr = self.sock.recvmsg(4096, self._anc_space)
            except BlockingIOError:  # on the loop: nothing yet; blocking: SO_RCVTIMEO ran out
                if hub is None or not hub.wait(self._fd, self._read_event, self._timeout):
                    raise TimeoutError("timed out") from None
                continue
            if not data:  # closed: what is left (a last line without its line feed) or ""
                if self.cut:
                    raise CallCut(self.cut)
                line, self._buf = self._buf, b""
                return line.decode("utf-8")
            self._buf += data
            self._chunk_arrived = _arrival(anc) if anc else None

    def write(self, text: str) -> int:
        hub = self._hub()
        if hub is None:
            self.sock.sendall(text.encode("utf-8"))
            return len(text)
        data = memoryview(text.encode("utf-8"))
        while data:
            try:
                data = data[self.sock.send(data) :]
            except BlockingIOError:  # Asterisk is not reading (a full socket buffer)
                if not hub.wait(self._fd, self._write_event, self._timeout):
                    raise TimeoutError("timed out") from None
        return len(text)

    def flush(self) -> None:
        pass


def _arrival(anc: list) -> float | None:
    """The kernel's receive time (CLOCK_REALTIME) of a ``recvmsg`` as a ``time.perf_counter`` value."""
    for level, kind, data in anc:
        if level == _SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = struct.unpack_from("qq", data)
            return sec + nsec / 1e9 - (time.time() - time.perf_counter())
    return None


class AGI(pyst_agi.AGI):
    """pyst2's AGI without the signal handler, the stderr trace and the hang-up surprises."""

    def __init__(
        self,
        stdin: IO[str],
        stdout: IO[str],
        stderr: IO[str] | None = None,
        *,
        sock: socket.socket | None = None,
        handle_sighup: bool = False,
    ) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr if stderr is not None else NULL
        self.sock = sock
        self._got_sighup = False
        self.hung_up = False
        if handle_sighup and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGHUP, self._handle_sighup)
        self.env: dict[str, str] = {}
        # The server's added latency: our own time from Asterisk's last line to our next command, counted
        # from when we read that line, and from when the kernel received it (``SocketLines.arrived``: also
        # the time the line waited for this thread to be scheduled and get the GIL; = read time without
        # kernel timestamps).
        self.gaps: list[tuple[str, float, float]] = []  # (command, seconds from read, seconds from arrival)
        self._heard_at: float | None = None
        self._arrived_at = 0.0
        self._set_timeout(DEFAULT_READ_TIMEOUT)
        try:
            self._read_env()
        except UnicodeDecodeError:
            raise ChannelError("AGI environment is not UTF-8 text") from None
        self._heard()

    def _heard(self) -> None:
        self._heard_at = time.perf_counter()
        arrived = getattr(self.stdin, "arrived", None)
        self._arrived_at = arrived if arrived is not None and arrived < self._heard_at else self._heard_at

    def _set_timeout(self, seconds: float | None) -> None:
        if seconds == getattr(self, "_timeout", -1):
            return
        if isinstance(self.stdin, SocketLines):
            self.stdin.set_timeout(seconds)
        elif self.sock is not None:
            self.sock.settimeout(seconds)
        self._timeout = seconds

    def _readline(self) -> str:
        try:
            line = self.stdin.readline()
        except TimeoutError:  # socket.timeout is TimeoutError
            raise ChannelError("no reply from Asterisk in time") from None
        except UnicodeDecodeError:
            raise ChannelError("reply is not UTF-8 text") from None
        except (ConnectionError, OSError, ValueError) as exc:  # ValueError: read on a closed file
            raise CallerHungUp(f"connection lost: {exc}") from None
        if line == "":
            raise CallerHungUp("connection closed")
        return line

    def _read_env(self) -> None:
        count = 0
        while True:
            line = self._readline().strip()
            if line == "":
                break
            count += 1
            if count > 200:
                raise ChannelError("AGI environment does not end (over 200 lines)")
            if line == "HANGUP":
                raise CallerHungUp("caller hung up before the call started")
            key, sep, value = line.partition(":")
            if not sep or not key.startswith("agi_"):
                raise ChannelError(f"not an AGI environment line: {line[:60]!r}")
            self.env[key.strip()] = value.strip()

    def send_command(self, command: str, *args: object) -> None:
        text = " ".join([command.strip(), *map(str, args)]).strip()
        if "\n" in text or "\r" in text:
            raise ChannelError("refusing to send a command containing a line break")
        try:
            self.stdout.write(text + "\n")
            self.stdout.flush()
        except (BrokenPipeError, ConnectionError, ValueError, OSError) as exc:
            raise CallerHungUp(f"connection lost while sending: {exc}") from None

    def execute(self, command: str, *args: object, timeout: float | None = DEFAULT_READ_TIMEOUT):  # noqa: ANN201
        if self.hung_up:
            raise CallerHungUp("caller hung up")
        self.test_hangup()
        self._set_timeout(timeout)
        if self._heard_at is not None and len(self.gaps) < 10_000:
            now = time.perf_counter()
            self.gaps.append((command, now - self._heard_at, now - self._arrived_at))
        self.send_command(command, *args)
        try:
            return self.get_result()
        finally:
            self._heard()

    def test_hangup(self) -> None:
        if self._got_sighup:
            self.hung_up = True
            raise CallerHungUp("caller hung up (SIGHUP)")

    def get_result(self, stdin: object = None) -> dict:
        line = self._readline().strip()
        if line == "HANGUP":
            self.hung_up = True
            raise CallerHungUp("caller hung up")
        match = _CODE.match(line + " ")
        if not match:
            raise ChannelError(f"unexpected reply from Asterisk: {line[:80]!r}")
        code = int(match.group(1))
        response = line[4:]
        if code == 200:
            result: dict = {"result": ("", "")}
            for key, value, data in pyst_agi.re_kv.findall(response):
                result[key] = (value, data)
            if "result" not in dict(result) or result["result"] == ("", ""):
                raise ChannelError(f"reply without a result: {line[:80]!r}")
            if result["result"][1] == "hangup":
                self.hung_up = True
                raise CallerHungUp("caller hung up during the command")
            if result["result"][0] == "-1":
                raise pyst_agi.AGIAppError("command failed (or the caller hung up)")
            return result
        if code == 511:
            self.hung_up = True
            raise CallerHungUp("channel is dead")
        if code == 510:
            raise ChannelError(f"Asterisk did not know the command: {response}")
        if code == 520:
            for _ in range(100):  # usage text until a line starting with "520 "
                if self._readline().startswith("520"):
                    break
            raise ChannelError("Asterisk rejected the command's usage")
        raise ChannelError(f"unexpected reply code {code}: {line[:80]!r}")

    def database_get(self, family: str, key: str) -> str:
        result = self.execute("DATABASE GET", self._quote(family), self._quote(key))
        res, value = result["result"]
        if res == "0":
            raise pyst_agi.AGIDBError(f"key not found in the Asterisk database: {family}/{key}")
        return value


def _quote_arg(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class AgiChannel:
    """The IVR's ``Channel`` over an AGI session (FastAGI socket or classic stdin/stdout)."""

    def __init__(self, agi: AGI, *, dial_template: str = "PJSIP/{number}@trunk") -> None:
        self.agi = agi
        self.env = agi.env
        self.dial_template = dial_template
        self.last_error = ""
        self.transferred = False

    def _digit(self, result: dict) -> str:
        value = result["result"][0]
        try:
            code = int(value)
        except ValueError:
            raise ChannelError(f"not a key code: {value!r}") from None
        return chr(code) if code > 0 else ""

    def answer(self) -> None:
        self.agi.execute("ANSWER")

    def play(self, file: str, keys: str = "") -> str:
        try:
            return self._digit(self.agi.execute("STREAM FILE", file, _quote_arg(keys)))
        except pyst_agi.AGIAppError:
            self.last_error = f"could not play {file}"
            return ""

    def say_number(self, number: int, keys: str = "") -> str:
        try:
            return self._digit(self.agi.execute("SAY NUMBER", int(number), _quote_arg(keys)))
        except pyst_agi.AGIAppError:
            return ""

    def say_digits(self, digits: str, keys: str = "") -> str:
        if not digits.isdigit():
            raise ValueError(f"SAY DIGITS takes digits, not {digits!r}")
        try:
            return self._digit(self.agi.execute("SAY DIGITS", digits, _quote_arg(keys)))
        except pyst_agi.AGIAppError:
            return ""

    def wait_key(self, timeout: int) -> str:
        try:
            result = self.agi.execute("WAIT FOR DIGIT", int(timeout * 1000), timeout=timeout + DEFAULT_READ_TIMEOUT)
        except pyst_agi.AGIAppError:  # -1: the channel is gone
            self.agi.hung_up = True
            raise CallerHungUp("caller hung up while waiting for a key") from None
        return self._digit(result)

    def read_digits(self, timeout: int, max_digits: int) -> str:
        # GET DATA with the 'silence/1' prompt: collects up to max_digits until # or the timeout.
        try:
            result = self.agi.execute(
                "GET DATA", "silence/1", int(timeout * 1000), int(max_digits), timeout=(timeout + 2) * max_digits + 30
            )
        except pyst_agi.AGIAppError:
            self.agi.hung_up = True
            raise CallerHungUp("caller hung up while keying digits") from None
        value = result["result"][0]
        return value if value.isdigit() else ""

    def record(self, file: str, fmt: str, max_seconds: int, beep: bool) -> int:
        args: list[object] = [file, fmt, _quote_arg("#"), int(max_seconds * 1000)]
        if beep:
            args += [0, "BEEP"]
        args.append("s=5")
        try:
            result = self.agi.execute("RECORD FILE", *args, timeout=max_seconds + DEFAULT_READ_TIMEOUT)
        except pyst_agi.AGIAppError:  # -1: hung up, or the file could not be written
            self.last_error = f"could not record {file}"
            return -1
        endpos = result.get("endpos", ("0", ""))[0]
        return int(endpos) // 8 if endpos.isdigit() else 0

    def transfer(self, number: str) -> str:
        """Hand the dial back to the dialplan (``CC_DIAL``, see cc/telephony/dialplan.py): Asterisk dials
        after the AGI returns, so a long conversation does not hold an AGI session."""
        self.set_variable("CC_DIAL", self.dial_template.format(number=number))
        self.set_variable("CC_IVR_STATUS", "transferred")
        self.transferred = True
        return "DIALPLAN"

    def get_variable(self, name: str) -> str:
        result = self.agi.execute("GET VARIABLE", name)
        return result["result"][1] if result["result"][0] == "1" else ""

    def set_variable(self, name: str, value: str) -> None:
        self.agi.execute("SET VARIABLE", name, _quote_arg(value))

    def hangup(self) -> None:
        if self.transferred:
            return  # the dialplan dials CC_DIAL once the AGI returns
        try:
            self.agi.execute("HANGUP")
        except (CallerHungUp, pyst_agi.AGIAppError):
            pass
        self.agi.hung_up = True


def socket_agi(sock: socket.socket) -> AGI:
    """An AGI session over a connected FastAGI socket (line streams on the socket itself)."""
    stream = SocketLines(sock)
    return AGI(stream, stream, sock=sock)


def stdio_agi(trace: bool = False) -> AGI:
    """Classic AGI: Asterisk started this process; the session is on stdin/stdout."""
    import sys

    stderr = sys.stderr if trace or os.environ.get("CC_AGI_TRACE") else None
    return AGI(sys.stdin, sys.stdout, stderr, handle_sighup=True)
