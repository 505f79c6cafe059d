"""A small threaded client for the Asterisk Manager Interface (AMI), made for cc's threaded code.

Why not pyst2's ``Manager``: an event with a ``ChanVariable`` header crashed its parser and every later
action hung; responses were matched by arrival order (two threads got each other's answers); no
timeouts, no reconnect, one byte per read. Here:

- one reader thread per client reads the socket in big chunks (64 KiB) and splits messages on the blank
  line; any header it does not know is kept as text (repeated headers such as ``ChanVariable`` or
  ``Output`` are joined with newlines); a block that is neither a response nor an event is counted and
  dropped; bytes that are not UTF-8 are replaced. Nothing a server sends can stop the reader.
- ``action()`` is thread-safe: each action carries its own ``ActionID`` and waits for the response that
  carries it, with a timeout (``Unreachable`` with a hint when it passes or the connection drops).
  ``action_list()`` collects the events of list actions (``EventList: start`` ... ``Complete``).
- ``subscribe(callback)``: every event is handed to the callbacks on the reader thread; a callback must
  only enqueue (``EventQueue`` does that and offers bounded waits). Two synthetic events report the link:
  ``CcAmiDisconnected`` and ``CcAmiReconnected``.
- when the server goes away (Asterisk restarts), the reader reconnects and logs in again with a backoff
  (0.1 s doubling up to ``backoff_max``); actions sent meanwhile wait for the link up to their timeout.

    ami = AmiClient("127.0.0.1", 5038, "cc", "secret", timeout=5).connect()
    reply = ami.action("Ping")                                  # {"Response": "Success", "Ping": "Pong", ...}
    reply, events = ami.action_list("CoreShowChannels")        # one CoreShowChannel event per channel
    ami.close()
"""

from __future__ import annotations

import itertools
import queue
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cc.errors import ConfigError, Unreachable

Message = dict[str, str]
READ_SIZE = 65536
MAX_BUFFER = 16 * 1024 * 1024  # a "message" longer than this without a blank line: the peer is broken
DISCONNECTED = "CcAmiDisconnected"
RECONNECTED = "CcAmiReconnected"

HINT_DOWN = "check that Asterisk runs and asterisk.ami (host, port, username, secret) matches manager.conf"
HINT_SLOW = "Asterisk is overloaded or hung; try again, or raise asterisk.ami.timeout_seconds"


def parse_message(block: bytes | str) -> Message:
    """One AMI message (the lines before a blank line) as a dict. Never raises.

    >>> parse_message(b"Event: VarSet\\r\\nChanVariable: A=1\\r\\nChanVariable: B=2\\r\\nodd line\\r\\n")
    {'Event': 'VarSet', 'ChanVariable': 'A=1\\nB=2', 'Output': 'odd line'}
    """
    text = block.decode("utf-8", errors="replace") if isinstance(block, bytes | bytearray) else block
    message: Message = {}
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        key, sep, value = line.partition(": ")
        if not sep:
            key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or not key or " " in key:
            key, value = "Output", line  # a line without a header name: command output, or garbage
        if key in message:
            message[key] += "\n" + value
        else:
            message[key] = value
    return message


def split_messages(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete messages (blank-line terminated; ``\\r\\n\\r\\n`` or bare ``\\n\\n``) and the unfinished rest."""
    blocks = []
    start = 0
    while True:
        crlf = buffer.find(b"\r\n\r\n", start)
        # bare "\n\n" only before the next CRLF terminator (not a scan of the whole buffer per message)
        lf = buffer.find(b"\n\n", start, crlf if crlf >= 0 else len(buffer))
        if crlf < 0 and lf < 0:
            break
        if crlf >= 0 and (lf < 0 or crlf <= lf):
            end, skip = crlf, 4
        else:
            end, skip = lf, 2
        blocks.append(buffer[start:end])
        start = end + skip
    return blocks, buffer[start:]


def encode_action(name: str, action_id: str, fields: Mapping[str, object] | None = None,
                  variables: Mapping[str, object] | None = None) -> bytes:
    """An action as bytes; a value with a line break is refused (it would inject headers)."""
    lines = [f"Action: {name}", f"ActionID: {action_id}"]
    for key, value in (fields or {}).items():
        if value is None:
            continue
        lines.append(f"{key}: {value}")
    for key, value in (variables or {}).items():
        lines.append(f"Variable: {key}={value}")
    for line in lines:
        if "\r" in line or "\n" in line:
            raise ValueError(f"AMI header with a line break: {line!r}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


@dataclass
class _Pending:
    name: str
    listing: bool
    done: threading.Event = field(default_factory=threading.Event)
    response: Message | None = None
    events: list[Message] = field(default_factory=list)
    error: str | None = None


class EventQueue:
    """A subscriber that only enqueues; ``wait_for`` takes events off in order (bounded wait)."""

    def __init__(self, predicate: Callable[[Message], bool] | None = None) -> None:
        self.predicate = predicate
        self.queue: queue.Queue[Message] = queue.Queue()
        self.seen: list[Message] = []
        self._taken: set[int] = set()  # ids of events already returned (the dicts are shared with other subscribers)

    def __call__(self, event: Message) -> None:
        if self.predicate is None or self.predicate(event):
            self.queue.put(event)

    def wait_for(self, predicate: Callable[[Message], bool] | None = None, *, timeout: float = 10.0,
                 **match: str) -> Message:
        """The next event matching ``predicate`` and the ``match`` header values; ``TimeoutError`` after
        ``timeout`` seconds. Events passed over stay in ``seen``."""
        deadline = time.monotonic() + timeout
        for event in self.seen:
            if id(event) not in self._taken and _matches(event, predicate, match):
                self._taken.add(id(event))
                return event
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no AMI event matching {match or predicate} within {timeout:.1f} s")
            try:
                event = self.queue.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(event)
            if _matches(event, predicate, match):
                self._taken.add(id(event))
                return event


def _matches(event: Message, predicate: Callable[[Message], bool] | None, match: Mapping[str, str]) -> bool:
    if predicate is not None and not predicate(event):
        return False
    return all(event.get(k) == v for k, v in match.items())


class AmiClient:
    """See the module docstring. ``events=False`` logs in with ``Events: off`` (one-shot commands)."""

    _ids = itertools.count(1)

    def __init__(self, host: str, port: int, username: str, secret: str, *, timeout: float = 5.0,
                 events: bool = True, reconnect: bool = True, backoff_max: float = 5.0) -> None:
        self.host, self.port, self.username, self.secret = host, port, username, secret
        self.timeout = timeout
        self.events = events
        self.reconnect = reconnect
        self.backoff_max = backoff_max
        self.banner = ""
        self.stats = {"messages": 0, "events": 0, "garbage": 0, "reconnects": 0, "reads": 0}
        self._prefix = f"cc-{id(self):x}-"
        self._sock: socket.socket | None = None
        self._buffer = b""
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self._pending: dict[str, _Pending] = {}
        self._subscribers: list[Callable[[Message], None]] = []
        self._closed = False
        self._reader: threading.Thread | None = None

    # -- connection ------------------------------------------------------------------------------------

    def connect(self) -> AmiClient:
        """Connect and log in (raises ``Unreachable``, or ``ConfigError`` when the login is refused),
        then start the reader thread."""
        sock, rest = self._open()
        with self._cond:
            self._sock, self._buffer = sock, rest
            self._cond.notify_all()
        self._reader = threading.Thread(target=self._run, name=f"ami-reader-{self.port}", daemon=True)
        self._reader.start()
        return self

    @property
    def connected(self) -> bool:
        return self._sock is not None and not self._closed

    def _open(self) -> tuple[socket.socket, bytes]:
        where = f"{self.host}:{self.port}"
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise Unreachable(f"Asterisk manager (AMI) at {where} is unreachable: {exc.strerror or exc}", HINT_DOWN) from None
        try:
            sock.settimeout(self.timeout)
            buffer = b""
            while b"\n" not in buffer:
                chunk = sock.recv(READ_SIZE)
                if not chunk:
                    raise Unreachable(f"AMI at {where} closed the connection before its greeting", HINT_DOWN)
                buffer += chunk
                if len(buffer) > 4096:
                    break
            banner, _, buffer = buffer.partition(b"\n")
            self.banner = banner.decode("utf-8", "replace").strip()
            if not self.banner.startswith("Asterisk Call Manager"):
                raise Unreachable(f"{where} is not an Asterisk manager (it said {self.banner[:60]!r})", HINT_DOWN)
            login_id = f"{self._prefix}login-{next(self._ids)}"
            sock.sendall(encode_action("Login", login_id, {"Username": self.username, "Secret": self.secret,
                                                            "Events": "on" if self.events else "off"}))
            deadline = time.monotonic() + self.timeout
            while True:
                blocks, buffer = split_messages(buffer)
                for index, block in enumerate(blocks):
                    message = parse_message(block)
                    if message.get("ActionID") == login_id:
                        if message.get("Response") != "Success":
                            raise ConfigError(f"AMI at {where} refused the login of '{self.username}': "
                                              f"{message.get('Message', 'no reason given')}",
                                              "check asterisk.ami.username and asterisk.ami.secret against manager.conf")
                        leftover = b"".join(b + b"\r\n\r\n" for b in blocks[index + 1:]) + buffer
                        sock.settimeout(None)  # the reader blocks; sends are bounded by SO_SNDTIMEO instead
                        seconds = max(1, int(self.timeout))
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", seconds, 0))
                        return sock, leftover
                if time.monotonic() > deadline:
                    raise Unreachable(f"AMI at {where} did not answer the login within {self.timeout:g} s", HINT_SLOW)
                chunk = sock.recv(READ_SIZE)
                if not chunk:
                    raise Unreachable(f"AMI at {where} closed the connection during the login", HINT_DOWN)
                buffer += chunk
        except TimeoutError:
            sock.close()
            raise Unreachable(f"AMI at {where} did not answer within {self.timeout:g} s", HINT_SLOW) from None
        except OSError as exc:
            sock.close()
            raise Unreachable(f"AMI at {where} failed: {exc.strerror or exc}", HINT_DOWN) from None
        except BaseException:
            sock.close()
            raise

    def _run(self) -> None:
        """The reader thread: read, dispatch; on a lost link fail what waits and reconnect."""
        backoff = 0.1
        while not self._closed:
            sock = self._sock
            if sock is not None:
                self._read_until_closed(sock)
                self._lost()
                if self._closed or not self.reconnect:
                    return
                backoff = 0.1
            with self._cond:
                self._cond.wait(backoff)  # close() wakes it
            if self._closed:
                return
            try:
                new, rest = self._open()
            except Exception:  # noqa: BLE001 -- keep trying (ConfigError included: the secret may come back)
                backoff = min(backoff * 2, self.backoff_max)
                continue
            with self._cond:
                if self._closed:
                    new.close()
                    return
                self._sock, self._buffer = new, rest
                self.stats["reconnects"] += 1
                self._cond.notify_all()
            self._emit({"Event": RECONNECTED, "Banner": self.banner})

    def _read_until_closed(self, sock: socket.socket) -> None:
        buffer, self._buffer = self._buffer, b""
        while True:
            blocks, buffer = split_messages(buffer)
            for block in blocks:
                self._dispatch(parse_message(block))
            if len(buffer) > MAX_BUFFER:
                return
            try:
                chunk = sock.recv(READ_SIZE)
            except OSError:
                return
            if not chunk:
                return
            self.stats["reads"] += 1
            buffer += chunk

    def _lost(self) -> None:
        with self._cond:
            sock, self._sock = self._sock, None
            pending = list(self._pending.values())
            for item in pending:
                item.error = "the connection to Asterisk was lost"
                item.done.set()
            self._cond.notify_all()
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
        if not self._closed:
            self._emit({"Event": DISCONNECTED})

    def _dispatch(self, message: Message) -> None:
        self.stats["messages"] += 1
        action_id = message.get("ActionID", "")
        is_event = "Event" in message
        if not is_event and "Response" not in message:
            self.stats["garbage"] += 1
            return
        pending = self._pending.get(action_id) if action_id else None
        if pending is not None:
            if not is_event:
                pending.response = message
                if not (pending.listing and message.get("Response") == "Success"
                        and message.get("EventList", "").lower() == "start"):
                    pending.done.set()
                return
            if pending.listing:
                if message.get("EventList", "").lower() == "complete":
                    pending.done.set()
                else:
                    pending.events.append(message)
                return
        if is_event:
            self.stats["events"] += 1
            self._emit(message)

    def _emit(self, event: Message) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # noqa: BLE001 -- a subscriber's bug must not stop the reader
                pass

    # -- actions ---------------------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[Message], None]) -> Callable[[], None]:
        """Hand every event to ``callback`` (on the reader thread: only enqueue). Returns an unsubscribe."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            try:
                self._subscribers.remove(callback)
            except ValueError:
                pass

        return unsubscribe

    def action(self, name: str, fields: Mapping[str, object] | None = None, *,
               variables: Mapping[str, object] | None = None, timeout: float | None = None,
               **more: object) -> Message:
        """Send one action, return its response (``Response: Success`` or ``Error``: check it)."""
        return self._send(name, {**(fields or {}), **more}, variables, timeout, listing=False).response or {}

    def action_list(self, name: str, fields: Mapping[str, object] | None = None, *,
                    timeout: float | None = None, **more: object) -> tuple[Message, list[Message]]:
        """A list action (CoreShowChannels, Status, ...): the response and the events up to ``Complete``."""
        pending = self._send(name, {**(fields or {}), **more}, None, timeout, listing=True)
        return pending.response or {}, pending.events

    def _send(self, name: str, fields: Mapping[str, object], variables: Mapping[str, object] | None,
              timeout: float | None, listing: bool) -> _Pending:
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        action_id = f"{self._prefix}{next(self._ids)}"
        data = encode_action(name, action_id, fields, variables)
        pending = _Pending(name, listing)
        with self._cond:
            while self._sock is None and not self._closed:  # reconnecting: wait for the link
                left = deadline - time.monotonic()
                if left <= 0 or self._reader is None or not self.reconnect:
                    raise Unreachable(f"AMI action {name}: not connected to Asterisk at {self.host}:{self.port}", HINT_DOWN)
                self._cond.wait(left)
            if self._closed:
                raise Unreachable(f"AMI action {name}: the client is closed", HINT_DOWN)
            sock = self._sock
            self._pending[action_id] = pending
        try:
            try:
                with self._send_lock:
                    sock.sendall(data)
            except OSError as exc:
                raise Unreachable(f"AMI action {name}: sending failed ({exc.strerror or exc})", HINT_DOWN) from None
            if not pending.done.wait(max(0.0, deadline - time.monotonic())):
                raise Unreachable(f"AMI action {name} got no answer within {timeout:g} s", HINT_SLOW)
            if pending.error:
                raise Unreachable(f"AMI action {name}: {pending.error}", HINT_DOWN)
            return pending
        finally:
            with self._cond:
                self._pending.pop(action_id, None)

    def wait_connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._sock is None and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return self._sock is not None

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._closed = True
            sock = self._sock
            self._cond.notify_all()
        if sock is not None:
            try:
                with self._send_lock:
                    sock.sendall(encode_action("Logoff", f"{self._prefix}logoff"))
            except OSError:
                pass
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=2)
        if sock is not None:
            sock.close()

    def __enter__(self) -> AmiClient:
        return self if self._reader is not None else self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()


def client_from_config(ami_config: Any, *, events: bool = True, reconnect: bool = True) -> AmiClient:
    """An unconnected client for ``config.asterisk.ami``."""
    return AmiClient(ami_config.host, int(ami_config.port), ami_config.username, ami_config.secret,
                     timeout=float(ami_config.timeout_seconds), events=events, reconnect=reconnect,
                     backoff_max=float(getattr(ami_config, "reconnect_max_seconds", 5.0)))


def header_values(message: Message, key: str) -> list[str]:
    """A repeated header's values (``ChanVariable``, ``Output``) as a list."""
    value = message.get(key)
    return value.split("\n") if value else []


def matching(events: Iterable[Message], **match: str) -> list[Message]:
    return [e for e in events if all(e.get(k) == v for k, v in match.items())]
