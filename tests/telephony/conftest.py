"""Fixtures for tests against a real Asterisk 22 (the chroot from scripts/provision-asterisk.sh).

- ``asterisk`` (session): a running ``cc.telephony.asterisk_runtime.AsteriskRuntime``. Provisioned on first
  use (cached in /var/cache/cc-asterisk/root or $CC_ASTERISK_ROOT). Where that is impossible (not root, no
  package server) the test is skipped with the reason; with CC_REQUIRE_ASTERISK=1 it fails instead.
  Tests load their own dialplan with ``asterisk.write_extensions(text)`` (append ``rt.CALLER_CONTEXTS``
  so ``asterisk.call(...)`` works) or through the ``hotline`` fixture.
- ``agi_listener``: a tiny scripted FastAGI peer on 127.0.0.1 (a free port) for wiring tests.
- ``hotline(agi_url, **settings)``: loads the shipped hotline dialplan (+ the test contexts) and returns
  its ``DialplanSettings``.

Mark tests that use them ``@pytest.mark.asterisk``. ``CC_KEEP_ASTERISK=1`` keeps the session Asterisk's
run folder (configs, ``log/full``) under ``<root>/cc-runs/`` for debugging.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from cc.errors import CcError
from cc.telephony import asterisk_runtime as rt
from cc.telephony import dialplan


def _unavailable(reason: str) -> None:
    if os.environ.get("CC_REQUIRE_ASTERISK") == "1":
        pytest.fail(f"real Asterisk required (CC_REQUIRE_ASTERISK=1) but unavailable: {reason}", pytrace=False)
    pytest.skip(f"real Asterisk unavailable: {reason} (run scripts/provision-asterisk.sh as root)")


@pytest.fixture(scope="session")
def asterisk_root():
    if os.geteuid() != 0:
        _unavailable("not root (debootstrap, chroot and mounts need root)")
    if not rt.is_provisioned():
        try:
            rt.provision()
        except CcError as exc:
            _unavailable(exc.message)
    return rt.root_path()


@pytest.fixture(scope="session")
def asterisk(asterisk_root) -> Iterator[rt.AsteriskRuntime]:
    runtime = rt.AsteriskRuntime(extensions=rt.GENERAL + rt.CALLER_CONTEXTS, root=asterisk_root,
                                 keep_files=os.environ.get("CC_KEEP_ASTERISK") == "1")
    try:
        runtime.start(timeout=60)
    except CcError as exc:
        _unavailable(f"Asterisk did not start: {exc.message}")
    try:
        yield runtime
    finally:
        runtime.stop()


@pytest.fixture
def hotline(asterisk):
    """Load the shipped hotline dialplan (what `cc asterisk config` writes) into the running Asterisk:
    ``hotline(agi_url=..., operator_dial=..., **settings) -> DialplanSettings``. The test contexts
    (``CALLER_CONTEXTS``) are always appended, so ``asterisk.call(settings.hotline, settings.context)`` works."""

    def load(agi_url: str, *, extra: str = "", **kwargs: object) -> dialplan.DialplanSettings:
        kwargs.setdefault("hotline", "116114")
        kwargs.setdefault("operator_dial", "Local/s@cc-test-operator")
        settings = dialplan.DialplanSettings(agi_url=agi_url, **kwargs)  # type: ignore[arg-type]
        asterisk.write_extensions(rt.GENERAL + dialplan.render_inbound(settings) + rt.CALLER_CONTEXTS + extra)
        return settings

    return load


@dataclass
class AgiCall:
    env: dict[str, str]
    replies: list[str] = field(default_factory=list)  # one "200 result=..." line per command sent


class AgiListener:
    """A scripted FastAGI peer: for each call, reads the AGI environment, sends ``script`` (a list of
    commands) one by one, records each reply, then closes. ``calls`` gets one ``AgiCall`` per call."""

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self.calls: queue.Queue[AgiCall] = queue.Queue()
        self._server = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, script: str = "inbound") -> str:
        return f"agi://127.0.0.1:{self.port}/{script}"

    def _serve(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        call = AgiCall(env={})
        try:
            with conn, conn.makefile("rw", encoding="utf-8", newline="\n") as stream:
                for line in stream:
                    line = line.strip()
                    if not line:
                        break
                    key, _, value = line.partition(": ")
                    call.env[key] = value
                for command in self.script:
                    stream.write(command + "\n")
                    stream.flush()
                    reply = stream.readline().strip()
                    call.replies.append(reply)
                    if not reply or reply == "HANGUP":
                        break
        except OSError:
            pass
        self.calls.put(call)

    def next_call(self, timeout: float = 10.0) -> AgiCall:
        return self.calls.get(timeout=timeout)

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(timeout=2)


@pytest.fixture
def agi_listener():
    """Factory: ``agi_listener(["ANSWER", "WAIT FOR DIGIT 5000", ...])`` -> a running ``AgiListener``."""
    listeners: list[AgiListener] = []

    def make(script: list[str]) -> AgiListener:
        listener = AgiListener(script)
        listeners.append(listener)
        return listener

    yield make
    for listener in listeners:
        listener.close()
