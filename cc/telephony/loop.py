"""The FastAGI server's event loop: every call is a greenlet on one thread.

A call's code stays plain sequential code (the IVR runtime, pyst2's ``AGI``): when it must wait for
Asterisk, its socket stream (``cc.telephony.agi.SocketLines``) parks the call's greenlet here and the loop
runs whichever call has a reply. One call's Python runs from one reply to its next command without
handing the GIL to 200 other call threads, which is what the thread-per-call server spent its tail
latency on (measured: added-latency p99 of 200 scripted simultaneous callers 9-12 ms with threads).

Work that may block for long (the ACD: claims in ``BEGIN IMMEDIATE``, Dial for a whole conversation) is
handed to a thread with ``blocking(fn, ...)``; the call's greenlet waits for it without holding up the
loop, and the stream, used from that thread, blocks (its read timeout in the kernel) instead of parking.

Linux-first (epoll through ``selectors``); nothing here is specific to AGI.
"""

from __future__ import annotations

import heapq
import itertools
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

import greenlet

T = TypeVar("T")
READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE

_local = threading.local()  # .hub: the Hub running on this thread


def current_hub() -> Hub | None:
    """The hub whose call is running now: None outside a hub's thread, and in the hub's own greenlet
    (which must never park)."""
    hub = getattr(_local, "hub", None)
    if hub is None or greenlet.getcurrent() is hub.greenlet:
        return None
    return hub


def blocking(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)``: in a thread of its own when called from a call on a hub (the call waits, the other
    calls go on), directly otherwise. Its result or exception comes back to the caller."""
    hub = current_hub()
    if hub is None:
        return fn(*args)
    return hub.in_thread(fn, *args)


class _Wait:
    """One parked greenlet; resumed once, by whichever comes first (ready, timeout, a thread's result)."""

    __slots__ = ("glet", "done")

    def __init__(self, glet: greenlet.greenlet) -> None:
        self.glet = glet
        self.done = False


class Hub:
    """The loop: a selector for sockets, a heap of timers, and callbacks posted by other threads.

    ``run()`` on the thread that owns it until ``stop()``; ``spawn`` (from the loop's callbacks) starts a
    call; calls park with ``wait`` (a socket) or ``in_thread`` (a blocking function)."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.greenlet: greenlet.greenlet | None = None
        self._timers: list[list[Any]] = []  # [deadline, seq, callback or None when cancelled]
        self._seq = itertools.count()
        self._posted: deque[Callable[[], None]] = deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.selector.register(self._wake_r, READ, self._drain_posted)
        self._running = False

    # --- from call greenlets --------------------------------------------------------------------------

    def wait(self, fd: int, events: int, timeout: float | None) -> bool:
        """Park the running call until ``fd`` is ready for ``events`` (True) or ``timeout`` seconds pass
        (False)."""
        parked = _Wait(greenlet.getcurrent())
        self.selector.register(fd, events, parked)
        timer = self.call_later(timeout, lambda: self._resume(parked, False)) if timeout is not None else None
        try:
            assert self.greenlet is not None
            return self.greenlet.switch()
        finally:
            parked.done = True
            try:
                self.selector.unregister(fd)
            except (KeyError, ValueError, OSError):  # the socket was closed meanwhile
                pass
            if timer is not None:
                timer[2] = None

    def in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on a new thread; the running call waits for it, the loop does not."""
        parked = _Wait(greenlet.getcurrent())
        outcome: list[tuple[bool, Any]] = []

        def target() -> None:
            try:
                outcome.append((True, fn(*args)))
            except BaseException as exc:  # noqa: BLE001 - handed back to the call
                outcome.append((False, exc))
            self.post(lambda: self._resume(parked, None))

        threading.Thread(target=target, name=f"call-{getattr(fn, '__name__', 'work')}", daemon=True).start()
        assert self.greenlet is not None
        self.greenlet.switch()
        ok, value = outcome[0]
        if ok:
            return value
        raise value

    # --- from the loop (callbacks) --------------------------------------------------------------------

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        """Start a call: it runs at once, until it first parks. ``fn`` must not raise (it would end the
        loop)."""
        greenlet.greenlet(fn, parent=self.greenlet).switch(*args)

    def call_later(self, seconds: float, callback: Callable[[], None]) -> list[Any]:
        """Run ``callback`` on the loop after ``seconds``; returns the timer (set its [2] to None to cancel)."""
        timer = [time.monotonic() + seconds, next(self._seq), callback]
        heapq.heappush(self._timers, timer)
        return timer

    # --- from any thread ------------------------------------------------------------------------------

    def post(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the loop soon (thread-safe)."""
        self._posted.append(callback)
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):  # the wake-up is pending already, or the hub is closed
            pass

    def stop(self) -> None:
        self.post(self._stop)

    # --- the loop -------------------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until ``stop()``. Calls still parked then stay parked (cut their sockets first)."""
        _local.hub = self
        self.greenlet = greenlet.getcurrent()
        self._running = True
        try:
            while self._running:
                timeout = None
                if self._timers:
                    timeout = max(0.0, self._timers[0][0] - time.monotonic())
                for key, _mask in self.selector.select(timeout):
                    data = key.data
                    if isinstance(data, _Wait):
                        self._resume(data, True)
                    else:
                        data()
                if self._timers:
                    now = time.monotonic()
                    while self._timers and self._timers[0][0] <= now:
                        callback = heapq.heappop(self._timers)[2]
                        if callback is not None:
                            callback()
        finally:
            _local.hub = None

    def close(self) -> None:
        self.selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _resume(self, parked: _Wait, value: Any) -> None:
        if parked.done:
            return
        parked.done = True
        parked.glet.switch(value)

    def _drain_posted(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        while self._posted:
            self._posted.popleft()()

    def _stop(self) -> None:
        self._running = False
